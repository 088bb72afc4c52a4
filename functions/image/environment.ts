/**
 * The image engine's contract with its constructs (constructs/image-engine-settings.ts, image-lambda.ts,
 * image-ecs-service.ts, image-distribution.ts): the environment they set and both runtimes read
 * (service.ts, server.ts), the header and query parameter the distributions forward, and the
 * container's port.
 */
import * as z from "zod/mini";
import { unlessEmpty, variable } from "../shared/environment";
import type { EncoderSettings } from "./encoders";

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

/** How both runtimes read each variable (functions/shared/environment.ts); empty counts as unset. */
export const ENVIRONMENT_FIELDS = {
  sourceBucket: z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => value?.trim() || undefined),
  ),
  sourceBuckets: variable.list(),
  sourceBucketRegions: z.pipe(
    variable.list(),
    z.transform((items: string[], context) => {
      const regions = new Map<string, string>();
      for (const item of items) {
        const [bucket, region, ...rest] = item.split("=").map((part) => part.trim());
        if (!bucket || !region || rest.length > 0 || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
          context.issues.push({ code: "custom", message: `must be bucket=region pairs, got "${item}"`, input: item });
          return regions;
        }
        regions.set(bucket, region);
      }
      return regions;
    }),
  ),
  styleTable: unlessEmpty(variable.text()),
  autoFormat: unlessEmpty(variable.flag()),
  styleDelimiters: variable.list(),
  maxSourceBytes: unlessEmpty(variable.integer({ min: 1 })),
  deadlineMs: unlessEmpty(variable.integer({ min: 1 })),
};

/** The WebP/AVIF encoder settings for requests that set no quality (encoders.ts). */
export const ENCODER_ENVIRONMENT = {
  webpQuality: "WEBP_QUALITY",
  webpEffort: "WEBP_EFFORT",
  avifQuality: "AVIF_QUALITY",
  avifEffort: "AVIF_EFFORT",
} as const satisfies Record<keyof EncoderSettings, string>;

/** Each encoder setting's allowed range (the config's too). */
export const ENCODER_RANGES = {
  webpQuality: { min: 1, max: 100 },
  webpEffort: { min: 0, max: 6 },
  avifQuality: { min: 1, max: 100 },
  avifEffort: { min: 0, max: 9 },
} as const satisfies Record<keyof EncoderSettings, { min: number; max: number }>;

export const ENCODER_ENVIRONMENT_FIELDS = {
  webpQuality: unlessEmpty(variable.integer(ENCODER_RANGES.webpQuality)),
  webpEffort: unlessEmpty(variable.integer(ENCODER_RANGES.webpEffort)),
  avifQuality: unlessEmpty(variable.integer(ENCODER_RANGES.avifQuality)),
  avifEffort: unlessEmpty(variable.integer(ENCODER_RANGES.avifEffort)),
};

/** The container variant's own variables (server.ts; the task definition sets `PORT`). */
export const SERVER_ENVIRONMENT = {
  port: "PORT",
  /** Images processed at once. @default libuv's threadpool size (4), at least the CPU count */
  maxConcurrency: "MAX_CONCURRENCY",
  /** Requests holding a source in memory at once. @default twice MAX_CONCURRENCY */
  maxSources: "MAX_SOURCES",
  /** Requests waiting for their turn to read before new ones get 503. */
  maxQueue: "MAX_QUEUE",
  keepAliveTimeoutMs: "KEEP_ALIVE_TIMEOUT_MS",
} as const;

/** `PORT=0` picks a free port; 0 gives MAX_CONCURRENCY and MAX_SOURCES their default. */
export const SERVER_ENVIRONMENT_FIELDS = {
  port: unlessEmpty(variable.integer({ min: 0 })),
  maxConcurrency: unlessEmpty(variable.integer({ min: 0 })),
  maxSources: unlessEmpty(variable.integer({ min: 0 })),
  maxQueue: unlessEmpty(variable.integer({ min: 0 })),
  keepAliveTimeoutMs: unlessEmpty(variable.integer({ min: 0 })),
};

/** The engine's container port and the server's default `PORT`. */
export const ENGINE_PORT = 8080;
/** The server's health check path (ALB target group and container health check). */
export const ENGINE_HEALTH_PATH = "/ping";

/** Header the distribution's image origin sets to name the bucket to read (must be on the allow-list). */
export const SOURCE_BUCKET_HEADER = "x-s3edge-source-bucket";
/** The query parameter with the OSS processing actions: the distributions' cache key holds only it. */
export const PROCESS_PARAMETER = "x-oss-process";

/**
 * How long CloudFront waits for the image origin's answer (the distributions' origin read timeout):
 * a request's deadline (DEFAULT_DEADLINE_MS, `image.deadlineSeconds`) must end before it, or the
 * work goes on for nobody.
 */
export const IMAGE_ORIGIN_READ_TIMEOUT_SECONDS = 30;

/**
 * glibc's malloc arenas in both runtimes (the Dockerfile sets the same). libvips' worker threads
 * otherwise each grow an arena of their own: in the image bench, 2 arenas cut the server's peak
 * RSS from 409–416 MB to 309 MB at the same throughput relative to bare sharp; with 4 images at
 * once (the server's default since), one arena kept the text watermark at 20 connections at
 * 242 MB against 267–277 MB with two, at no loss of throughput (docs/image-performance.md).
 */
export const MALLOC_ARENAS = { variable: "MALLOC_ARENA_MAX", value: "1" } as const;

/** Set in both runtimes: fontconfig reads this file only, so only the shipped fonts (fonts.ts) exist. */
export const FONTCONFIG_FILE_VARIABLE = "FONTCONFIG_FILE";

/** The ECS variant's ALB idle timeout (constructs/image-ecs-service.ts); the server keeps idle connections longer. */
export const ALB_IDLE_TIMEOUT_SECONDS = 60;

export const formatBucketRegions = (regions: Iterable<readonly [string, string]>) =>
  [...regions].map(([bucket, region]) => `${bucket}=${region}`).join(",");
