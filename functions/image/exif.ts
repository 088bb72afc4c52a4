/**
 * Reads the common EXIF fields `info` reports (IFD0 and the Exif sub-IFD) from the EXIF block sharp
 * returns in `metadata().exif`. Values come back as strings, as OSS prints them.
 */

const TAGS: Record<number, string> = {
  0x010f: "Make",
  0x0110: "Model",
  0x0112: "Orientation",
  0x011a: "XResolution",
  0x011b: "YResolution",
  0x0128: "ResolutionUnit",
  0x0131: "Software",
  0x0132: "DateTime",
  0x829a: "ExposureTime",
  0x829d: "FNumber",
  0x8827: "ISOSpeedRatings",
  0x9003: "DateTimeOriginal",
  0x9004: "DateTimeDigitized",
  0x920a: "FocalLength",
  0xa002: "PixelXDimension",
  0xa003: "PixelYDimension",
};
const EXIF_IFD_POINTER = 0x8769;
const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

export function readExif(block: Buffer | undefined): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!block) return fields;
  const tiff = block.subarray(0, 6).toString("latin1") === "Exif\0\0" ? block.subarray(6) : block;
  if (tiff.length < 8) return fields;
  const little = tiff.toString("latin1", 0, 2) === "II";
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const s32 = (at: number) => (little ? tiff.readInt32LE(at) : tiff.readInt32BE(at));
  const visited = new Set<number>();

  const readIfd = (start: number) => {
    if (visited.has(start) || start + 2 > tiff.length) return;
    visited.add(start);
    const count = u16(start);
    for (let entry = 0; entry < count; entry++) {
      const at = start + 2 + entry * 12;
      if (at + 12 > tiff.length) return;
      const tag = u16(at);
      const type = u16(at + 2);
      const n = u32(at + 4);
      const size = (TYPE_SIZES[type] ?? 0) * n;
      const valueAt = size <= 4 ? at + 8 : u32(at + 8);
      if (size === 0 || valueAt + size > tiff.length) continue;
      if (tag === EXIF_IFD_POINTER) {
        readIfd(u32(at + 8));
        continue;
      }
      const name = TAGS[tag];
      if (!name) continue;
      const value = readValue(type, n, valueAt);
      if (value !== "") fields[name] = value;
    }
  };

  const readValue = (type: number, n: number, at: number): string => {
    switch (type) {
      case 2:
        return tiff
          .toString("latin1", at, at + n)
          .replace(/\0+$/, "")
          .trim();
      case 3:
        return String(u16(at));
      case 4:
        return String(u32(at));
      case 9:
        return String(s32(at));
      case 5:
      case 10: {
        const numerator = type === 5 ? u32(at) : s32(at);
        const denominator = type === 5 ? u32(at + 4) : s32(at + 4);
        return denominator === 0 ? "" : `${numerator}/${denominator}`;
      }
      default:
        return "";
    }
  };

  try {
    readIfd(u32(4));
  } catch {
    // A truncated or malformed block: report what was read.
  }
  return fields;
}
