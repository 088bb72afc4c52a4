import type { LegacyOriginConfig } from "../config";
import { GCS_SIGNING_REGION } from "../functions/shared/gcs";
import type { LegacySourceSettings } from "../functions/shared/legacy-source";
import { GCS_XML_API_DOMAIN, type LegacyOriginEndpoint } from "../contracts/cross-stack";

/**
 * Everything the stacks derive from `legacyOrigin`, by kind: where CloudFront fails over to, how
 * the worker reads, how the signer signs. GCS is reached through its XML API, path-style; an
 * S3-compatible store as its addressing says; an HTTPS origin at its domain and path prefix.
 */

/** The CloudFront custom origin of the legacy store. */
export function legacyOriginEndpoint(origin: LegacyOriginConfig): LegacyOriginEndpoint {
  switch (origin.kind) {
    case "gcs":
      return { domainName: GCS_XML_API_DOMAIN, originPath: `/${origin.bucket}` };
    case "s3-compatible":
      return origin.addressing === "virtual-hosted"
        ? { domainName: `${origin.bucket}.${origin.endpoint}` }
        : { domainName: origin.endpoint, originPath: `/${origin.bucket}` };
    case "https":
      return { domainName: origin.domain, ...(origin.pathPrefix ? { originPath: origin.pathPrefix } : {}) };
  }
}

/** How the backfill worker (and the migrate CLI) read the legacy store. */
export function legacySourceSettings(origin: LegacyOriginConfig): LegacySourceSettings {
  switch (origin.kind) {
    case "gcs":
      return {
        api: "s3",
        endpoint: `https://${GCS_XML_API_DOMAIN}`,
        bucket: origin.bucket,
        region: GCS_SIGNING_REGION,
        addressing: "path",
      };
    case "s3-compatible":
      return {
        api: "s3",
        endpoint: `https://${origin.endpoint}`,
        bucket: origin.bucket,
        region: origin.region,
        addressing: origin.addressing,
      };
    case "https":
      return { api: "http", endpoint: `https://${origin.domain}${origin.pathPrefix ?? ""}` };
  }
}

/** The region of SigV4's credential scope for requests to a private store. */
export function legacySigningRegion(origin: LegacyOriginConfig): string {
  return origin.kind === "s3-compatible" ? origin.region : GCS_SIGNING_REGION;
}

/** How the origin is named in descriptions (`gs://bucket`, `s3-compatible://endpoint/bucket`, `https://domain/prefix`). */
export function legacyOriginLabel(origin: LegacyOriginConfig): string {
  switch (origin.kind) {
    case "gcs":
      return `gs://${origin.bucket}`;
    case "s3-compatible":
      return `${origin.bucket} at ${origin.endpoint}`;
    case "https":
      return `https://${origin.domain}${origin.pathPrefix ?? ""}`;
  }
}
