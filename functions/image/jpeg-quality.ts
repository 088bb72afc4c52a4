/**
 * Estimates the quality a JPEG was saved at from its luminance quantization table: the IJG quality
 * (1..100) whose scaled standard table is closest to the file's. Reads only the markers before the
 * image data (jpeg-header.ts); no decode.
 */
import { JPEG_MARKER, jpegSegments } from "./jpeg-header";

/** ITU T.81 Annex K luminance table, in natural (row-major) order. */
const STANDARD_LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];

/** Natural-order index of each zig-zag position (DQT stores tables in zig-zag order). */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63,
];

const SCALED_TABLES = Array.from({ length: 100 }, (_, index) => {
  const quality = index + 1;
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  return STANDARD_LUMINANCE.map((value) => Math.min(255, Math.max(1, Math.floor((value * scale + 50) / 100))));
});

/** The estimated quality, or undefined when the buffer is not a JPEG with a luminance table. */
export function estimateJpegQuality(jpeg: Uint8Array): number | undefined {
  const table = luminanceTable(jpeg);
  if (!table) return undefined;
  let best = 0;
  let bestError = Infinity;
  SCALED_TABLES.forEach((candidate, index) => {
    let error = 0;
    for (let i = 0; i < 64; i++) error += Math.abs(candidate[i] - table[i]);
    if (error < bestError) {
      bestError = error;
      best = index + 1;
    }
  });
  return best;
}

/** Table 0 of the first DQT segment before the first scan, in natural order. */
function luminanceTable(jpeg: Uint8Array): number[] | undefined {
  for (const { marker, start, end } of jpegSegments(jpeg)) {
    if (marker !== JPEG_MARKER.DQT) continue;
    let position = start;
    while (position < end) {
      const precision = jpeg[position] >> 4;
      const id = jpeg[position] & 0x0f;
      const size = precision ? 128 : 64;
      if (position + 1 + size > end) return undefined;
      if (id === 0) {
        const natural = new Array<number>(64);
        for (let i = 0; i < 64; i++) {
          natural[ZIGZAG[i]] = precision
            ? (jpeg[position + 1 + 2 * i] << 8) | jpeg[position + 2 + 2 * i]
            : jpeg[position + 1 + i];
        }
        return natural;
      }
      position += 1 + size;
    }
  }
  return undefined;
}
