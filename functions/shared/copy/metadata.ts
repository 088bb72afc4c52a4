/**
 * User metadata S3 accepts. GCS allows 8 KiB of custom metadata and any UTF-8 value; S3 allows
 * 2 KB (the UTF-8 bytes of every name and value, `x-amz-meta-` not counted) and a SigV4-signed
 * header carries ASCII only. Values are kept as S3 itself returns UTF-8 metadata (RFC 2047
 * `=?UTF-8?B?...?=`); what cannot be held is dropped and named, never retried.
 */

/** S3's limit on user-defined metadata: the sum of the UTF-8 bytes of each name and value. */
export const MAX_USER_METADATA_BYTES = 2048;

/** A metadata field the copy could not keep. */
export interface DroppedMetadata {
  readonly field: string;
  readonly reason: "invalid-name" | "over-2KB";
}

export interface FittedMetadata {
  readonly metadata: Record<string, string>;
  readonly dropped: readonly DroppedMetadata[];
}

/** An HTTP token (RFC 9110), lower-case as S3 stores metadata names. */
const HEADER_TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Visible ASCII and spaces, with no leading or trailing space (which HTTP would trim). */
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/** A value as an HTTP header can carry it: as it is when plain ASCII, else RFC 2047 base64 of its UTF-8. */
export function encodeMetadataValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !/^=\?.*\?=$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

const sizeOf = (name: string, value: string) => Buffer.byteLength(name) + Buffer.byteLength(value);

/**
 * Fits `reserved` (the engine's own fields, always kept) and then the source's fields, in their
 * order, into S3's limit. Fields whose name is not a header token, or that no longer fit, are
 * dropped and reported.
 */
export function fitMetadata(
  reserved: Readonly<Record<string, string>>,
  source: Readonly<Record<string, string>>,
): FittedMetadata {
  const metadata: Record<string, string> = {};
  let used = 0;
  for (const [name, value] of Object.entries(reserved)) {
    metadata[name] = value;
    used += sizeOf(name, value);
  }
  const dropped: DroppedMetadata[] = [];
  for (const [rawName, rawValue] of Object.entries(source)) {
    const name = rawName.toLowerCase();
    if (name in reserved) continue;
    if (!HEADER_TOKEN.test(name)) {
      dropped.push({ field: rawName, reason: "invalid-name" });
      continue;
    }
    const value = encodeMetadataValue(rawValue);
    if (used + sizeOf(name, value) > MAX_USER_METADATA_BYTES) {
      dropped.push({ field: rawName, reason: "over-2KB" });
      continue;
    }
    metadata[name] = value;
    used += sizeOf(name, value);
  }
  return { metadata, dropped };
}
