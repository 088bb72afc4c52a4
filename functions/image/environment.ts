/**
 * The image engine's environment: what the constructs (constructs/image-engine.ts) set and both
 * runtimes (service.ts, server.ts) read.
 */
export const ENVIRONMENT = {
  /** The bucket read when a request names none. */
  sourceBucket: "SOURCE_BUCKET",
  /** Comma-separated allow-list of buckets a request may name. */
  sourceBuckets: "SOURCE_BUCKETS",
  /** Comma-separated `bucket=region` of buckets outside the function's own region. */
  sourceBucketRegions: "SOURCE_BUCKET_REGIONS",
  styleTable: "STYLE_TABLE",
  autoFormat: "AUTO_FORMAT",
  styleDelimiters: "STYLE_DELIMITERS",
  maxSourceBytes: "MAX_SOURCE_BYTES",
  /** Milliseconds after which a request's work is abandoned (answered 503). */
  deadlineMs: "DEADLINE_MS",
} as const;

/**
 * glibc's malloc arenas in both runtimes (the Dockerfile sets the same). libvips' worker threads
 * otherwise each grow an arena of their own: in the image bench, 2 arenas cut the server's peak
 * RSS from 409–416 MB to 309 MB at the same throughput relative to bare sharp.
 */
export const MALLOC_ARENAS = { variable: "MALLOC_ARENA_MAX", value: "2" } as const;

/** The ECS variant's ALB idle timeout (constructs/image-ecs-service.ts); the server keeps idle connections longer. */
export const ALB_IDLE_TIMEOUT_SECONDS = 60;

/** `a=eu-west-1,b=us-west-2` → bucket → region. */
export function parseBucketRegions(value: string | undefined): Map<string, string> {
  const regions = new Map<string, string>();
  for (const item of (value ?? "").split(",")) {
    if (item.trim() === "") continue;
    const [bucket, region, ...rest] = item.split("=").map((part) => part.trim());
    if (!bucket || !region || rest.length > 0 || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      throw new Error(`${ENVIRONMENT.sourceBucketRegions} must be bucket=region pairs, got "${item}"`);
    regions.set(bucket, region);
  }
  return regions;
}

export const formatBucketRegions = (regions: Iterable<readonly [string, string]>) =>
  [...regions].map(([bucket, region]) => `${bucket}=${region}`).join(",");
