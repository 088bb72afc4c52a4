/**
 * A JPEG's markers before its first scan, read in JavaScript: the quantization table that
 * jpeg-quality.ts estimates from, and the frame size the engine checks against its limits without
 * libvips' header pass (one threadpool round trip: 1.5 ms of each thumbnail's latency at 2
 * connections, docs/image-performance.md).
 *
 * The size is read only from a strict subset of JPEG, where libjpeg (libvips' decoder) reads the
 * same bytes the same way: markers back to back from SOI to SOS, one SOF0/1/2 frame (Huffman,
 * 8-bit, 1, 3 or 4 components), only tables, restart interval, comments and APPn segments besides,
 * and no EXIF segment, so that libvips finds no orientation either. Anything else is left to libvips.
 * The engine then caps libvips' decode at exactly the pixels read here (sharp's `limitInputPixels`),
 * so no difference between the two readings can let more pixels through than the limits checked.
 */

export const JPEG_MARKER = {
  SOF0: 0xc0,
  SOF1: 0xc1,
  SOF2: 0xc2,
  DHT: 0xc4,
  SOI: 0xd8,
  SOS: 0xda,
  DQT: 0xdb,
  DRI: 0xdd,
  APP0: 0xe0,
  APP1: 0xe1,
  APP15: 0xef,
  COM: 0xfe,
} as const;

/** Every start-of-frame marker: SOF0–3, 5–7, 9–11, 13–15 (C4, C8 and CC are other markers). */
const START_OF_FRAME = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
/** Frames libjpeg decodes with Huffman coding: baseline, extended sequential, progressive. */
const READ_FRAMES = new Set<number>([JPEG_MARKER.SOF0, JPEG_MARKER.SOF1, JPEG_MARKER.SOF2]);
const COMPONENT_COUNTS = new Set([1, 3, 4]);

export interface JpegSegment {
  readonly marker: number;
  /** Offset of the payload (after the marker and its length). */
  readonly start: number;
  /** Offset after the payload. */
  readonly end: number;
}

/**
 * The marker segments from SOI on, up to and including the first SOS. Stops early (without an SOS)
 * at the first byte that is not where a well-formed stream has it: data between segments, a
 * standalone marker, a length that runs past the end. 0xFF fill bytes before a marker are skipped,
 * as libjpeg skips them.
 */
export function* jpegSegments(jpeg: Uint8Array): Generator<JpegSegment> {
  if (jpeg[0] !== 0xff || jpeg[1] !== JPEG_MARKER.SOI) return;
  let offset = 2;
  while (offset + 4 <= jpeg.length) {
    if (jpeg[offset] !== 0xff) return;
    const marker = jpeg[offset + 1];
    if (marker === 0xff) {
      offset++;
      continue;
    }
    // Standalone markers (TEM, RST0–7, SOI, EOI) have no length and no place before the first scan.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) return;
    const length = (jpeg[offset + 2] << 8) | jpeg[offset + 3];
    const end = offset + 2 + length;
    if (length < 2 || end > jpeg.length) return;
    yield { marker, start: offset + 4, end };
    if (marker === JPEG_MARKER.SOS) return;
    offset = end;
  }
}

export interface JpegFrame {
  readonly width: number;
  readonly height: number;
}

/** The frame size of a JPEG in the subset above, or undefined: libvips must read the header. */
export function readJpegFrame(jpeg: Uint8Array): JpegFrame | undefined {
  let frame: JpegFrame | undefined;
  for (const { marker, start, end } of jpegSegments(jpeg)) {
    if (marker === JPEG_MARKER.SOS) return frame;
    if (START_OF_FRAME.has(marker)) {
      if (frame || !READ_FRAMES.has(marker)) return undefined;
      const components = jpeg[start + 5];
      // libjpeg refuses a frame whose length does not match its component count.
      if (end - start !== 6 + 3 * components || jpeg[start] !== 8 || !COMPONENT_COUNTS.has(components))
        return undefined;
      const height = (jpeg[start + 1] << 8) | jpeg[start + 2];
      const width = (jpeg[start + 3] << 8) | jpeg[start + 4];
      // A height of 0 is defined later by a DNL marker, which libjpeg does not support.
      if (width === 0 || height === 0) return undefined;
      frame = { width, height };
    } else if (marker === JPEG_MARKER.APP1) {
      // libvips attaches any APP1 that starts with "Exif" and takes the orientation from it.
      if (end - start >= 4 && String.fromCharCode(...jpeg.subarray(start, start + 4)) === "Exif") return undefined;
    } else if (
      marker !== JPEG_MARKER.DQT &&
      marker !== JPEG_MARKER.DHT &&
      marker !== JPEG_MARKER.DRI &&
      marker !== JPEG_MARKER.COM &&
      !(marker >= JPEG_MARKER.APP0 && marker <= JPEG_MARKER.APP15)
    ) {
      return undefined;
    }
  }
  return undefined;
}
