/**
 * Pure geometry of the actions: target sizes and boxes computed here, in integers, so that results
 * do not depend on sharp's rounding or shrink-on-load (spec decision 1). Rounding is half up.
 */
import type { CropAction, Gravity, IndexCropAction, ResizeAction } from "./actions";
import { ImageError } from "./errors";
import type { ImageLimits } from "./limits";

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Box extends Size {
  readonly left: number;
  readonly top: number;
}

/** Resize to `width`×`height`, then crop (fill) or pad (pad) to `box`. */
export interface ResizePlan extends Size {
  readonly crop?: Box;
  readonly pad?: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
}

export const roundHalfUp = (value: number) => Math.max(1, Math.floor(value + 0.5));

/** The resize an action asks for, or undefined when it leaves the image as it is. */
export function planResize(source: Size, action: ResizeAction, limits: ImageLimits): ResizePlan | undefined {
  const { width: W, height: H } = source;
  let plan: ResizePlan;
  let enlargeAllowed = !action.limit;
  let w = action.w;
  let h = action.h;
  if (w === undefined && h === undefined && (action.l !== undefined || action.s !== undefined)) {
    // l targets the long side, s the short side: a box in the image's own orientation.
    const landscape = W >= H;
    w = landscape ? action.l : action.s;
    h = landscape ? action.s : action.l;
  }
  if (w === undefined && h === undefined) {
    // Only p: a percentage, which enlarges whatever limit says.
    const scale = action.p! / 100;
    plan = { width: roundHalfUp(W * scale), height: roundHalfUp(H * scale) };
    enlargeAllowed = true;
  } else if (w === undefined || h === undefined) {
    // One side: proportional, whatever the mode.
    const scale = w !== undefined ? w / W : h! / H;
    plan = { width: w ?? roundHalfUp(W * scale), height: h ?? roundHalfUp(H * scale) };
  } else if (action.mode === "fixed") {
    plan = { width: w, height: h };
  } else {
    const cover = action.mode === "mfit" || action.mode === "fill";
    const scale = cover ? Math.max(w / W, h / H) : Math.min(w / W, h / H);
    const scaled = { width: roundHalfUp(W * scale), height: roundHalfUp(H * scale) };
    if (action.mode === "fill") {
      const box = { width: Math.min(w, scaled.width), height: Math.min(h, scaled.height) };
      const crop = {
        ...box,
        left: Math.floor((scaled.width - box.width) / 2),
        top: Math.floor((scaled.height - box.height) / 2),
      };
      plan = { ...scaled, crop };
    } else if (action.mode === "pad") {
      const left = Math.floor((w - scaled.width) / 2);
      const top = Math.floor((h - scaled.height) / 2);
      plan = { ...scaled, pad: { left, top, right: w - scaled.width - left, bottom: h - scaled.height - top } };
    } else {
      plan = scaled;
    }
  }
  if (!enlargeAllowed && (plan.width > W || plan.height > H)) return undefined;
  const final = outputSize(plan);
  checkOutputSize(final, limits, "resize");
  if (plan.width === W && plan.height === H && final.width === W && final.height === H) return undefined;
  return plan;
}

/** The size of the image after a resize plan. */
export function outputSize(plan: ResizePlan): Size {
  if (plan.crop) return { width: plan.crop.width, height: plan.crop.height };
  if (plan.pad)
    return {
      width: plan.width + plan.pad.left + plan.pad.right,
      height: plan.height + plan.pad.top + plan.pad.bottom,
    };
  return plan;
}

export function checkOutputSize(size: Size, limits: ImageLimits, action: string): void {
  if (
    size.width > limits.maxOutputSide ||
    size.height > limits.maxOutputSide ||
    size.width * size.height > limits.maxOutputPixels
  ) {
    throw new ImageError(
      "ImageTooLarge",
      `${action}: the result would be ${size.width}x${size.height}; at most ${limits.maxOutputSide} px per side and ` +
        `${limits.maxOutputPixels} px in total`,
    );
  }
}

/** Column (0 west, 1 centre, 2 east) and row (0 north, 1 middle, 2 south) of a gravity. */
export function gravityCell(gravity: Gravity): { column: 0 | 1 | 2; row: 0 | 1 | 2 } {
  const column = gravity.endsWith("w") || gravity === "west" ? 0 : gravity.endsWith("e") || gravity === "east" ? 2 : 1;
  const row = gravity.startsWith("n") ? 0 : gravity.startsWith("s") ? 2 : 1;
  return { column, row };
}

/**
 * The crop box: anchored at the gravity point, moved inward by x/y, clipped to the image.
 * An origin outside the image is a 400.
 */
export function cropBox(source: Size, action: CropAction): Box {
  const { width: W, height: H } = source;
  const w = action.w ?? W;
  const h = action.h ?? H;
  const { column, row } = gravityCell(action.g);
  const anchor = (cell: number, size: number, box: number, offset: number) =>
    cell === 0 ? offset : cell === 1 ? Math.floor((size - box) / 2) + offset : size - box - offset;
  const x = anchor(column, W, w, action.x);
  const y = anchor(row, H, h, action.y);
  const left = Math.max(0, x);
  const top = Math.max(0, y);
  const right = Math.min(W, x + w);
  const bottom = Math.min(H, y + h);
  if (left >= right || top >= bottom)
    throw new ImageError(
      "InvalidArgument",
      `crop: the box ${w}x${h} at x=${x}, y=${y} (gravity ${action.g}) lies outside the ${W}x${H} image`,
    );
  return { left, top, width: right - left, height: bottom - top };
}

/** The slice an indexcrop selects, or undefined when the index is past the last slice. */
export function indexCropBox(source: Size, action: IndexCropAction): Box | undefined {
  const along = action.axis === "x" ? source.width : source.height;
  const start = action.index * action.size;
  if (start >= along) return undefined;
  const length = Math.min(action.size, along - start);
  return action.axis === "x"
    ? { left: start, top: 0, width: length, height: source.height }
    : { left: 0, top: start, width: source.width, height: length };
}

/** The centred square a circle of radius r occupies, the radius capped at half the short side. */
export function circleBox(source: Size, radius: number): Box {
  const side = Math.min(2 * radius, source.width, source.height);
  return {
    left: Math.floor((source.width - side) / 2),
    top: Math.floor((source.height - side) / 2),
    width: side,
    height: side,
  };
}

/** Bounding box of an image rotated by `degrees` (what libvips allocates, rounded up). */
export function rotatedSize(source: Size, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  const width = Math.ceil(source.width * cos + source.height * sin - 1e-9);
  const height = Math.ceil(source.width * sin + source.height * cos - 1e-9);
  return { width: Math.max(1, width), height: Math.max(1, height) };
}

/**
 * Top-left of a watermark: x is the margin from the left or right edge, y from the top or bottom edge,
 * voffset moves the middle row up (positive) or down (negative). Clamped inside the image.
 */
export function watermarkOrigin(
  base: Size,
  mark: Size,
  placement: { readonly g: Gravity; readonly x: number; readonly y: number; readonly voffset: number },
): { left: number; top: number } {
  const { column, row } = gravityCell(placement.g);
  const left =
    column === 0
      ? placement.x
      : column === 1
        ? Math.floor((base.width - mark.width) / 2)
        : base.width - mark.width - placement.x;
  const top =
    row === 0
      ? placement.y
      : row === 1
        ? Math.floor((base.height - mark.height) / 2) - placement.voffset
        : base.height - mark.height - placement.y;
  const clamp = (value: number, max: number) => Math.min(Math.max(0, value), Math.max(0, max));
  return { left: clamp(left, base.width - mark.width), top: clamp(top, base.height - mark.height) };
}
