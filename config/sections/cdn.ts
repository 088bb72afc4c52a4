import { z } from "zod";
import {
  CLOUDFRONT_DEFAULT_ROOT_OBJECT_MAX_LENGTH,
  CLOUDFRONT_FAILOVER_STATUS_CODES,
  ORIGIN_SHIELD_REGIONS,
  PRICE_CLASSES,
} from "../aws-facts";
import { type FieldDocs, enabled, region } from "../primitives";
import { invalidationSection } from "./invalidation";

/** Cache TTLs of the content distribution, in seconds. */
export const DEFAULT_CDN_MIN_TTL_SECONDS = 0;
export const DEFAULT_CDN_DEFAULT_TTL_SECONDS = 86_400;
export const DEFAULT_CDN_MAX_TTL_SECONDS = 31_536_000;
/**
 * How long CloudFront caches an error answer (403, 404, 5xx). Short, because a miss is often
 * filled moments later (back-to-origin copy, replication) and must not stay hidden.
 */
export const DEFAULT_ERROR_CACHING_TTL_SECONDS = 10;
const ttlSeconds = z.int().min(0);

/**
 * Failover status codes of the content distribution's origin group. To GCS: a key missing in S3
 * answers 403 (404 with `real404`), and that is exactly when the legacy origin must answer. To the
 * replica: only when the primary fails (the workshop's setup adds 403/404 for a primary that lags).
 */
export const DEFAULT_LEGACY_FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];
export const DEFAULT_REPLICA_FAILOVER_STATUS_CODES = [500, 502, 503, 504];

const failoverStatusCodes = z
  .array(
    z.int().refine((code) => (CLOUDFRONT_FAILOVER_STATUS_CODES as readonly number[]).includes(code), {
      error: (issue) =>
        `${String(issue.input)} is not a status code CloudFront fails over on; choose from ${CLOUDFRONT_FAILOVER_STATUS_CODES.join(", ")}`,
    }),
  )
  .min(1, "must name at least one status code")
  .refine((codes) => new Set(codes).size === codes.length, "must not repeat a status code")
  .transform((codes) => [...codes].sort((a, b) => a - b))
  .meta({ typeLabel: `status codes from ${CLOUDFRONT_FAILOVER_STATUS_CODES.join(", ")}` } satisfies FieldDocs);

/**
 * The object CloudFront serves for the root URL (`/`), as a website's `index.html`: a key or a path
 * to one, without a leading slash. Applies to the root only (CloudFront does not map subdirectories).
 */
const defaultRootObject = z
  .string()
  .min(1)
  .max(CLOUDFRONT_DEFAULT_ROOT_OBJECT_MAX_LENGTH)
  .refine(
    (key) => !key.startsWith("/") && !key.endsWith("/"),
    "must be an object key like index.html, without a leading or trailing slash",
  )
  .refine((key) => /^[\x21-\x7e]+$/.test(key), "may contain only printable ASCII characters without spaces");

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

export const cdnSection = z
  .strictObject({
    enabled: enabled.meta({ description: "the `cdn` stack" }),
    originShieldRegion: region.optional().meta({
      description: `Origin Shield region of every origin; CloudFront offers it in ${ORIGIN_SHIELD_REGIONS.join(", ")}`,
      defaultLabel: "`primaryRegion`",
    } satisfies FieldDocs),
    failover: z.enum(["auto", "replica"]).default("auto").meta({
      description:
        "`auto`: fail over to the legacy origin while one is configured, else to the replica; `replica`: always to the replica (docs/cdn.md#failover-modes)",
    }),
    failoverStatusCodes: z
      .strictObject({
        legacy: failoverStatusCodes.default(DEFAULT_LEGACY_FAILOVER_STATUS_CODES).meta({
          description:
            "what makes the origin group ask the legacy origin (a key missing in S3 answers 403, or 404 with `real404`)",
          // zod's JSON schema states no default of a transformed value.
          defaultLabel: `\`${JSON.stringify(DEFAULT_LEGACY_FAILOVER_STATUS_CODES)}\``,
        } satisfies FieldDocs),
        replica: failoverStatusCodes.default(DEFAULT_REPLICA_FAILOVER_STATUS_CODES).meta({
          description: "what makes the origin group ask the replica (add 403 and 404 for a primary that lags)",
          defaultLabel: `\`${JSON.stringify(DEFAULT_REPLICA_FAILOVER_STATUS_CODES)}\``,
        } satisfies FieldDocs),
      })
      .prefault({})
      .meta({ description: "status codes of the primary that make CloudFront ask the failover origin, per mode" }),
    defaultRootObject: defaultRootObject.optional().meta({
      description: "the object served for `/` (e.g. `index.html`): the root only, CloudFront maps no subdirectories",
      typeLabel: `object key, no leading or trailing \`/\`, ≤ ${CLOUDFRONT_DEFAULT_ROOT_OBJECT_MAX_LENGTH} characters`,
    } satisfies FieldDocs),
    priceClass: z.enum(PRICE_CLASSES).default("PriceClass_100").meta({ description: "the edge locations that serve" }),
    ttl: z
      .strictObject({
        min: ttlSeconds.default(DEFAULT_CDN_MIN_TTL_SECONDS).meta({ description: "minimum TTL, seconds" }),
        default: ttlSeconds.default(DEFAULT_CDN_DEFAULT_TTL_SECONDS).meta({ description: "default TTL, seconds" }),
        max: ttlSeconds.default(DEFAULT_CDN_MAX_TTL_SECONDS).meta({ description: "maximum TTL, seconds" }),
      })
      .prefault({})
      .meta({ description: "the cache policy's TTLs; min ≤ default ≤ max" }),
    compression: z
      .boolean()
      .default(true)
      .meta({ description: "serve gzip and brotli (compressed at the edge, part of the cache key)" }),
    real404: z.boolean().default(false).meta({
      description:
        "answer 404 for a missing key instead of S3's 403: grants the distributions `s3:ListBucket` (off: listing is more access than serving needs)",
    }),
    errorCachingTtlSeconds: z
      .int()
      .min(0)
      .max(31_536_000)
      .default(DEFAULT_ERROR_CACHING_TTL_SECONDS)
      .meta({ description: "seconds CloudFront caches 403, 404 and 5xx answers" }),
    webAclArn: cloudFrontWebAclArn.optional().meta({
      description: "an existing CloudFront-scope WAFv2 web ACL to attach; regional ACLs are refused",
      typeLabel: "WAFv2 web ACL ARN (`arn:aws:wafv2:us-east-1:…:global/webacl/…`)",
    } satisfies FieldDocs),
    logging: z
      .boolean()
      .default(true)
      .meta({ description: "CloudFront v2 access logs into a CloudWatch Logs group in us-east-1" }),
    invalidation: invalidationSection.prefault({}).meta({
      description: "the automatic invalidation of the content and image distributions (docs/invalidation.md)",
    }),
  })
  .meta({ description: "the content distribution (stack `cdn`; docs/cdn.md)" });
