import type { CloudFrontHeaders, CloudFrontOrigin } from "aws-lambda";

/** The first value of a header in a CloudFront event (keys there are lower-case). */
export function headerValue(headers: CloudFrontHeaders | undefined, name: string): string | undefined {
  return headers?.[name.toLowerCase()]?.[0]?.value;
}

/** Whether a request is bound for the legacy GCS origin (a custom origin with that domain). */
export function isLegacyOrigin(origin: CloudFrontOrigin | undefined, legacyDomain: string): boolean {
  return origin?.custom?.domainName.toLowerCase() === legacyDomain.toLowerCase();
}

/**
 * The object key a viewer URI names: percent-decoded, without the leading slash. Undefined for
 * URIs that cannot name an object (empty, `.`/`..` segments, malformed escapes, NUL).
 */
export function objectKeyFromUri(uri: string): string | undefined {
  let key: string;
  try {
    key = decodeURIComponent(uri.replace(/^\//, ""));
  } catch {
    return undefined;
  }
  if (key === "" || key.includes("\0")) return undefined;
  if (key.split("/").some((segment) => segment === "." || segment === "..")) return undefined;
  return key;
}
