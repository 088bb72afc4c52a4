import { z } from "zod";
import { DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE } from "./copy/engine";
import { DEFAULT_SOURCE_ENDPOINT } from "./gcs";

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
  SOURCE_BUCKET: z.string().min(1),
  SOURCE_ENDPOINT: z.url().default(DEFAULT_SOURCE_ENDPOINT),
  /** Absent for a public GCS bucket (anonymous reads). */
  SOURCE_CREDENTIALS_SECRET_ID: z.string().min(1).optional(),
  MULTIPART_THRESHOLD_BYTES: positive.default(DEFAULT_MULTIPART_THRESHOLD),
  PART_SIZE_BYTES: positive.default(DEFAULT_PART_SIZE),
  FAN_OUT_THRESHOLD_BYTES: positive.default(DEFAULT_FAN_OUT_THRESHOLD),
});

/** Parses a function's environment, naming every bad or missing variable. */
export function readEnv<Schema extends z.ZodType>(schema: Schema, env: NodeJS.ProcessEnv): z.infer<Schema> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid environment: ${problems}`);
  }
  return parsed.data;
}
