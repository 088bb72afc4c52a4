/**
 * The JPEG frame read in JavaScript (functions/image/jpeg-header.ts) against libvips' own reading of
 * the same bytes: equal wherever JavaScript answers, and left to libvips wherever the two could
 * differ. Mutated headers (`S3EDGE_FUZZ_RUNS`) look for a stream read differently by the two.
 */
import fc from "fast-check";
import sharp from "sharp";
import { ImageEngine } from "../../../functions/image/engine";
import { JPEG_MARKER, jpegSegments, readJpegFrame } from "../../../functions/image/jpeg-header";
import { jpeg, orientedJpeg } from "../../fixtures/image/generate";

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const FUZZ_RUNS = Number(process.env.S3EDGE_FUZZ_RUNS ?? 1000);

/** libvips' reading: width, height and orientation, or undefined when it refuses the header. */
async function libvipsFrame(bytes: Buffer) {
  try {
    const { format, width, height, orientation } = await sharp(bytes, { limitInputPixels: false }).metadata();
    return { format, width, height, orientation };
  } catch {
    return undefined;
  }
}

/** Offset of `marker`'s segment (its 0xFF) in a well-formed stream. */
function segmentAt(bytes: Buffer, marker: number): number {
  const segment = [...jpegSegments(bytes)].find((candidate) => candidate.marker === marker);
  if (!segment) throw new Error(`no segment ${marker.toString(16)}`);
  return segment.start - 4;
}

/** `bytes` with `insert` placed before the segment of `marker`. */
function insertBefore(bytes: Buffer, marker: number, insert: number[]): Buffer {
  const at = segmentAt(bytes, marker);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(insert), bytes.subarray(at)]);
}

describe("JPEG frame read in JavaScript", () => {
  let photo: Buffer;
  beforeAll(async () => {
    photo = await jpeg(120, 80);
  });

  test("equals libvips' reading for the JPEGs encoders write", async () => {
    const raw = sharp({ create: { width: 97, height: 61, channels: 3, background: "#336699" } });
    const variants = {
      baseline: photo,
      progressive: await raw.clone().jpeg({ progressive: true }).toBuffer(),
      grey: await raw.clone().greyscale().jpeg().toBuffer(),
      cmyk: await raw.clone().toColourspace("cmyk").jpeg().toBuffer(),
      icc: await raw.clone().withIccProfile("p3").jpeg().toBuffer(),
      comment: insertBefore(photo, JPEG_MARKER.SOS, [0xff, 0xfe, 0x00, 0x05, 0x68, 0x69, 0x21]),
      fillBytes: insertBefore(photo, JPEG_MARKER.SOF0, [0xff, 0xff, 0xff]),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const vips = await libvipsFrame(bytes);
      expect({ name, vips }).toMatchObject({ name, vips: { format: "jpeg" } });
      expect({ name, frame: readJpegFrame(bytes) }).toEqual({
        name,
        frame: { width: vips!.width, height: vips!.height },
      });
      expect(vips!.orientation).toBeUndefined();
    }
  });

  test("leaves to libvips whatever the two could read differently", async () => {
    const sof = segmentAt(photo, JPEG_MARKER.SOF0);
    const patched = (offset: number, value: number) => {
      const copy = Buffer.from(photo);
      copy[offset] = value;
      return copy;
    };
    const frameSegment = photo.subarray(sof, sof + 2 + photo.readUInt16BE(sof + 2));
    const refused = {
      exif: await orientedJpeg(40, 20),
      lossless: patched(sof + 1, 0xc3),
      hierarchical: patched(sof + 1, 0xc5),
      arithmetic: patched(sof + 1, 0xc9),
      twelveBit: patched(sof + 4, 12),
      heightFromDnl: Buffer.concat([photo.subarray(0, sof + 5), Buffer.from([0, 0]), photo.subarray(sof + 7)]),
      twoFrames: insertBefore(photo, JPEG_MARKER.SOS, [...frameSegment]),
      dataBetweenSegments: insertBefore(photo, JPEG_MARKER.SOF0, [0x00]),
      restartBeforeScan: insertBefore(photo, JPEG_MARKER.SOF0, [0xff, 0xd0]),
      numberOfLines: insertBefore(photo, JPEG_MARKER.SOS, [0xff, 0xdc, 0x00, 0x04, 0x00, 0x50]),
      truncatedHeader: photo.subarray(0, segmentAt(photo, JPEG_MARKER.SOS) + 3),
      png: await sharp(photo).png().toBuffer(),
    };
    for (const [name, bytes] of Object.entries(refused))
      expect({ name, frame: readJpegFrame(bytes) }).toEqual({ name, frame: undefined });
    // The EXIF case is the one libvips reads an orientation from.
    expect((await libvipsFrame(refused.exif))?.orientation).toBe(6);
  });

  test("mutated headers: wherever JavaScript reads a frame, libvips reads the same or refuses the image", async () => {
    const seeds = [
      photo,
      await sharp(photo).jpeg({ progressive: true }).toBuffer(),
      await sharp(photo).greyscale().jpeg().toBuffer(),
    ];
    const mutation = fc.record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      edits: fc.array(
        fc.record({
          kind: fc.constantFrom("set", "insert", "delete"),
          at: fc.nat(),
          byte: fc.integer({ min: 0, max: 255 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    let read = 0;
    let both = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async ({ seed, edits }) => {
        const bytes = [...seeds[seed]];
        // Edits land in the header (up to the scan's first bytes), where the two readers work.
        const header = segmentAt(seeds[seed], JPEG_MARKER.SOS) + 16;
        for (const { kind, at, byte } of edits) {
          const offset = at % header;
          if (kind === "set") bytes[offset] = byte;
          else if (kind === "insert") bytes.splice(offset, 0, byte);
          else bytes.splice(offset, 1);
        }
        const mutated = Buffer.from(bytes);
        const frame = readJpegFrame(mutated);
        if (!frame) return;
        read++;
        const vips = await libvipsFrame(mutated);
        if (!vips) return;
        both++;
        expect(vips).toEqual({ format: "jpeg", width: frame.width, height: frame.height, orientation: undefined });
      }),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED },
    );
    // Not vacuous: many mutations keep a frame both read (a changed size, a moved table, fill bytes).
    expect(read).toBeGreaterThan(FUZZ_RUNS / 10);
    expect(both).toBeGreaterThan(FUZZ_RUNS / 20);
  });

  test("the engine caps libvips' decode at the pixels read in JavaScript, and reads EXIF JPEGs with libvips", async () => {
    const engine = new ImageEngine();
    expect(await engine.inspect(photo, "source", { readJpeg: true })).toMatchObject({
      format: "jpeg",
      width: 120,
      height: 80,
      decodePixelLimit: 120 * 80,
    });
    expect(await engine.inspect(photo)).toMatchObject({ width: 120, decodePixelLimit: engine.limits.maxSourcePixels });
    expect(await engine.inspect(await orientedJpeg(40, 20), "source", { readJpeg: true })).toMatchObject({
      autoOrient: { width: 20, height: 40 },
      decodePixelLimit: engine.limits.maxSourcePixels,
    });
  });
});
