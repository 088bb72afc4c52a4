import { z } from "zod";
import { PRICE_CLASSES } from "../aws-facts";
import { enabled, region } from "../primitives";

/** Cache TTLs of the content distribution, in seconds. */
export const DEFAULT_CDN_MIN_TTL_SECONDS = 0;
export const DEFAULT_CDN_DEFAULT_TTL_SECONDS = 86_400;
export const DEFAULT_CDN_MAX_TTL_SECONDS = 31_536_000;
/**
 * How long CloudFront caches an error answer (403, 404, 5xx). Short, because a miss is often
 * filled moments later (back-to-origin copy, replication) and must not stay hidden.
 */
export const DEFAULT_ERROR_CACHING_TTL_SECONDS = 10;
/** Seconds the invalidation queue gathers events before the function runs (SQS maximum: 300). */
export const DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS = 30;
/** Messages per invocation; Lambda also caps a batch at its 6 MB payload. */
export const DEFAULT_INVALIDATION_BATCH_SIZE = 1_000;
/** Up to this many changed keys, each gets its exact path; more are collapsed into `prefix/*`. */
export const DEFAULT_INVALIDATION_EXACT_PATH_LIMIT = 50;
/** CloudFront's limit of paths per invalidation request. */
export const CLOUDFRONT_MAX_INVALIDATION_PATHS = 3_000;
/** SQS's largest batch size for a standard queue with a batching window. */
export const SQS_MAX_BATCH_SIZE = 10_000;
/** SQS's longest batching window. */
export const SQS_MAX_BATCHING_WINDOW_SECONDS = 300;

const ttlSeconds = z.int().min(0);

/**
 * A CloudFront-scope WAF web ACL: WAFv2, global scope, which AWS keeps in us-east-1.
 * Source: https://docs.aws.amazon.com/waf/latest/APIReference/API_WebACL.html (ARN format)
 */
export const cloudFrontWebAclArn = z
  .string()
  .regex(
    /^arn:aws:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]{1,128}\/[0-9a-f-]{36}$/,
    "must be the ARN of a CloudFront-scope WAFv2 web ACL (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>); regional web ACLs cannot protect a distribution",
  );

/** The content distribution (stack `cdn`). */
export const cdnSection = z.strictObject({
  enabled,
  /** @default primaryRegion */
  originShieldRegion: region.optional(),
  /** `auto`: fail over to GCS while a legacy origin is configured, else to the replica. */
  failover: z.enum(["auto", "replica"]).default("auto"),
  priceClass: z.enum(PRICE_CLASSES).default("PriceClass_100"),
  ttl: z
    .strictObject({
      min: ttlSeconds.default(DEFAULT_CDN_MIN_TTL_SECONDS),
      default: ttlSeconds.default(DEFAULT_CDN_DEFAULT_TTL_SECONDS),
      max: ttlSeconds.default(DEFAULT_CDN_MAX_TTL_SECONDS),
    })
    .prefault({}),
  /** Serve gzip and brotli (compressed at the edge and part of the cache key). */
  compression: z.boolean().default(true),
  /**
   * Answer 404 for a missing key instead of S3's 403: grants the distributions s3:ListBucket.
   * Off by default: listing is more access than serving needs.
   */
  real404: z.boolean().default(false),
  /** Seconds CloudFront caches error answers. */
  errorCachingTtlSeconds: z.int().min(0).max(31_536_000).default(DEFAULT_ERROR_CACHING_TTL_SECONDS),
  /** An existing CloudFront-scope WAFv2 web ACL to attach. */
  webAclArn: cloudFrontWebAclArn.optional(),
  /** CloudFront access logs (v2 logging) into a CloudWatch Logs group in us-east-1. */
  logging: z.boolean().default(true),
  invalidation: z
    .strictObject({
      batchingWindowSeconds: z
        .int()
        .min(1, "must be at least 1 (a window is what lets one invalidation cover many changes)")
        .max(SQS_MAX_BATCHING_WINDOW_SECONDS)
        .default(DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS),
      batchSize: z.int().min(1).max(SQS_MAX_BATCH_SIZE).default(DEFAULT_INVALIDATION_BATCH_SIZE),
      exactPathLimit: z
        .int()
        .min(1)
        .max(CLOUDFRONT_MAX_INVALIDATION_PATHS)
        .default(DEFAULT_INVALIDATION_EXACT_PATH_LIMIT),
    })
    .prefault({}),
});
