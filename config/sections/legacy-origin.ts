import { z } from "zod";
import { gcsBucketName } from "../primitives";

/** Messages the backfill worker takes from the queue at once (SQS event source mappings allow 10 without a batching window). */
export const DEFAULT_BACKFILL_BATCH_SIZE = 5;
/** Worker instances the queue may run at once (`scaling_config.maximum_concurrency`). */
export const DEFAULT_BACKFILL_MAX_CONCURRENCY = 20;
/** Worker memory: Lambda gives CPU and network in proportion, and copies stream in bounded parts. */
export const DEFAULT_BACKFILL_WORKER_MEMORY_MB = 1024;
/** Where a bucket that s3-edge creates lives (a GCS multi-region). */
export const DEFAULT_GCS_LOCATION = "US";

const backfill = z.strictObject({
  /** Copy jobs per worker invocation (1-10). */
  batchSize: z
    .int()
    .min(1)
    .max(10, "must be at most 10 (SQS batches above 10 need a batching window)")
    .default(DEFAULT_BACKFILL_BATCH_SIZE),
  /** Upper bound of concurrent workers, which bounds the load on GCS and S3 (2-1000, an SQS limit). */
  maxConcurrency: z
    .int()
    .min(2, "must be at least 2 (the smallest SQS maximum concurrency)")
    .max(1000, "must be at most 1000 (the largest SQS maximum concurrency)")
    .default(DEFAULT_BACKFILL_MAX_CONCURRENCY),
  /** Worker memory in MB (128-10240). */
  workerMemoryMb: z.int().min(128).max(10_240).default(DEFAULT_BACKFILL_WORKER_MEMORY_MB),
});

/** The legacy Google Cloud Storage origin (back-to-origin migration). */
export const legacyOriginSection = z.strictObject({
  /** The Google Cloud Storage bucket that is the origin of record. */
  bucket: gcsBucketName,
  /** `private`: requests to GCS are signed with an HMAC key of a read-only service account. */
  access: z.enum(["public", "private"]).default("public"),
  /** Create the bucket (for a demo) instead of using an existing one. */
  create: z.boolean().default(false),
  /** Google Cloud project of the bucket; required when s3-edge creates google resources (private or create). */
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id")
    .optional(),
  /** Location of a bucket that s3-edge creates (`US`, `EU`, `europe-west1`, ...). */
  location: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, "must be a GCS location such as US, EU or europe-west1")
    .default(DEFAULT_GCS_LOCATION),
  /** The queue and workers that copy objects from GCS into the primary bucket. */
  backfill: backfill.prefault({}),
});
