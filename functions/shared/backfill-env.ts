import { z } from "zod";
import { DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE } from "./copy/engine";
import { DEFAULT_SOURCE_ENDPOINT, GCS_SIGNING_REGION } from "./gcs";
import { SOURCE_ADDRESSINGS, SOURCE_APIS } from "./legacy-source";

/** Objects above this size are copied by several workers in parallel (when the source has a CRC32C). */
export const DEFAULT_FAN_OUT_THRESHOLD = 1024 ** 3;
/** A job that has not moved for this long is re-driven (the worker's timeout is 300 s). */
export const DEFAULT_STALL_SECONDS = 15 * 60;

const positive = z.coerce.number().int().positive();

/** What the sweeper needs (set by the storage-replication stack). */
export const sweeperEnvSchema = z.object({
  DESTINATION_BUCKET: z.string().min(1),
  JOBS_TABLE: z.string().min(3),
  QUEUE_URL: z.url(),
  STALL_SECONDS: positive.default(DEFAULT_STALL_SECONDS),
});

/** What the worker needs; the size thresholds are optional overrides. */
export const workerEnvSchema = sweeperEnvSchema.extend({
  /** `s3`: an S3 API (GCS, S3-compatible stores); `http`: a public HTTP(S) origin. */
  SOURCE_API: z.enum(SOURCE_APIS).default("s3"),
  /** The S3 API endpoint, or the HTTP origin's base URL (path prefix included). */
  SOURCE_ENDPOINT: z.url().default(DEFAULT_SOURCE_ENDPOINT),
  /** The bucket (S3 APIs only). */
  SOURCE_BUCKET: z.string().min(1).optional(),
  /** SigV4 signing region (S3 APIs only). */
  SOURCE_REGION: z.string().min(1).default(GCS_SIGNING_REGION),
  SOURCE_ADDRESSING: z.enum(SOURCE_ADDRESSINGS).default("path"),
  /** The secret with the store's key (`{"accessKeyId","secretAccessKey"}`); absent for anonymous reads. */
  SOURCE_CREDENTIALS_SECRET_ID: z.string().min(1).optional(),
  /** Where that secret lives. @default the function's region */
  SOURCE_CREDENTIALS_SECRET_REGION: z.string().min(1).optional(),
  MULTIPART_THRESHOLD_BYTES: positive.default(DEFAULT_MULTIPART_THRESHOLD),
  PART_SIZE_BYTES: positive.default(DEFAULT_PART_SIZE),
  FAN_OUT_THRESHOLD_BYTES: positive.default(DEFAULT_FAN_OUT_THRESHOLD),
  /** Set by Lambda: the function's memory (MB), of which the copies' buffers may take half. */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: positive.default(1024),
  /** Overrides the buffer budget (bytes); tests scale it down with the part size. */
  BUFFER_BUDGET_BYTES: positive.optional(),
});

/** Object bytes a worker invocation may hold: half the function's memory (the rest is Node, the SDK, sockets). */
export function bufferBudgetFor(functionMemoryMb: number): number {
  return Math.floor((functionMemoryMb * 1024 ** 2) / 2);
}

/** Parses a function's environment, naming every bad or missing variable. */
export function readEnv<Schema extends z.ZodType>(schema: Schema, env: NodeJS.ProcessEnv): z.infer<Schema> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid environment: ${problems}`);
  }
  return parsed.data;
}
