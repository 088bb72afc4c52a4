/**
 * Every bound on the work of one image request, in one place. Where Alibaba OSS publishes a limit
 * (image processing "Limits": source size, side and pixels, output side) the default is OSS's; the
 * others bound what OSS does not say, sized for the Lambda function's and the task's memory.
 * `docs/image-limits.md` explains each one and how a request is measured against them.
 */
export interface ImageLimits {
  /** Largest source object read, in bytes (OSS). @default 20 MiB */
  readonly maxSourceBytes: number;
  /** Largest source side, in pixels (OSS). @default 30,000 */
  readonly maxSourceSide: number;
  /** Largest source width × height × frames (OSS). @default 250,000,000 */
  readonly maxSourcePixels: number;
  /** Largest output side, in pixels (OSS). @default 16,384 */
  readonly maxOutputSide: number;
  /** Largest output width × height of one frame. @default 16,777,216 */
  readonly maxOutputPixels: number;
  /** Animated GIFs and WebPs with more frames than this are returned unprocessed. @default 300 */
  readonly animationPassthroughFrames: number;
  /** Animated GIFs and WebPs with more width × height × frames than this are returned unprocessed. @default 50,000,000 */
  readonly animationPassthroughPixels: number;
  /** Largest output of an animation: width × height summed over its frames. @default 50,000,000 */
  readonly maxAnimationOutputPixels: number;
  /**
   * Pixels the steps of a request produce together: each resize, crop, rotate, pad, blur and
   * adjustment counts the image it leaves (summed over frames), each composite the area it covers.
   * The source's decode is bounded by `maxSourcePixels` instead. @default 268,435,456 (16 full-size outputs)
   */
  readonly maxWorkPixels: number;
  /**
   * Overlays held at once for composition (watermarks, circle and rounded-corner masks), summed
   * by area: each is held in memory until the image is encoded. @default 33,554,432 (two full-size outputs)
   */
  readonly maxCompositePixels: number;
  /**
   * Largest raw buffer between two steps (width × height summed over frames), such as the frames of
   * an animation decoded to rotate them by 90°: 4 bytes a pixel. @default 50,000,000 (200 MB)
   */
  readonly maxBufferPixels: number;
}

export const DEFAULT_LIMITS: ImageLimits = {
  maxSourceBytes: 20 * 1024 * 1024,
  maxSourceSide: 30_000,
  maxSourcePixels: 250_000_000,
  maxOutputSide: 16_384,
  maxOutputPixels: 16_777_216,
  animationPassthroughFrames: 300,
  animationPassthroughPixels: 50_000_000,
  maxAnimationOutputPixels: 50_000_000,
  maxWorkPixels: 16 * 16_777_216,
  maxCompositePixels: 2 * 16_777_216,
  maxBufferPixels: 50_000_000,
};

/** Largest value of w, h, l, s (resize) and of other pixel parameters. */
export const MAX_DIMENSION_PARAM = 16_384;

/**
 * How long a request may take, end to end, before its work is abandoned and its slot freed (answered
 * 503): below CloudFront's origin read timeout (IMAGE_ORIGIN_READ_TIMEOUT_SECONDS in environment.ts),
 * after which nobody waits, leaving CloudFront 5 s.
 */
export const DEFAULT_DEADLINE_MS = 25_000;
