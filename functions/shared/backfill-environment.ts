/**
 * The backfill functions' contract with their construct (constructs/backfill-pipeline.ts): the
 * environment variables it sets on the worker and the sweeper, and how each handler reads them.
 */
import * as z from "zod/mini";
import { variable } from "./environment";
import { DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE } from "./copy/engine";
import { DEFAULT_SOURCE_ENDPOINT, GCS_SIGNING_REGION } from "./gcs";
import { SOURCE_ADDRESSINGS, SOURCE_APIS } from "./legacy-source";

/** Objects above this size are copied by several workers in parallel (when the source has a CRC32C). */
export const DEFAULT_FAN_OUT_THRESHOLD = 1024 ** 3;
/** A job that has not moved for this long is re-driven (the worker's timeout is 300 s). */
export const DEFAULT_STALL_SECONDS = 15 * 60;

/** What the sweeper reads (the worker reads these too). */
export const SWEEPER_ENVIRONMENT = {
  destinationBucket: "DESTINATION_BUCKET",
  jobsTable: "JOBS_TABLE",
  queueUrl: "QUEUE_URL",
  stallSeconds: "STALL_SECONDS",
} as const;

export const SWEEPER_ENVIRONMENT_FIELDS = {
  destinationBucket: variable.text(),
  jobsTable: variable.text({ minLength: 3, message: "must be a DynamoDB table name (3 characters or more)" }),
  queueUrl: variable.url(),
  stallSeconds: z._default(variable.integer({ min: 1 }), DEFAULT_STALL_SECONDS),
};

/** What the worker reads; the size thresholds are optional overrides. */
export const WORKER_ENVIRONMENT = {
  ...SWEEPER_ENVIRONMENT,
  /** `s3`: an S3 API (GCS, S3-compatible stores); `http`: a public HTTP(S) origin. */
  sourceApi: "SOURCE_API",
  /** The S3 API endpoint, or the HTTP origin's base URL (path prefix included). */
  sourceEndpoint: "SOURCE_ENDPOINT",
  /** The bucket (S3 APIs only). */
  sourceBucket: "SOURCE_BUCKET",
  /** SigV4 signing region (S3 APIs only). */
  sourceRegion: "SOURCE_REGION",
  sourceAddressing: "SOURCE_ADDRESSING",
  /** The secret with the store's key (`{"accessKeyId","secretAccessKey"}`); absent for anonymous reads. */
  sourceCredentialsSecretId: "SOURCE_CREDENTIALS_SECRET_ID",
  /** Where that secret lives. @default the function's region */
  sourceCredentialsSecretRegion: "SOURCE_CREDENTIALS_SECRET_REGION",
  multipartThresholdBytes: "MULTIPART_THRESHOLD_BYTES",
  partSizeBytes: "PART_SIZE_BYTES",
  fanOutThresholdBytes: "FAN_OUT_THRESHOLD_BYTES",
  /** Set by Lambda: the function's memory (MB), of which the copies' buffers may take half. */
  functionMemoryMb: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  /** Overrides the buffer budget (bytes); tests scale it down with the part size. */
  bufferBudgetBytes: "BUFFER_BUDGET_BYTES",
} as const;

export const WORKER_ENVIRONMENT_FIELDS = {
  ...SWEEPER_ENVIRONMENT_FIELDS,
  sourceApi: z._default(variable.oneOf(SOURCE_APIS), "s3"),
  sourceEndpoint: z._default(variable.url(), DEFAULT_SOURCE_ENDPOINT),
  sourceBucket: z.optional(variable.text()),
  sourceRegion: z._default(variable.text(), GCS_SIGNING_REGION),
  sourceAddressing: z._default(variable.oneOf(SOURCE_ADDRESSINGS), "path"),
  sourceCredentialsSecretId: z.optional(variable.text()),
  sourceCredentialsSecretRegion: z.optional(variable.text()),
  multipartThresholdBytes: z._default(variable.integer({ min: 1 }), DEFAULT_MULTIPART_THRESHOLD),
  partSizeBytes: z._default(variable.integer({ min: 1 }), DEFAULT_PART_SIZE),
  fanOutThresholdBytes: z._default(variable.integer({ min: 1 }), DEFAULT_FAN_OUT_THRESHOLD),
  functionMemoryMb: z._default(variable.integer({ min: 1 }), 1024),
  bufferBudgetBytes: z.optional(variable.integer({ min: 1 })),
};

/** Object bytes a worker invocation may hold: half the function's memory (the rest is Node, the SDK, sockets). */
export function bufferBudgetFor(functionMemoryMb: number): number {
  return Math.floor((functionMemoryMb * 1024 ** 2) / 2);
}
