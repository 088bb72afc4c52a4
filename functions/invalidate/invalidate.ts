/**
 * The invalidation function's core: S3 change events (EventBridge, delivered through SQS) →
 * one CloudFront invalidation per batch (functions/invalidate/migration.ts first drops the
 * migration's own creations). SDK clients come in from the handler.
 */
import { CreateInvalidationCommand, type CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { createHash } from "node:crypto";
import { z } from "zod";
import { withBackoff } from "../shared/backoff";
import { readEnvironment } from "../shared/environment";
import { ENVIRONMENT, ENVIRONMENT_FIELDS, INVALIDATING_EVENT_TYPES, type InvalidatingEventType } from "./environment";
import { planInvalidation, type PlanOptions } from "./plan";

/** The one error this function raises for its own reasons (bad events, invalidation refused). */
export class InvalidationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidationError";
  }
}

/**
 * The EventBridge events of S3 that invalidate, as AWS documents them; only the fields the
 * function reads. `version-id` is absent in a bucket that never had versioning. Source:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 */
const s3Event = z.object({
  source: z.literal("aws.s3"),
  "detail-type": z.enum(INVALIDATING_EVENT_TYPES),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({ key: z.string().min(1), "version-id": z.string().min(1).optional() }),
  }),
});

/** One change of an object, from one SQS message. */
export interface ObjectChange {
  readonly messageId: string;
  readonly type: InvalidatingEventType;
  readonly bucket: string;
  /** Decoded. */
  readonly key: string;
  readonly versionId?: string;
}

/**
 * The change one SQS message body (an EventBridge S3 event) reports. Keys arrive URL-encoded
 * with `+` for a space, as in S3 event notifications.
 */
export function objectChange(messageId: string, body: string): ObjectChange {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidationError("message body is not JSON", { cause: error });
  }
  const parsed = s3Event.safeParse(json);
  if (!parsed.success) {
    throw new InvalidationError(
      `message is not an S3 ${INVALIDATING_EVENT_TYPES.join("/")} event: ${z.prettifyError(parsed.error)}`,
    );
  }
  const { detail } = parsed.data;
  let key: string;
  try {
    key = decodeURIComponent(detail.object.key.replace(/\+/g, " "));
  } catch (error) {
    throw new InvalidationError(`object key is not valid URL encoding: ${detail.object.key}`, { cause: error });
  }
  return {
    messageId,
    type: parsed.data["detail-type"],
    bucket: detail.bucket.name,
    key,
    versionId: detail.object["version-id"],
  };
}

/** CloudFront's limit on CallerReference length. */
const MAX_CALLER_REFERENCE_LENGTH = 128;

/**
 * The CallerReference of a batch: a hash of its sorted message ids. A redelivered batch gets the
 * same reference, and CloudFront answers with the invalidation it already created instead of a
 * second one; a later change of the same keys comes in new messages, so it is never mistaken for
 * a duplicate.
 */
export function callerReference(messageIds: readonly string[]): string {
  const hash = createHash("sha256");
  for (const id of [...messageIds].sort()) hash.update(id).update("\n");
  return `s3-edge-${hash.digest("hex")}`.slice(0, MAX_CALLER_REFERENCE_LENGTH);
}

/** Errors after which the same request may succeed later. */
const RETRYABLE = new Set(["TooManyInvalidationsInProgress", "Throttling", "ThrottlingException"]);

export const DEFAULT_MAX_ATTEMPTS = 6;
export const DEFAULT_BASE_DELAY_MS = 1_000;
export const DEFAULT_MAX_DELAY_MS = 20_000;

export interface RetryOptions {
  /** @default DEFAULT_MAX_ATTEMPTS */
  readonly maxAttempts?: number;
  /** @default DEFAULT_BASE_DELAY_MS */
  readonly baseDelayMs?: number;
  /** @default DEFAULT_MAX_DELAY_MS */
  readonly maxDelayMs?: number;
}

export interface InvalidateDependencies {
  readonly client: CloudFrontClient;
  readonly distributionId: string;
  readonly plan?: PlanOptions;
  readonly retry?: RetryOptions;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds the invocation has left; retries stop when the next wait would not fit. */
  readonly remainingTimeMs?: () => number;
  /** @default Math.random (full jitter) */
  readonly random?: () => number;
}

/** What an invalidation needs of a change. */
export type ChangedKey = Pick<ObjectChange, "messageId" | "key">;

export interface InvalidationResult {
  readonly invalidationId: string;
  readonly callerReference: string;
  readonly paths: readonly string[];
  readonly attempts: number;
}

/** Time kept back at the end of an invocation for reporting the outcome. */
const REMAINING_TIME_MARGIN_MS = 5_000;

/**
 * Plans and submits one invalidation for a batch of changed keys, retrying with exponential
 * backoff and full jitter while CloudFront answers TooManyInvalidationsInProgress or throttles.
 */
export async function invalidateChanges(
  changes: readonly ChangedKey[],
  deps: InvalidateDependencies,
): Promise<InvalidationResult> {
  const paths = planInvalidation(
    changes.map((change) => change.key),
    deps.plan,
  );
  const reference = callerReference(changes.map((change) => change.messageId));
  const command = new CreateInvalidationCommand({
    DistributionId: deps.distributionId,
    InvalidationBatch: { CallerReference: reference, Paths: { Quantity: paths.length, Items: paths } },
  });
  let attempts = 0;
  try {
    const output = await withBackoff(
      (attempt) => {
        attempts = attempt;
        return deps.client.send(command);
      },
      {
        attempts: deps.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        baseDelayMs: deps.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
        maxDelayMs: deps.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        retryable: (error) => RETRYABLE.has((error as { name?: string }).name ?? ""),
        remainingTimeMs: deps.remainingTimeMs,
        reserveMs: REMAINING_TIME_MARGIN_MS,
        sleep: deps.sleep,
        random: deps.random,
      },
    );
    const invalidationId = output.Invalidation?.Id;
    if (!invalidationId) throw new InvalidationError("CloudFront returned no invalidation id");
    return { invalidationId, callerReference: reference, paths, attempts };
  } catch (error) {
    if (error instanceof InvalidationError) throw error;
    const name = (error as { name?: string }).name ?? "";
    throw new InvalidationError(`CreateInvalidation failed after ${attempts} attempt(s): ${name}`, { cause: error });
  }
}

export interface InvalidateSettings {
  readonly distributionId: string;
  readonly plan: PlanOptions;
  /** Set while a legacy origin is configured: the bucket whose migration writes are skipped. */
  readonly migrationBucket?: string;
}

/** The function's settings, from its environment (set by the AutomaticInvalidation construct). */
export function settingsFrom(env: Readonly<Record<string, string | undefined>>): InvalidateSettings {
  const values = readEnvironment(ENVIRONMENT, ENVIRONMENT_FIELDS, env, (message) => new InvalidationError(message));
  return {
    distributionId: values.distributionId,
    plan: { exactPathLimit: values.exactPathLimit, queryStringVariants: values.queryStringVariants },
    migrationBucket: values.migrationBucket,
  };
}
