/** The validated action list an x-oss-process string parses into. */

export const GRAVITIES = ["nw", "north", "ne", "west", "center", "east", "sw", "south", "se"] as const;
export type Gravity = (typeof GRAVITIES)[number];

export const RESIZE_MODES = ["lfit", "mfit", "fill", "pad", "fixed"] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

export const OUTPUT_FORMATS = ["jpeg", "png", "webp", "gif", "tiff", "avif"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ResizeAction {
  readonly type: "resize";
  readonly mode: ResizeMode;
  readonly w?: number;
  readonly h?: number;
  readonly l?: number;
  readonly s?: number;
  readonly p?: number;
  /** true: a target larger than the source leaves the image unchanged. */
  readonly limit: boolean;
  /** Pad colour, `RRGGBB`. */
  readonly color: string;
}

export interface CropAction {
  readonly type: "crop";
  readonly w?: number;
  readonly h?: number;
  readonly x: number;
  readonly y: number;
  readonly g: Gravity;
}

export interface CircleAction {
  readonly type: "circle";
  readonly r: number;
}

export interface IndexCropAction {
  readonly type: "indexcrop";
  readonly axis: "x" | "y";
  readonly size: number;
  readonly index: number;
}

export interface RoundedCornersAction {
  readonly type: "rounded-corners";
  readonly r: number;
}

export interface RotateAction {
  readonly type: "rotate";
  readonly angle: number;
}

export interface AutoOrientAction {
  readonly type: "auto-orient";
  readonly enabled: boolean;
}

export interface BlurAction {
  readonly type: "blur";
  readonly r: number;
  readonly s: number;
}

export interface AdjustAction {
  readonly type: "bright" | "contrast" | "sharpen";
  readonly value: number;
}

export interface FormatAction {
  readonly type: "format";
  readonly format: OutputFormat;
}

export interface QualityAction {
  readonly type: "quality";
  /** Relative to the source JPEG's quality (percent). */
  readonly q?: number;
  /** Absolute. */
  readonly Q?: number;
}

export interface InterlaceAction {
  readonly type: "interlace";
  readonly enabled: boolean;
}

export interface TextWatermark {
  readonly text: string;
  /** Font family. */
  readonly font?: string;
  readonly color: string;
  readonly size: number;
  readonly shadow: number;
  readonly rotate: number;
}

export interface WatermarkAction {
  readonly type: "watermark";
  /** Opacity 0..100. */
  readonly t: number;
  readonly g: Gravity;
  readonly x: number;
  readonly y: number;
  readonly voffset: number;
  /** Object key of the image watermark, in the source's bucket. */
  readonly image?: string;
  readonly text?: TextWatermark;
  /** Tile the watermark over the whole image. */
  readonly fill: boolean;
  /** 0: image before text, 1: text before image. */
  readonly order: 0 | 1;
  /** Vertical alignment of image and text: 0 top, 1 centre, 2 bottom. */
  readonly align: 0 | 1 | 2;
  readonly interval: number;
}

export interface InfoAction {
  readonly type: "info" | "average-hue";
}

export type Action =
  | ResizeAction
  | CropAction
  | CircleAction
  | IndexCropAction
  | RoundedCornersAction
  | RotateAction
  | AutoOrientAction
  | BlurAction
  | AdjustAction
  | FormatAction
  | QualityAction
  | InterlaceAction
  | WatermarkAction
  | InfoAction;
