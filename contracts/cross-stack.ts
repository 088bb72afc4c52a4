/**
 * Typed values that travel between stacks. A field holding a token (an ARN, an id) becomes a
 * `terraform_remote_state` read in the consuming stack; never copy such values into config.
 */

/** What other stacks need to know about a bucket. Token fields travel through remote state. */
export interface BucketReference {
  readonly name: string;
  readonly arn: string;
  /** `<bucket>.s3.<region>.<dns suffix>`: the domain of a CloudFront S3 origin. */
  readonly regionalDomainName: string;
  readonly region: string;
  /** The bucket's KMS key (SSE-KMS only): readers need kms:Decrypt on it. */
  readonly kmsKeyArn?: string;
}

/** A Lambda@Edge function attached to a cache behaviour. */
export interface EdgeFunctionAssociation {
  readonly eventType: "viewer-request" | "origin-request" | "origin-response" | "viewer-response";
  /** The published version's ARN (`...:function:<name>:<version>`): CloudFront refuses `$LATEST`. */
  readonly qualifiedArn: string;
  /** Whether the function sees the request body. */
  readonly includeBody: boolean;
}

/** The legacy origin as CloudFront reaches it (HTTPS only): derived from `legacyOrigin` by stacks/legacy-origin.ts. */
export interface LegacyOriginEndpoint {
  /** `storage.googleapis.com`, `<bucket>.<endpoint>` (virtual-hosted), `<endpoint>` (path-style), or the HTTPS origin's domain. */
  readonly domainName: string;
  /** `/<bucket>` (path-style addressing), the HTTPS origin's path prefix, or absent. */
  readonly originPath?: string;
}

/** What the `edge` stack gives the distributions that attach its functions. */
export interface EdgeAttachments {
  /** Functions of the default (back-to-origin) behaviour. */
  readonly associations: readonly EdgeFunctionAssociation[];
  /** The legacy origin the functions work with; absent when no legacy origin is configured. */
  readonly legacyOrigin?: LegacyOriginEndpoint;
}

/** What the `dns-cert` stack gives the stacks that serve a custom domain. */
export interface DomainCertificate {
  /** ARN of the issued (validated) ACM certificate in us-east-1. */
  readonly certificateArn: string;
  /** Route53 hosted zone that gets the alias records. */
  readonly hostedZoneId: string;
}

/** GCS's S3-compatible XML API endpoint. */
export const GCS_XML_API_DOMAIN = "storage.googleapis.com";
