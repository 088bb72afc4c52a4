import { createCRC32, type IHasher } from "hash-wasm";

/** CRC32C (Castagnoli) in its reflected form, as zlib-style combine math needs it. */
const CRC32C_REFLECTED_POLYNOMIAL = 0x82f63b78;

/** The object checksums a source advertises, base64 of the big-endian digest (GCS `x-goog-hash` style). */
export interface ObjectHashes {
  readonly crc32c?: string;
  readonly md5?: string;
}

/** Base64 of a CRC32C value as 4 big-endian bytes: the encoding of both `x-goog-hash` and S3's ChecksumCRC32C. */
export function crc32cToBase64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString("base64");
}

let crc32cHasher: Promise<IHasher> | undefined;

/**
 * CRC32C of `data`, in WebAssembly (hash-wasm): about 15× the pure-JS implementation, which was the
 * largest cost of a big copy (docs/migration.md, "Throughput"). One instance serves every caller:
 * init, update and digest run without an await in between.
 */
export async function crc32cOf(data: Uint8Array): Promise<number> {
  crc32cHasher ??= createCRC32(CRC32C_REFLECTED_POLYNOMIAL).catch((error: unknown) => {
    crc32cHasher = undefined;
    throw error;
  });
  const hasher = await crc32cHasher;
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest("binary")).readUInt32BE(0);
}

/**
 * Parses `x-goog-hash` (`crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==`; GCS may also send one
 * header per hash, which HTTP joins with commas). Unknown algorithms are ignored.
 */
export function parseGoogHash(header: string | undefined): ObjectHashes {
  const hashes: { crc32c?: string; md5?: string } = {};
  for (const part of (header ?? "").split(",")) {
    const separator = part.indexOf("=");
    if (separator < 0) continue;
    const algorithm = part.slice(0, separator).trim().toLowerCase();
    const value = part.slice(separator + 1).trim();
    if (algorithm === "crc32c" || algorithm === "md5") hashes[algorithm] = value;
  }
  return hashes;
}

/** An S3-style ETag that is the hex MD5 of the bytes (single-part uploads): its base64 form, else undefined. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const hex = /^"?([0-9a-f]{32})"?$/i.exec(etag ?? "")?.[1];
  return hex ? Buffer.from(hex, "hex").toString("base64") : undefined;
}

function gf2MatrixTimes(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let row = 0, rest = vector >>> 0; rest !== 0; row++, rest >>>= 1) if (rest & 1) sum ^= matrix[row];
  return sum >>> 0;
}

function gf2MatrixSquare(square: Uint32Array, matrix: Uint32Array): void {
  for (let row = 0; row < 32; row++) square[row] = gf2MatrixTimes(matrix, matrix[row]);
}

/**
 * CRC32C of A||B from crc(A), crc(B) and B's length (zlib's crc32_combine with the Castagnoli
 * polynomial). Parts copied by different workers are hashed independently and their CRCs combined
 * into the whole object's CRC32C, which is what GCS publishes in `x-goog-hash`.
 */
export function crc32cCombine(first: number, second: number, secondLength: number): number {
  if (secondLength <= 0) return first >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = CRC32C_REFLECTED_POLYNOMIAL;
  for (let row = 1, bit = 1; row < 32; row++, bit <<= 1) odd[row] = bit;
  gf2MatrixSquare(even, odd); // operator for two zero bits
  gf2MatrixSquare(odd, even); // four zero bits
  let crc = first >>> 0;
  let remaining = secondLength;
  for (;;) {
    gf2MatrixSquare(even, odd);
    if (remaining % 2 === 1) crc = gf2MatrixTimes(even, crc);
    remaining = Math.floor(remaining / 2);
    if (remaining === 0) break;
    gf2MatrixSquare(odd, even);
    if (remaining % 2 === 1) crc = gf2MatrixTimes(odd, crc);
    remaining = Math.floor(remaining / 2);
    if (remaining === 0) break;
  }
  return (crc ^ second) >>> 0;
}
