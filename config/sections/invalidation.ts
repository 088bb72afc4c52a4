import { z } from "zod";
import { INVALIDATING_EVENT_TYPES } from "../../functions/invalidate/environment";
import { DEFAULT_EXACT_PATH_LIMIT } from "../../functions/invalidate/plan";
import {
  CLOUDFRONT_MAX_INVALIDATION_PATHS,
  EVENT_PATTERN_MAX_LENGTH,
  S3_BUCKET_NAME_MAX_LENGTH,
  SQS_MAX_BATCH_SIZE,
  SQS_MAX_BATCHING_WINDOW_SECONDS,
} from "../aws-facts";
import { type FieldDocs, region, s3BucketName } from "../primitives";
import {
  DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS,
  DEFAULT_INVALIDATION_BATCH_SIZE,
} from "../../constructs/defaults";

/** Most prefixes, and most suffixes, of one pipeline's key filters (both: every pair is a wildcard). */
export const MAX_KEY_FILTERS = 10;

/**
 * A key prefix or suffix of an EventBridge rule. S3 URL-encodes keys in its events (a space as
 * `+`, most other characters as `%XX`), so the rule sees the encoded key: only characters whose
 * encoding is certain are accepted.
 */
const keyFilterValue = z
  .string()
  .min(1)
  .max(256)
  .regex(
    /^[A-Za-z0-9/._ -]+$/,
    "may contain only letters, digits, space, '/', '.', '_' and '-' (S3 URL-encodes other characters in its events, which the rule matches)",
  )
  .meta({ typeLabel: "letters, digits, space, `/ . _ -`" } satisfies FieldDocs);

/** How a pipeline batches and plans (shared by the cdn's, the image stack's and standalone ones). */
const tuning = {
  batchingWindowSeconds: z
    .int()
    .min(1, "must be at least 1 (a window is what lets one invalidation cover many changes)")
    .max(SQS_MAX_BATCHING_WINDOW_SECONDS)
    .default(DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS)
    .meta({ description: "SQS batching window: seconds the queue gathers events before the function runs" }),
  batchSize: z
    .int()
    .min(1)
    .max(SQS_MAX_BATCH_SIZE)
    .default(DEFAULT_INVALIDATION_BATCH_SIZE)
    .meta({ description: "messages per invocation (Lambda also caps a batch at 6 MB)" }),
  exactPathLimit: z.int().min(1).max(CLOUDFRONT_MAX_INVALIDATION_PATHS).default(DEFAULT_EXACT_PATH_LIMIT).meta({
    description:
      "a batch of up to this many keys gets exact paths, a larger one `prefix/*` paths (why 100: docs/invalidation.md)",
  }),
};

/**
 * Which keys invalidate: a key must start with one of `keyPrefixes` (when any) and end with one of
 * `keySuffixes` (when any). Applied by the EventBridge rule, so other changes cost nothing.
 */
const keyFilters = {
  keyPrefixes: z.array(keyFilterValue).max(MAX_KEY_FILTERS).default([]).meta({
    description:
      "only keys starting with one of these invalidate (none: every key); applied by the EventBridge rule, so other changes cost nothing",
  }),
  keySuffixes: z.array(keyFilterValue).max(MAX_KEY_FILTERS).default([]).meta({
    description:
      "only keys ending with one of these invalidate (none: every key); with `keyPrefixes`, a key needs both (`<prefix>*<suffix>`)",
  }),
};

export interface KeyFilters {
  readonly keyPrefixes: readonly string[];
  readonly keySuffixes: readonly string[];
}

/** A filter value as it appears in S3's events (see keyFilterValue). */
const encodedInEvents = (value: string) => value.replace(/ /g, "+");

/**
 * The EventBridge rule pattern of one pipeline: the invalidating S3 events of one bucket, with the
 * key filters as `prefix`, `suffix` or (both given) `wildcard` matchers `<prefix>*<suffix>`.
 * Matchers of one field are alternatives. A key shorter than a prefix and suffix together (the two
 * overlapping) does not match a wildcard.
 */
export function invalidationEventPattern(bucketName: string, filters: KeyFilters): string {
  const prefixes = filters.keyPrefixes.map(encodedInEvents);
  const suffixes = filters.keySuffixes.map(encodedInEvents);
  const key =
    prefixes.length > 0 && suffixes.length > 0
      ? prefixes.flatMap((prefix) => suffixes.map((suffix) => ({ wildcard: `${prefix}*${suffix}` })))
      : prefixes.length > 0
        ? prefixes.map((prefix) => ({ prefix }))
        : suffixes.map((suffix) => ({ suffix }));
  return JSON.stringify({
    source: ["aws.s3"],
    "detail-type": [...INVALIDATING_EVENT_TYPES],
    detail: { bucket: { name: [bucketName] }, ...(key.length > 0 ? { object: { key } } : {}) },
  });
}

/** Refuses filters whose rule pattern could exceed EventBridge's limit (with the longest bucket name). */
function checkPatternLength(filters: KeyFilters, ctx: z.RefinementCtx): void {
  const length = invalidationEventPattern("b".repeat(S3_BUCKET_NAME_MAX_LENGTH), filters).length;
  if (length > EVENT_PATTERN_MAX_LENGTH) {
    ctx.addIssue({
      code: "custom",
      path: ["keyPrefixes"],
      message: `with keySuffixes gives an EventBridge pattern of up to ${length} characters; EventBridge accepts ${EVENT_PATTERN_MAX_LENGTH} (use fewer or shorter filters)`,
    });
  }
}

/** The automatic invalidation of the distributions s3-edge owns (`cdn.invalidation`). */
export const invalidationSection = z.strictObject({ ...tuning, ...keyFilters }).superRefine(checkPatternLength);

/** CloudFront distribution ids: `E` and upper-case letters and digits (e.g. E2QWRUHEXAMPLE). */
const distributionId = z.string().regex(/^E[A-Z0-9]{5,20}$/, "must be a CloudFront distribution id (E2QWRUHEXAMPLE)");

/**
 * A bucket and a distribution that s3-edge does not own, invalidated like s3-edge's own: the
 * `invalidation` stack. The bucket must send its events to EventBridge already.
 */
const standaloneTarget = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,18}[a-z0-9]$/,
        "must be 2 to 20 lowercase letters, digits or hyphens, starting with a letter",
      )
      .meta({
        description: "names the target's resources: `<namePrefix>-<name>-invalidate`",
        typeLabel: "2–20 of `a-z 0-9 -`, starts with a letter",
      } satisfies FieldDocs),
    bucket: s3BucketName.meta({
      description: "the bucket whose changes invalidate; it must send its events to EventBridge",
    }),
    region: region.optional().meta({
      description: "the bucket's region, where S3 delivers its events and the pipeline is built",
      defaultLabel: "`primaryRegion`",
    } satisfies FieldDocs),
    distributionId: distributionId.meta({
      description: "the distribution to invalidate (read with a data source: a mistyped id fails the plan)",
      typeLabel: "CloudFront distribution id (`E…`)",
    } satisfies FieldDocs),
    queryStringVariants: z
      .boolean()
      .default(false)
      .meta({ description: "invalidate `/key*` (a distribution whose cache key includes the query string)" }),
    ...tuning,
    ...keyFilters,
  })
  .superRefine(checkPatternLength);

export const standaloneInvalidationSection = z
  .array(standaloneTarget)
  .max(10)
  .meta({
    description:
      "buckets and distributions s3-edge does not own, invalidated like its own by the `invalidation` stack, one pipeline per target (docs/invalidation.md#standalone-mode)",
  })
  .superRefine((targets, ctx) => {
    targets.forEach((target, index) => {
      const first = targets.findIndex(
        (other) =>
          other.name === target.name ||
          (other.bucket === target.bucket && other.distributionId === target.distributionId),
      );
      if (first !== index) {
        ctx.addIssue({
          code: "custom",
          path: [index, targets[first].name === target.name ? "name" : "distributionId"],
          message:
            targets[first].name === target.name
              ? `"${target.name}" is the name of target ${first} already`
              : `target ${first} already invalidates ${target.distributionId} for ${target.bucket}`,
        });
      }
    });
  });
