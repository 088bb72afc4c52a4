/**
 * The x-oss-process engine: a validated action list applied to a source image in sharp pipelines.
 *
 * Actions are added to one sharp instance while they fit sharp's fixed order of operations (resize →
 * rotate → extract → extend → blur → modulate → sharpen → composite → linear); an action that must
 * run earlier in that order than one already queued starts a new instance from the raw pixels of the
 * previous one. Raw hand-over costs a copy, never an encode, and the usual requests need one instance.
 */
import sharp, { type Metadata, type OverlayOptions, type Sharp } from "sharp";
import { setFlagsFromString } from "node:v8";
import type { Action, OutputFormat, ResizeAction, TextWatermark, WatermarkAction } from "./actions";
import type { Deadline } from "./deadline";
import { ImageError } from "./errors";
import { readExif } from "./exif";
import {
  checkOutputSize,
  circleBox,
  cropBox,
  indexCropBox,
  planResize,
  rotatedSize,
  roundHalfUp,
  watermarkOrigin,
  type Box,
  type Size,
} from "./geometry";
import { DEFAULT_ENCODER_SETTINGS, type EncoderSettings } from "./encoders";
import { fontFamily } from "./fonts";
import { readJpegFrame } from "./jpeg-header";
import { estimateJpegQuality } from "./jpeg-quality";
import { DEFAULT_LIMITS, type ImageLimits } from "./limits";
import { checkWork, Stage } from "./work";

export interface EngineOptions {
  /** Overrides of the spec's limits. */
  readonly limits?: Partial<ImageLimits>;
  /** Overrides of DEFAULT_ENCODER_SETTINGS. */
  readonly encoders?: Partial<EncoderSettings>;
  /** Choose AVIF or WebP from `Accept` when the request has no `format` action. @default false */
  readonly autoFormat?: boolean;
}

export interface ProcessRequest {
  readonly source: Buffer;
  readonly actions: readonly Action[];
  /** The request's `Accept` header (automatic format). */
  readonly accept?: string;
  /** Reads another object of the source's bucket (image watermarks). */
  readonly loadObject?: (key: string) => Promise<Buffer>;
  /** Stops the work (libvips timeout, checks between steps). @default none */
  readonly deadline?: Deadline;
}

export interface ProcessResult {
  readonly body: Buffer;
  readonly contentType: string;
  /** The output format was chosen from `Accept`: the response varies on it. */
  readonly varyAccept: boolean;
}

/** JPEG and TIFF output quality when the request has no `quality` action (capped by a JPEG source's own). */
export const DEFAULT_QUALITY = 85;

/**
 * V8's old generation grows by this percentage after each full collection. Left to itself, V8 grew
 * the server's ~30 MB heap by 10–30% only and ran a full collection every 8 text watermarks (125 per
 * 970 requests, about 8 ms of CPU per image); doubling cut that to 29 per 878, raised the ratios to
 * bare sharp by 0.05–0.2 and left peak RSS at 232 MB (docs/image-performance.md, third stop).
 */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Settings of both runtimes (lambda.ts, server.ts), applied once at start, before any request.
 * libvips' operation cache keeps recent operations with their pixels for an identical later call;
 * every request here decodes its own source buffer, so nothing hits it, and it only holds memory.
 * V8 reads the heap flag at each collection, so setting it here takes effect (Lambda's NODE_OPTIONS
 * does not accept it).
 */
export function configureImageRuntime(): void {
  sharp.cache(false);
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

const SOURCE_FORMATS: Partial<Record<string, OutputFormat>> = {
  jpeg: "jpeg",
  png: "png",
  webp: "webp",
  gif: "gif",
  tiff: "tiff",
  heif: "avif",
};

const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  tiff: "image/tiff",
  avif: "image/avif",
};

/** Actions through which an animated GIF or WebP keeps its frames (spec decision 5). */
const FRAME_PRESERVING = new Set<Action["type"]>([
  "resize",
  "crop",
  "rotate",
  "format",
  "quality",
  "interlace",
  "auto-orient",
]);

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

/** What the engine knows of a source before decoding it (fields of sharp's metadata). */
export type SourceHeader = Partial<Pick<Metadata, "pages" | "autoOrient" | "delay" | "loop" | "exif">> & {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  /**
   * Pixels libvips may decode (sharp's limitInputPixels): exactly the header's when JavaScript read
   * it, so that libvips refuses a different reading of the same bytes; the limit otherwise.
   */
  readonly decodePixelLimit: number;
};

interface Raster extends Size {
  readonly data: Buffer;
}

export class ImageEngine {
  readonly limits: ImageLimits;
  readonly encoders: EncoderSettings;
  private readonly autoFormat: boolean;

  constructor(options: EngineOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.encoders = { ...DEFAULT_ENCODER_SETTINGS, ...options.encoders };
    this.autoFormat = options.autoFormat ?? false;
  }

  async process(request: ProcessRequest): Promise<ProcessResult> {
    try {
      return await this.run(request);
    } catch (error) {
      throw classifySharpError(error);
    }
  }

  /**
   * Header-only look at a source: format and size checked against the limits before any decode. A
   * JPEG in jpeg-header.ts's subset is read in JavaScript when `readJpeg` is set (its decode must then
   * be capped at the pixels read: `decodePixelLimit`); any other source by libvips' header pass.
   */
  async inspect(source: Buffer, what = "source", { readJpeg = false } = {}): Promise<SourceHeader> {
    if (source.length > this.limits.maxSourceBytes)
      throw new ImageError(
        "ImageTooLarge",
        `the ${what} is ${source.length} bytes; at most ${this.limits.maxSourceBytes}`,
      );
    const frame = readJpeg ? readJpegFrame(source) : undefined;
    const metadata: Partial<Metadata> = frame ? { format: "jpeg", ...frame } : await this.readHeader(source, what);
    if (!metadata.format || !SOURCE_FORMATS[metadata.format] || !metadata.width || !metadata.height)
      throw new ImageError("BadRequest", `the ${what}'s format (${metadata.format ?? "unknown"}) is not supported`);
    const frames = metadata.format === "gif" || metadata.format === "webp" ? (metadata.pages ?? 1) : 1;
    const { maxSourceSide, maxSourcePixels } = this.limits;
    if (
      metadata.width > maxSourceSide ||
      metadata.height > maxSourceSide ||
      metadata.width * metadata.height * frames > maxSourcePixels
    ) {
      throw new ImageError(
        "ImageTooLarge",
        `the ${what} is ${metadata.width}x${metadata.height} with ${frames} frame(s); at most ${maxSourceSide} px per side ` +
          `and ${maxSourcePixels} px in total`,
      );
    }
    return {
      ...metadata,
      format: metadata.format,
      width: metadata.width,
      height: metadata.height,
      decodePixelLimit: frame ? frame.width * frame.height : maxSourcePixels,
    };
  }

  private async readHeader(source: Buffer, what: string): Promise<Metadata> {
    try {
      return await sharp(source, { limitInputPixels: false }).metadata();
    } catch {
      throw new ImageError("BadRequest", `the ${what} is not an image in a supported format`);
    }
  }

  private async run({ source, actions, accept, loadObject, deadline }: ProcessRequest): Promise<ProcessResult> {
    // `info` reports EXIF fields, which only libvips' header pass reads.
    const wantsInfo = actions.some((action) => action.type === "info");
    const metadata = await this.inspect(source, "source", { readJpeg: !wantsInfo });
    if (wantsInfo) return info(source, metadata);

    const sourceFormat = SOURCE_FORMATS[metadata.format]!;
    const formatAction = findLast(actions, "format");
    const varyAccept = this.autoFormat && !formatAction;
    const pages = metadata.pages ?? 1;
    const animated = pages > 1 && (sourceFormat === "gif" || sourceFormat === "webp");
    const framePixels = metadata.width! * metadata.height! * pages;
    if (
      animated &&
      (pages > this.limits.animationPassthroughFrames || framePixels > this.limits.animationPassthroughPixels)
    ) {
      return { body: source, contentType: CONTENT_TYPES[sourceFormat], varyAccept: false };
    }

    let format =
      formatAction?.format === "gif" && sourceFormat !== "gif" ? sourceFormat : (formatAction?.format ?? sourceFormat);
    if (varyAccept) format = negotiateFormat(accept, sourceFormat, animated);
    const keepFrames =
      animated &&
      (format === "gif" || format === "webp") &&
      framePixels <= this.limits.animationPassthroughPixels &&
      actions.every((action) => FRAME_PRESERVING.has(action.type) && !isPercentResize(action));

    const orient = findLast(actions, "auto-orient")?.enabled ?? true;
    const oriented = orient && metadata.autoOrient ? metadata.autoOrient : metadata;
    checkWork({ width: oriented.width!, height: oriented.height! }, keepFrames ? pages : 1, actions, this.limits);
    const image = sharp(source, {
      animated: keepFrames,
      failOn: "error",
      limitInputPixels: metadata.decodePixelLimit,
    });
    if (orient) image.autoOrient();
    const pipeline = new Pipeline(image, { width: oriented.width!, height: oriented.height! }, keepFrames ? pages : 1, {
      opaqueOutput: format === "jpeg",
      deadline,
    });

    for (const action of actions) {
      deadline?.check();
      if (action.type === "average-hue") return averageHue(await pipeline.materialize());
      await this.apply(pipeline, action, loadObject);
    }
    deadline?.check();

    const sourceQuality = sourceFormat === "jpeg" ? estimateJpegQuality(source) : undefined;
    const { webpQuality, webpEffort, avifQuality, avifEffort } = this.encoders;
    const defaultQuality = format === "webp" ? webpQuality : format === "avif" ? avifQuality : DEFAULT_QUALITY;
    const body = await pipeline.encode(format, {
      quality: outputQuality(findLast(actions, "quality"), sourceQuality, defaultQuality),
      effort: format === "avif" ? avifEffort : webpEffort,
      progressive: findLast(actions, "interlace")?.enabled ?? false,
      delay: keepFrames ? metadata.delay : undefined,
      loop: keepFrames ? metadata.loop : undefined,
    });
    return { body, contentType: CONTENT_TYPES[format], varyAccept };
  }

  private async apply(pipeline: Pipeline, action: Action, loadObject: ProcessRequest["loadObject"]): Promise<void> {
    switch (action.type) {
      case "resize": {
        const size = await pipeline.size();
        const plan = planResize(size, action, this.limits);
        if (!plan) return;
        (await pipeline.at(Stage.Resize)).resize(plan.width, plan.height, { fit: "fill" });
        pipeline.resized(plan);
        if (plan.crop) await pipeline.extract(plan.crop);
        if (plan.pad) {
          (await pipeline.at(Stage.Extend)).extend({ ...plan.pad, background: `#${action.color}` });
          pipeline.resized({
            width: plan.width + plan.pad.left + plan.pad.right,
            height: plan.height + plan.pad.top + plan.pad.bottom,
          });
        }
        return;
      }
      case "crop":
        return pipeline.extract(cropBox(await pipeline.size(), action));
      case "indexcrop": {
        const box = indexCropBox(await pipeline.size(), action);
        return box && pipeline.extract(box);
      }
      case "circle": {
        const box = circleBox(await pipeline.size(), action.r);
        await pipeline.extract(box);
        return pipeline.composite(mask(box, pipeline.options.opaqueOutput, box.width / 2));
      }
      case "rounded-corners": {
        const size = await pipeline.size();
        const radius = Math.min(action.r, Math.floor(Math.min(size.width, size.height) / 2));
        return pipeline.composite(mask(size, pipeline.options.opaqueOutput, radius));
      }
      case "rotate": {
        const angle = action.angle % 360;
        if (angle === 0) return;
        const size = await pipeline.size();
        checkOutputSize(rotatedSize(size, angle), this.limits, "rotate");
        return pipeline.rotate(angle);
      }
      case "blur": {
        // The mask is cut where the Gaussian falls below its value at distance r: r bounds the radius.
        const minAmplitude = Math.min(1, Math.max(0.001, Math.exp(-(action.r * action.r) / (2 * action.s * action.s))));
        (await pipeline.at(Stage.Blur)).blur({ sigma: action.s, minAmplitude });
        return;
      }
      case "bright":
        (await pipeline.at(Stage.Modulate)).modulate({ lightness: action.value });
        return;
      case "sharpen":
        (await pipeline.at(Stage.Sharpen)).sharpen({ sigma: action.value / 100 });
        return;
      case "contrast": {
        const slope = (100 + action.value) / 100;
        (await pipeline.at(Stage.Linear)).linear(slope, 128 * (1 - slope));
        return;
      }
      case "watermark": {
        const base = await pipeline.size();
        const overlay = await this.watermark(action, base, loadObject);
        return pipeline.composite(overlay);
      }
      case "auto-orient":
      case "format":
      case "quality":
      case "interlace":
      case "info":
      case "average-hue":
        return; // applied at decode or encode
    }
  }

  /** The watermark raster (image and/or text, opacity applied) and where it goes. */
  private async watermark(
    action: WatermarkAction,
    base: Size,
    loadObject: ProcessRequest["loadObject"],
  ): Promise<OverlayOptions> {
    const parts: Raster[] = [];
    if (action.image !== undefined) {
      if (!loadObject) throw new ImageError("InvalidArgument", "watermark: image watermarks need a source bucket");
      const bytes = await loadObject(action.image);
      await this.inspect(bytes, "watermark image");
      parts.push(await toRaster(sharp(bytes, { failOn: "error" }).autoOrient()));
    }
    if (action.text) {
      const text = await renderText(action.text, base);
      if (action.order === 1) parts.unshift(text);
      else parts.push(text);
    }
    let mark = parts.length === 1 ? parts[0] : await sideBySide(parts, action.interval, action.align);
    if (mark.width > base.width || mark.height > base.height) {
      mark = await toRaster(
        rawImage(mark).resize(base.width, base.height, { fit: "inside", withoutEnlargement: true }),
      );
    }
    // Opacity scales the alpha channel, in libvips' threads rather than on the event loop.
    if (action.t < 100) mark = await toRaster(rawImage(mark).linear([1, 1, 1, action.t / 100], [0, 0, 0, 0]));
    const input = { input: mark.data, raw: { width: mark.width, height: mark.height, channels: 4 as const } };
    if (action.fill) return { ...input, tile: true, gravity: "northwest" };
    return { ...input, ...watermarkOrigin(base, mark, action) };
  }
}

/**
 * One request's chain of sharp instances. `at(slot)` returns the current instance when the operation
 * can still run in it, or starts a new one from the raw pixels of the current one.
 */
class Pipeline {
  private slot = Stage.Start;
  private sizeKnown = true;
  private composites: OverlayOptions[] = [];
  /** The post-resize extract of this instance, while it is the last operation queued. */
  private lastExtract?: { box: Box; frame: Size };

  constructor(
    private image: Sharp,
    private current: Size,
    private readonly pages: number,
    readonly options: { readonly opaqueOutput: boolean; readonly deadline?: Deadline },
  ) {}

  /** The current frame size (runs the pipeline when an earlier operation left it unknown). */
  async size(): Promise<Size> {
    if (!this.sizeKnown) await this.materialize();
    return this.current;
  }

  async at(slot: Stage): Promise<Sharp> {
    if (slot < this.slot || (slot === this.slot && slot !== Stage.Composite)) await this.materialize();
    this.slot = slot;
    this.lastExtract = undefined;
    return this.image;
  }

  resized(size: Size): void {
    this.current = { width: size.width, height: size.height };
  }

  async extract(box: Box): Promise<void> {
    if (box.left === 0 && box.top === 0 && box.width === this.current.width && box.height === this.current.height)
      return;
    const afterResize = this.slot === Stage.Resize;
    const frame = this.current;
    (await this.at(Stage.Extract)).extract(box);
    if (afterResize) this.lastExtract = { box, frame };
    this.resized(box);
  }

  async composite(overlay: OverlayOptions): Promise<void> {
    const image = await this.at(Stage.Composite);
    this.composites.push(overlay);
    image.composite(this.composites);
  }

  async rotate(angle: number): Promise<void> {
    const background = this.options.opaqueOutput ? WHITE : TRANSPARENT;
    // Frame by frame: libvips rotates an animation as one tall image, and by 180° that reverses its frames.
    if (this.pages > 1) return this.rotateFrames(angle, background);
    if (this.lastExtract && angle % 90 === 0 && this.pages === 1)
      return this.rotateBeforeExtract(angle, this.lastExtract);
    (await this.at(Stage.Rotate)).rotate(angle, { background });
    if (angle === 90 || angle === 270) this.resized({ width: this.current.height, height: this.current.width });
    else if (angle !== 180) this.sizeKnown = false;
  }

  /**
   * resize → extract → rotate by a right angle, in one instance: sharp rotates before its post-resize
   * extract, so the box is moved into the rotated frame instead of starting a new instance.
   */
  private rotateBeforeExtract(angle: number, { box, frame }: { box: Box; frame: Size }): void {
    const { left, top, width, height } = box;
    const rotated =
      angle === 90
        ? { left: frame.height - top - height, top: left, width: height, height: width }
        : angle === 180
          ? { left: frame.width - left - width, top: frame.height - top - height, width, height }
          : { left: top, top: frame.width - left - width, width: height, height: width };
    this.image.rotate(angle).extract(rotated);
    this.lastExtract = undefined;
    this.resized(rotated);
  }

  /** libvips rotates animations only by 180°: other angles rotate each frame and stack them again. */
  private async rotateFrames(angle: number, background: typeof WHITE): Promise<void> {
    const { data, info } = await this.materialize();
    const frameBytes = info.width * this.current.height * info.channels;
    const frames = await Promise.all(
      Array.from({ length: this.pages }, (_, index) =>
        sharp(data.subarray(index * frameBytes, (index + 1) * frameBytes), {
          raw: { width: info.width, height: this.current.height, channels: info.channels },
        })
          .rotate(angle, { background })
          .ensureAlpha()
          .raw()
          .timeout(this.timeout())
          .toBuffer({ resolveWithObject: true }),
      ),
    );
    const { width, height, channels } = frames[0].info;
    this.load(Buffer.concat(frames.map((frame) => frame.data)), { width, height }, channels);
  }

  /** Runs the queued operations to raw pixels and continues from them. */
  async materialize(): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
    const { data, info } = await this.image.raw().timeout(this.timeout()).toBuffer({ resolveWithObject: true });
    this.load(data, { width: info.width, height: info.height / this.pages }, info.channels);
    return { data, info };
  }

  /** libvips stops a pipeline that runs past the request's deadline (0: no timeout). */
  private timeout(): { seconds: number } {
    return { seconds: this.options.deadline?.seconds() ?? 0 };
  }

  private load(data: Buffer, frame: Size, channels: number): void {
    const pageHeight = this.pages > 1 ? frame.height : undefined;
    this.image = sharp(data, {
      raw: { width: frame.width, height: frame.height * this.pages, channels: channels as 1 | 2 | 3 | 4, pageHeight },
      // Without pages: -1, sharp resizes a raw animation as one tall image instead of frame by frame.
      pages: this.pages > 1 ? -1 : 1,
      limitInputPixels: false,
    });
    this.current = frame;
    this.slot = Stage.Start;
    this.sizeKnown = true;
    this.composites = [];
  }

  async encode(
    format: OutputFormat,
    options: { quality: number; effort: number; progressive: boolean; delay?: number[]; loop?: number },
  ): Promise<Buffer> {
    const { quality, effort, progressive, delay, loop } = options;
    const animation = { delay, loop };
    this.image.timeout(this.timeout());
    switch (format) {
      case "jpeg":
        // sharp would flatten alpha on black; OSS (and the spec) on white.
        return this.image.flatten({ background: WHITE }).jpeg({ quality, progressive }).toBuffer();
      case "png":
        // Lossless: sharp's quality on PNG turns on palette quantization.
        return this.image.png({ palette: false }).toBuffer();
      case "webp":
        return this.image.webp({ quality, effort, ...animation }).toBuffer();
      case "gif":
        return this.image.gif(animation).toBuffer();
      case "tiff":
        return this.image.tiff({ quality }).toBuffer();
      case "avif":
        return this.image.avif({ quality, effort }).toBuffer();
    }
  }
}

/** The `quality` rules: Q absolute, q relative to a JPEG source's quality; never above the source's. */
export function outputQuality(
  action: { q?: number; Q?: number } | undefined,
  sourceQuality: number | undefined,
  defaultQuality = DEFAULT_QUALITY,
): number {
  const cap = (value: number) => (sourceQuality === undefined ? value : Math.min(value, sourceQuality));
  if (action?.Q !== undefined) return cap(action.Q);
  if (action?.q !== undefined)
    return sourceQuality === undefined ? action.q : roundHalfUp((sourceQuality * action.q) / 100);
  return cap(defaultQuality);
}

/**
 * Automatic format: AVIF, then WebP when `Accept` names them (not with q=0); AVIF is not used for
 * animations. Reads the normalized class of the image-accept function and, where CloudFront runs
 * no function (China), the viewer's own header alike.
 */
export function negotiateFormat(accept: string | undefined, source: OutputFormat, animated: boolean): OutputFormat {
  const accepted = acceptedTypes(accept ?? "");
  if (!animated && accepted.has("image/avif")) return "avif";
  if (accepted.has("image/webp")) return "webp";
  return source;
}

/** The media types an `Accept` header lists, without those refused with q=0. */
function acceptedTypes(accept: string): Set<string> {
  return new Set(
    accept
      .toLowerCase()
      .split(",")
      .flatMap((part) => {
        const [type, ...params] = part.split(";").map((piece) => piece.trim());
        const refused = params.some((param) => param.startsWith("q=") && parseFloat(param.slice(2)) === 0);
        return refused || !type ? [] : [type];
      }),
  );
}

function findLast<T extends Action["type"]>(
  actions: readonly Action[],
  type: T,
): Extract<Action, { type: T }> | undefined {
  return actions.findLast((action): action is Extract<Action, { type: T }> => action.type === type);
}

const isPercentResize = (action: Action) =>
  action.type === "resize" &&
  (action as ResizeAction).p !== undefined &&
  [action.w, action.h, action.l, action.s].every((v) => v === undefined);

function info(source: Buffer, metadata: SourceHeader): ProcessResult {
  const value = (v: string | number) => ({ value: String(v) });
  const fields: Record<string, { value: string }> = {
    FileSize: value(source.length),
    Format: value(metadata.format === "jpeg" ? "jpg" : metadata.format === "heif" ? "avif" : metadata.format!),
    ImageHeight: value(metadata.height!),
    ImageWidth: value(metadata.width!),
  };
  if (metadata.pages && metadata.pages > 1) fields.Frames = value(metadata.pages);
  for (const [name, field] of Object.entries(readExif(metadata.exif))) fields[name] = value(field);
  return { body: Buffer.from(JSON.stringify(fields)), contentType: "application/json", varyAccept: false };
}

async function averageHue({ data, info }: { data: Buffer; info: sharp.OutputInfo }): Promise<ProcessResult> {
  const stats = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .flatten({ background: WHITE })
    .toColourspace("srgb")
    .stats();
  const [r, g, b] = [0, 1, 2].map((index) =>
    Math.round(stats.channels[Math.min(index, stats.channels.length - 1)].mean),
  );
  const hex = ((r << 16) | (g << 8) | b).toString(16).toUpperCase().padStart(6, "0");
  return { body: Buffer.from(JSON.stringify({ RGB: `0x${hex}` })), contentType: "application/json", varyAccept: false };
}

/**
 * Circle and rounded corners: outside the shape becomes transparent (`dest-in` with an opaque shape),
 * or white when the output is JPEG (a white frame with the shape cut out, composited over).
 */
function mask(size: Size, opaqueOutput: boolean, radius: number): OverlayOptions {
  const { width, height } = size;
  const shape = `<rect width="${width}" height="${height}" rx="${radius}" ry="${radius}"/>`;
  const svg = opaqueOutput
    ? `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><mask id="m">` +
      `<rect width="${width}" height="${height}" fill="#fff"/>${shape.replace("/>", ' fill="#000"/>')}</mask></defs>` +
      `<rect width="${width}" height="${height}" fill="#fff" mask="url(#m)"/></svg>`
    : `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shape.replace("/>", ' fill="#fff"/>')}</svg>`;
  return { input: Buffer.from(svg), blend: opaqueOutput ? "over" : "dest-in" };
}

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);

/**
 * Text watermark: sharp's own text rendering (Pango through fontconfig, with the fonts of
 * ./fonts.ts), sized to the text's layout, its shadow drawn a step down and right, then rotated.
 * The font size is scaled down when the text would be far larger than the image.
 */
async function renderText(text: TextWatermark, base: Size): Promise<Raster> {
  const characters = Array.from(text.text).length;
  const estimate = (size: number) => ({ width: characters * size * 1.2 + size, height: size * 2 });
  const natural = estimate(text.size);
  const scale = Math.min(1, (2 * base.width) / natural.width, (2 * base.height) / natural.height);
  const size = Math.max(1, Math.floor(text.size * scale));
  const font = `${fontFamily(text.font)} ${size}`;
  const draw = (attributes: string) =>
    toRaster(
      sharp({
        // dpi 72: Pango's points are then OSS's pixels.
        text: { text: `<span ${attributes}>${escapeXml(text.text)}</span>`, font, dpi: 72, rgba: true },
      }),
    );
  let mark = await draw(`foreground="#${text.color}"`);
  if (text.shadow > 0) {
    const shift = Math.max(1, Math.round(size / 20));
    const shadow = await draw(`foreground="#000000" alpha="${Math.max(1, text.shadow)}%"`);
    mark = await toRaster(
      sharp({
        create: { width: mark.width + shift, height: mark.height + shift, channels: 4, background: TRANSPARENT },
      }).composite([
        {
          input: shadow.data,
          raw: { width: shadow.width, height: shadow.height, channels: 4 },
          left: shift,
          top: shift,
        },
        { input: mark.data, raw: { width: mark.width, height: mark.height, channels: 4 }, left: 0, top: 0 },
      ]),
    );
  }
  if (text.rotate % 360 === 0) return mark;
  return toRaster(rawImage(mark).rotate(text.rotate, { background: TRANSPARENT }));
}

/** Image and text side by side, `interval` apart, aligned top (0), centre (1) or bottom (2). */
async function sideBySide(parts: Raster[], interval: number, align: 0 | 1 | 2): Promise<Raster> {
  const width = parts.reduce((sum, part) => sum + part.width, 0) + interval * (parts.length - 1);
  const height = Math.max(...parts.map((part) => part.height));
  let left = 0;
  const overlays = parts.map((part) => {
    const top = align === 0 ? 0 : align === 1 ? Math.floor((height - part.height) / 2) : height - part.height;
    const overlay = {
      input: part.data,
      raw: { width: part.width, height: part.height, channels: 4 as const },
      left,
      top,
    };
    left += part.width + interval;
    return overlay;
  });
  return toRaster(sharp({ create: { width, height, channels: 4, background: TRANSPARENT } }).composite(overlays));
}

const rawImage = (raster: Raster) =>
  sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: 4 } });

async function toRaster(image: Sharp): Promise<Raster> {
  const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** libvips errors about the input are the client's problem (400); anything else is ours (500). */
function classifySharpError(error: unknown): unknown {
  if (error instanceof ImageError || !(error instanceof Error)) return error;
  if (/pixel limit/i.test(error.message)) return new ImageError("ImageTooLarge", "the source exceeds the pixel limit");
  if (/^timeout: \d+% complete/.test(error.message))
    return new ImageError(
      "ServiceUnavailable",
      "the image took longer than the request's deadline; its work was abandoned",
    );
  if (
    /load|premature|corrupt|truncat|input buffer|unsupported image|bad (huffman|marker)|out of data|read error|not a known/i.test(
      error.message,
    )
  )
    return new ImageError(
      "BadRequest",
      `the source image could not be decoded (${error.message.split("\n")[0].slice(0, 120)})`,
    );
  return error;
}
