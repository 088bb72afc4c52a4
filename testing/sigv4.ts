/**
 * An independent SigV4 check for S3-style requests, written from AWS's specification (s3rver does
 * not verify v4 signatures): recomputes the signature of a request as the origin receives it.
 */
import { createHash, createHmac } from "node:crypto";

export interface ReceivedRequest {
  readonly method: string;
  /** The path as sent, already percent-encoded (S3 signing does not encode it again). */
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly querystring: string;
  /** Header values by lower-case name. */
  readonly header: (name: string) => string;
}

export interface Verdict {
  readonly valid: boolean;
  /** The credential scope's region (undefined when unsigned). */
  readonly region?: string;
  readonly accessKeyId?: string;
}

const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

export function verifySigV4(request: ReceivedRequest, secretAccessKey: string): Verdict {
  const match =
    /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=(\w+)/.exec(
      request.header("authorization"),
    );
  if (!match) return { valid: false };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  const query = request.querystring
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [name, value = ""] = pair.split("=");
      return [rfc3986(decodeURIComponent(name)), rfc3986(decodeURIComponent(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const canonicalHeaders = signedHeaders
    .split(";")
    .map((name) => `${name}:${request.header(name).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalRequest = [
    request.method,
    request.path,
    query,
    canonicalHeaders,
    signedHeaders,
    request.header("x-amz-content-sha256"),
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    request.header("x-amz-date"),
    `${date}/${region}/${service}/aws4_request`,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`);
  for (const part of [date, region, service, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return { valid: createHmac("sha256", key).update(stringToSign).digest("hex") === signature, region, accessKeyId };
}
