/**
 * The figures every s3-edge function publishes, as CloudWatch embedded metric format (EMF) lines
 * printed by Powertools Metrics: CloudWatch Logs turns them into metrics, no PutMetricData call and
 * no IAM permission needed. Lambda's log groups extract EMF, and so does the ECS image server's
 * awslogs log group (CloudWatch Logs extracts EMF from any log event in that format).
 *
 * One namespace for the app; one dimension, `service`, whose value is the deployed function's name
 * (or the ECS service's): unique per deployment and per function, and never a key or a URL. The
 * dashboard (constructs/operations-dashboard.ts) and the alarms name metrics from this catalogue.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export { MetricUnit };

export const METRICS_NAMESPACE = "s3-edge";
/** The only dimension of every figure: the deployed function or ECS service name. */
export const SERVICE_DIMENSION = "service";
/** Dimension of the `...ByReason` breakdowns, whose values come from a closed list. */
export const REASON_DIMENSION = "reason";

/** `functions/backfill-worker`. */
export const BACKFILL_METRICS = {
  /** Objects copied into the bucket (count). */
  copied: "ObjectsCopied",
  /** Bytes of the objects copied (bytes). */
  bytesCopied: "BytesCopied",
  /** Objects already in the bucket with the same size and source ETag (count). */
  skipped: "ObjectsSkipped",
  /** Large objects split into part jobs (count). */
  fannedOut: "CopiesFannedOut",
  /** Parts of fanned-out copies written (count). */
  partsCopied: "PartsCopied",
  /** Jobs recorded as failed for good (count). */
  failed: "CopyFailures",
  /** The same, with the `reason` dimension (a copy error reason). */
  failedByReason: "CopyFailuresByReason",
  /** Jobs handed back to SQS to be retried (count). */
  retried: "CopyRetries",
  /** Seconds from the start of a single-worker copy to its completion. */
  copySeconds: "CopySeconds",
} as const;

/** `functions/invalidate`. */
export const INVALIDATION_METRICS = {
  /** Changed keys received (count). */
  keysSeen: "KeysSeen",
  /** Records that were not S3 change events (count). */
  unreadable: "UnreadableRecords",
  /** Keys left out because the change was a migration copy of bytes CloudFront already serves (count). */
  migrationWritesSkipped: "MigrationWritesSkipped",
  /** Invalidations created (count). */
  invalidations: "InvalidationsCreated",
  /** Paths in the invalidations created; CloudFront bills them past 1,000 a month (count). */
  paths: "PathsInvalidated",
  /** Of those, wildcard paths (count). */
  wildcards: "WildcardPaths",
  /** CreateInvalidation calls retried after throttling or TooManyInvalidationsInProgress (count). */
  retries: "InvalidationRetries",
  /** Batches whose invalidation failed after every retry (count). */
  failures: "InvalidationFailures",
} as const;

/** `functions/image`, both variants (Lambda and the ECS server). */
export const IMAGE_METRICS = {
  /** Image requests answered (count). */
  requests: "Requests",
  /** Answers by status class (count each). */
  status2xx: "Status2xx",
  status4xx: "Status4xx",
  status5xx: "Status5xx",
  /** Milliseconds from the request to the answer. */
  processingTime: "ProcessingTime",
  /** Bytes read from the source bucket (bytes). */
  sourceBytes: "SourceBytes",
  /** Bytes of the answers (bytes). */
  outputBytes: "OutputBytes",
  /** Requests turned away with a 503 because the server's queue was full (ECS only; count). */
  busy: "BusyRejections",
} as const;

/** `functions/object-stats`. */
export const OBJECT_STATS_METRICS = {
  /** S3 events counted (count). */
  eventsCounted: "EventsCounted",
  /** Redelivered events recognized and not counted again (count). */
  duplicatesIgnored: "DuplicatesIgnored",
  /** Events that were not S3 object events and were skipped (count). */
  malformedEvents: "MalformedEvents",
  /** `GET /count` requests answered (count). */
  apiRequests: "ApiRequests",
} as const;

/** Every figure the code emits, by function: what the dashboard test checks widgets against. */
export const METRIC_CATALOGUE = {
  "backfill-worker": BACKFILL_METRICS,
  invalidate: INVALIDATION_METRICS,
  image: IMAGE_METRICS,
  "object-stats": OBJECT_STATS_METRICS,
} as const;
export type MeteredFunction = keyof typeof METRIC_CATALOGUE;

/** Figures emitted with the `reason` dimension besides `service`. */
export const METRICS_WITH_REASON: readonly string[] = [BACKFILL_METRICS.failedByReason];

/**
 * The Metrics instance of a function, created once per container. The service dimension is the
 * Lambda function's name, or `POWERTOOLS_SERVICE_NAME` elsewhere (the ECS task sets it).
 */
export function createMetrics(env: Readonly<Record<string, string | undefined>> = process.env): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: env.AWS_LAMBDA_FUNCTION_NAME ?? env.POWERTOOLS_SERVICE_NAME,
  });
}

/** Prints the stored figures (one EMF line), if any: an invocation with nothing to report prints nothing. */
export function publishFigures(metrics: Metrics): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
