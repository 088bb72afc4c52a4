/**
 * What the constructs in this folder do when a prop is left out. Config reuses these as its own
 * defaults, so a construct used on its own and the app built from an empty config agree.
 * Constants only: this is the one file of constructs/ that config/ imports (the layering test).
 */

/** Noncurrent object versions expire this many days after they are replaced (constructs/secure-bucket.ts). */
export const DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 30;
/** Incomplete multipart uploads are aborted after this many days (constructs/secure-bucket.ts). */
export const DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS = 7;

/** Retention of every function's and API's CloudWatch log group. */
export const DEFAULT_LOG_RETENTION_DAYS = 30;
/** Runtime of every Node.js function, Lambda@Edge included (both accept it). */
export const DEFAULT_LAMBDA_RUNTIME = "nodejs22.x";
/** Architecture of the regional functions (Lambda@Edge runs x86_64 only). */
export const DEFAULT_LAMBDA_ARCHITECTURE = "arm64";

/**
 * Memory and timeout of the Lambda@Edge functions (constructs/edge-function.ts): origin-facing
 * triggers allow up to 10,240 MB, but 128 is plenty for one small AWS call each.
 */
export const DEFAULT_EDGE_MEMORY_MB = 128;
export const DEFAULT_EDGE_TIMEOUT_SECONDS = 5;

/** Memory of the image function on Lambda (constructs/image-lambda.ts): CPU comes in proportion. */
export const DEFAULT_IMAGE_LAMBDA_MEMORY_MB = 1536;
/**
 * The image function's reserved concurrency: it may not take more of the region's concurrency
 * (1,000 by default), so a flood of image requests cannot starve backfill, invalidation and
 * counters; and it always has that much.
 */
export const DEFAULT_IMAGE_RESERVED_CONCURRENCY = 100;

/** Seconds the invalidation queue gathers events before the function runs (SQS maximum: 300). */
export const DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS = 30;
/** Messages per invocation; Lambda also caps a batch at its 6 MB payload. */
export const DEFAULT_INVALIDATION_BATCH_SIZE = 1_000;

/** Messages the backfill worker takes from the queue at once (SQS event source mappings allow 10 without a batching window). */
export const DEFAULT_BACKFILL_BATCH_SIZE = 5;
/** Worker instances the queue may run at once (`scaling_config.maximum_concurrency`). */
export const DEFAULT_BACKFILL_MAX_CONCURRENCY = 20;
/** Worker memory: Lambda gives CPU and network in proportion, and copies stream in bounded parts. */
export const DEFAULT_BACKFILL_WORKER_MEMORY_MB = 1024;
