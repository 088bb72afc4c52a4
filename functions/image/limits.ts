/** Limits of the x-oss-process spec (`x-oss-process.md`, "Limits"). */
export interface ImageLimits {
  /** Largest source object read, in bytes. @default 20 MiB */
  readonly maxSourceBytes: number;
  /** Largest source side, in pixels. @default 30,000 */
  readonly maxSourceSide: number;
  /** Largest source width × height × frames. @default 250,000,000 */
  readonly maxSourcePixels: number;
  /** Largest output side, in pixels. @default 16,384 */
  readonly maxOutputSide: number;
  /** Largest output width × height. @default 16,777,216 */
  readonly maxOutputPixels: number;
  /** Animated GIFs with more frames than this are returned unprocessed. @default 300 */
  readonly gifPassthroughFrames: number;
  /** Animated GIFs with more width × height × frames than this are returned unprocessed. @default 50,000,000 */
  readonly gifPassthroughPixels: number;
}

export const DEFAULT_LIMITS: ImageLimits = {
  maxSourceBytes: 20 * 1024 * 1024,
  maxSourceSide: 30_000,
  maxSourcePixels: 250_000_000,
  maxOutputSide: 16_384,
  maxOutputPixels: 16_777_216,
  gifPassthroughFrames: 300,
  gifPassthroughPixels: 50_000_000,
};

/** Largest value of w, h, l, s (resize) and of other pixel parameters. */
export const MAX_DIMENSION_PARAM = 16_384;
