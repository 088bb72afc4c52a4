import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { CloudFrontHeaders, CloudFrontRequest } from "aws-lambda";
import type { HmacKey } from "../shared/gcs-hmac-key";

/** SHA-256 of the empty payload of a GET or HEAD. */
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SIGNED_METHODS = new Set(["GET", "HEAD"]);
/** Headers this function sets; a viewer's own copies are dropped so they cannot disturb the signature. */
const SIGNING_HEADERS = ["authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"];

/**
 * Signs a CloudFront origin request for a store's S3 API (GCS's XML API with a GCS HMAC key and
 * region `auto`, see GCS_SIGNING_REGION in functions/shared/gcs.ts; or an S3-compatible store in
 * its region) with AWS SigV4, service `s3`. The signed host is the origin's domain (`<bucket>.<endpoint>`
 * with virtual-hosted addressing), the signed path the origin path (`/<bucket>` path-style, empty
 * virtual-hosted) followed by the URI as CloudFront sends it, already percent-encoded (S3-style
 * signing does not encode it again). Only `host`, `x-amz-date` and `x-amz-content-sha256` are
 * signed: CloudFront adds and rewrites other headers (Via, X-Amz-Cf-Id, ...) after this function.
 */
export async function signForGcs(
  request: CloudFrontRequest,
  key: HmacKey,
  region: string,
  now = new Date(),
): Promise<CloudFrontRequest> {
  const origin = request.origin?.custom;
  if (!origin || !SIGNED_METHODS.has(request.method)) return request;
  const defaultPort = origin.protocol === "https" ? 443 : 80;
  const host = origin.port && origin.port !== defaultPort ? `${origin.domainName}:${origin.port}` : origin.domainName;
  const signer = new SignatureV4({
    service: "s3",
    region,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: `${origin.protocol}:`,
      hostname: origin.domainName,
      port: origin.port,
      path: `${origin.path ?? ""}${request.uri}`,
      query: parseQuery(request.querystring),
      headers: { host, "x-amz-content-sha256": EMPTY_PAYLOAD_SHA256 },
    },
    { signingDate: now },
  );
  const headers: CloudFrontHeaders = { ...request.headers };
  for (const name of SIGNING_HEADERS) delete headers[name];
  for (const [name, value] of Object.entries(signed.headers)) {
    const lower = name.toLowerCase();
    if (lower !== "host") headers[lower] = [{ key: name, value }];
  }
  return { ...request, headers };
}

/** CloudFront's raw query string (`a=1&b=x%20y`) as the signer wants it: decoded names and values. */
function parseQuery(querystring: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of querystring.split("&")) {
    if (pair === "") continue;
    const separator = pair.indexOf("=");
    const name = decodeURIComponent(separator < 0 ? pair : pair.slice(0, separator));
    const value = separator < 0 ? "" : decodeURIComponent(pair.slice(separator + 1));
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}
