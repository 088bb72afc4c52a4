/**
 * The work of a request, measured from the source's header and the parsed actions before any pixel
 * is decoded: every step's output (summed over frames), the overlays held for composition and the
 * raw buffers between sharp instances, checked against the limits. It follows the engine's
 * pipeline rules (engine.ts): an operation that must run earlier in sharp's fixed order than one
 * already queued hands the pixels over in a raw buffer, and so does rotating an animation.
 */
import type { Action, TextWatermark, WatermarkAction } from "./actions";
import { ImageError } from "./errors";
import {
  checkOutputSize,
  circleBox,
  cropBox,
  indexCropBox,
  outputSize,
  planResize,
  rotatedSize,
  type Size,
} from "./geometry";
import type { ImageLimits } from "./limits";

/** Sharp's order of operations, as the engine's pipeline uses it. */
export enum Stage {
  Start,
  Resize,
  Rotate,
  Extract,
  Extend,
  Blur,
  Modulate,
  Sharpen,
  Composite,
  Linear,
}

export interface WorkEstimate {
  /** Pixels produced by all steps, encode included. */
  readonly workPixels: number;
  /** Area of the overlays composited. */
  readonly compositePixels: number;
  /** The largest raw buffer between two sharp instances (0 when one instance does it all). */
  readonly largestBufferPixels: number;
  /** Raw hand-overs between sharp instances. */
  readonly buffers: number;
}

const area = (size: Size) => size.width * size.height;

/**
 * Throws ImageTooLarge (400) naming the limit a request would pass; `frames` is the number of
 * frames the engine keeps (1 unless an animation stays animated).
 */
export function checkWork(source: Size, frames: number, actions: readonly Action[], limits: ImageLimits): WorkEstimate {
  let size = source;
  let stage = Stage.Start;
  let sizeKnown = true;
  /** False once a free rotation made the size an estimate (libvips may differ by a pixel). */
  let exact = true;
  let extractAfterResize = false;
  let workPixels = 0;
  let compositePixels = 0;
  let largestBufferPixels = 0;
  let buffers = 0;

  const tooLarge = (what: string, value: number, limit: number, hint: string) =>
    new ImageError(
      "ImageTooLarge",
      `the request asks for ${what} of ${value} px; at most ${limit} px (${hint}). Limits: docs/image-limits.md`,
    );
  const produced = (next: Size) => {
    if (frames > 1 && area(next) * frames > limits.maxAnimationOutputPixels)
      throw tooLarge(
        `${frames} frames of ${next.width}x${next.height}, an animation`,
        area(next) * frames,
        limits.maxAnimationOutputPixels,
        "width × height × frames",
      );
    workPixels += area(next) * frames;
    if (workPixels > limits.maxWorkPixels)
      throw tooLarge("steps producing a total", workPixels, limits.maxWorkPixels, "summed over steps and frames");
  };
  const buffer = (pixels: number) => {
    buffers++;
    largestBufferPixels = Math.max(largestBufferPixels, pixels);
    if (pixels > limits.maxBufferPixels)
      throw tooLarge(
        "an intermediate raw buffer",
        pixels,
        limits.maxBufferPixels,
        "resize first, or ask for fewer steps that sharp cannot run in one pass",
      );
  };
  const materialize = () => {
    buffer(area(size) * frames);
    stage = Stage.Start;
    sizeKnown = true;
    extractAfterResize = false;
  };
  const at = (next: Stage) => {
    if (!sizeKnown || next < stage || (next === stage && next !== Stage.Composite)) materialize();
    stage = next;
    extractAfterResize = false;
  };
  const extract = (box: Size & { left: number; top: number }) => {
    if (box.left === 0 && box.top === 0 && box.width === size.width && box.height === size.height) return;
    const afterResize = stage === Stage.Resize && sizeKnown;
    at(Stage.Extract);
    extractAfterResize = afterResize;
    size = box;
    produced(size);
  };
  const composite = (overlay: number) => {
    at(Stage.Composite);
    compositePixels += overlay;
    if (compositePixels > limits.maxCompositePixels)
      throw tooLarge(
        "overlays (watermarks, masks) covering",
        compositePixels,
        limits.maxCompositePixels,
        "summed over overlays",
      );
    produced(size);
  };
  const known = () => {
    if (!sizeKnown) materialize();
    return size;
  };

  for (const action of actions) {
    switch (action.type) {
      case "resize": {
        const plan = planResize(known(), action, limits);
        if (!plan) break;
        at(Stage.Resize);
        size = { width: plan.width, height: plan.height };
        produced(size);
        if (plan.crop) extract(plan.crop);
        if (plan.pad) {
          at(Stage.Extend);
          size = outputSize(plan);
          produced(size);
        }
        break;
      }
      case "crop": {
        let box;
        try {
          box = cropBox(known(), action);
        } catch (error) {
          // After a free rotation the size here is libvips' rounded estimate: the engine has the last word.
          if (exact) throw error;
          break;
        }
        extract(box);
        break;
      }
      case "indexcrop": {
        const box = indexCropBox(known(), action);
        if (box) extract(box);
        break;
      }
      case "circle": {
        const box = circleBox(known(), action.r);
        extract(box);
        composite(area(box));
        break;
      }
      case "rounded-corners":
        composite(area(known()));
        break;
      case "rotate": {
        const angle = action.angle % 360;
        if (angle === 0) break;
        const rotated = rotatedSize(known(), angle);
        checkOutputSize(rotated, limits, "rotate");
        if (frames > 1) {
          // Every frame is rotated on its own: the decoded frames and the rotated ones are both held.
          materialize();
          buffer(area(rotated) * frames);
          size = rotated;
          exact &&= angle % 90 === 0;
        } else if (extractAfterResize && angle % 90 === 0) {
          size = rotated;
          extractAfterResize = false;
        } else {
          at(Stage.Rotate);
          size = rotated;
          sizeKnown = angle % 90 === 0;
          exact &&= sizeKnown;
        }
        produced(size);
        break;
      }
      case "blur":
        at(Stage.Blur);
        produced(size);
        break;
      case "bright":
        at(Stage.Modulate);
        produced(size);
        break;
      case "sharpen":
        at(Stage.Sharpen);
        produced(size);
        break;
      case "contrast":
        at(Stage.Linear);
        produced(size);
        break;
      case "watermark": {
        const base = known();
        if (action.text) workPixels += area(textBox(action.text, base)); // the text is drawn on a canvas first
        composite(watermarkArea(action, base));
        break;
      }
      case "average-hue":
        materialize();
        return { workPixels, compositePixels, largestBufferPixels, buffers };
      case "auto-orient":
      case "format":
      case "quality":
      case "interlace":
      case "info":
        break;
    }
  }
  produced(size); // the encode
  return { workPixels, compositePixels, largestBufferPixels, buffers };
}

/**
 * The most a watermark can cover: a tiled one covers the image; otherwise the mark is shrunk to fit
 * inside the image, and text is bounded by a box of its characters at its size (rotated).
 */
function watermarkArea(action: WatermarkAction, base: Size): number {
  if (action.fill || action.image !== undefined || !action.text) return area(base);
  return Math.min(area(base), area(rotatedSize(textBox(action.text, base), action.text.rotate % 360)));
}

/** A generous box for a line of text: 1.2 em a character plus 1 em, 2 em high, the size capped at twice the image. */
function textBox(text: TextWatermark, base: Size): Size {
  const characters = Array.from(text.text).length;
  const box = (size: number) => ({ width: Math.ceil(characters * size * 1.2 + size), height: Math.ceil(size * 2) });
  const natural = box(text.size);
  const scale = Math.min(1, (2 * base.width) / natural.width, (2 * base.height) / natural.height);
  return box(Math.max(1, Math.floor(text.size * scale)));
}
