/** GCS's S3-compatible XML API. */
export const DEFAULT_SOURCE_ENDPOINT = "https://storage.googleapis.com";

/**
 * Region in the SigV4 credential scope for GCS. GCS's XML API accepts AWS4-HMAC-SHA256 signatures
 * made with an HMAC key and service `s3`; it does not tie the signature to a bucket location, and
 * Google's S3-interoperability guides configure the region `auto`, which every client here uses.
 */
export const GCS_SIGNING_REGION = "auto";
