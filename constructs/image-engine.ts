import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../config/paths";
import { DEFAULT_ENCODER_SETTINGS, encoderEnvironment, type EncoderSettings } from "../functions/image/encoders";
import { DEFAULT_IMAGE_DEADLINE_SECONDS } from "../config/sections/image";
import { ENVIRONMENT, formatBucketRegions } from "../functions/image/environment";
import type { PolicyStatement } from "../aws/iam";
import type { Partition } from "../aws/partition";

/**
 * What the image engine (Lambda handler and ECS server in `functions/image/`) is told through its
 * environment. The distribution's image origin names the bucket of each request in this header.
 */
export const SOURCE_BUCKET_HEADER = "x-s3edge-source-bucket";
/** The engine's container port and the server's default `PORT`. */
export const ENGINE_PORT = 8080;
/** The server's health check path (ALB target group and container health check). */
export const ENGINE_HEALTH_PATH = "/ping";

/** A bucket the engine reads sources from. */
export interface ImageSourceBucket {
  readonly name: string;
  readonly arn: string;
  /** `<bucket>.s3.<region>.<dns suffix>`: the distribution's S3 origin. */
  readonly regionalDomainName: string;
  readonly region: string;
  /** The bucket's KMS key (SSE-KMS only): the engine needs kms:Decrypt on it. */
  readonly kmsKeyArn?: string;
  /**
   * Whether s3-edge manages the bucket's policy. For other buckets the stack prints the statement
   * the owner must add instead of writing their policy.
   */
  readonly owned: boolean;
  /** The alias of the bucket's distribution, when a domain is configured. */
  readonly hostname?: string;
}

/** What both engine variants are configured with. */
export interface EngineSettings {
  /** The buckets the engine may read, the default (primary) first. */
  readonly sourceBuckets: readonly ImageSourceBucket[];
  readonly styleTableName: string;
  /** Choose AVIF/WebP from `Accept` when a request names no format. */
  readonly autoFormat: boolean;
  /**
   * WebP/AVIF quality and effort when a request sets no quality.
   * @default DEFAULT_ENCODER_SETTINGS
   */
  readonly encoding?: EncoderSettings;
  /** Seconds after which a request's work is abandoned. @default DEFAULT_IMAGE_DEADLINE_SECONDS */
  readonly deadlineSeconds?: number;
}

/** The engine's environment (the contract with `functions/image/`). */
export function engineEnvironment(settings: EngineSettings) {
  const [primary] = settings.sourceBuckets;
  // The engine runs in the primary bucket's region; other buckets are read through their own region's client.
  const elsewhere = settings.sourceBuckets.filter((bucket) => bucket.region !== primary.region);
  return {
    [ENVIRONMENT.sourceBucket]: primary.name,
    [ENVIRONMENT.sourceBuckets]: settings.sourceBuckets.map((bucket) => bucket.name).join(","),
    ...(elsewhere.length > 0
      ? { [ENVIRONMENT.sourceBucketRegions]: formatBucketRegions(elsewhere.map((b) => [b.name, b.region] as const)) }
      : {}),
    [ENVIRONMENT.styleTable]: settings.styleTableName,
    [ENVIRONMENT.autoFormat]: String(settings.autoFormat),
    [ENVIRONMENT.deadlineMs]: String((settings.deadlineSeconds ?? DEFAULT_IMAGE_DEADLINE_SECONDS) * 1000),
    ...encoderEnvironment(settings.encoding ?? DEFAULT_ENCODER_SETTINGS),
  };
}

/** Least privilege for the engine: read objects of exactly these buckets and look styles up. */
export function engineReadStatements(
  partition: Partition,
  buckets: readonly ImageSourceBucket[],
  styleTableArn: string,
): PolicyStatement[] {
  const encrypted = buckets.filter((bucket) => bucket.kmsKeyArn !== undefined);
  return [
    { Sid: "ReadSourceObjects", Effect: "Allow", Action: "s3:GetObject", Resource: buckets.map((b) => `${b.arn}/*`) },
    { Sid: "ReadStyles", Effect: "Allow", Action: "dynamodb:GetItem", Resource: styleTableArn },
    ...(encrypted.length > 0
      ? [
          {
            Sid: "DecryptSourceObjects",
            Effect: "Allow" as const,
            Action: "kms:Decrypt",
            Resource: encrypted.map((b) => b.kmsKeyArn!),
            // Only for S3 reads, not for anything else the key protects.
            Condition: {
              StringEquals: {
                "kms:ViaService": [...new Set(encrypted.map((b) => partition.serviceDomain("s3", b.region)))],
              },
            },
          },
        ]
      : []),
  ];
}

/** The folders and files whose content makes up the engine's container image. */
export const ENGINE_SOURCES = [
  "functions/image",
  "functions/shared",
  "package.json",
  "package-lock.json",
  // The font installer the container build runs (functions/image/Dockerfile).
  "config/paths.ts",
  "packaging/font-package.ts",
  "packaging/sharp-package.ts",
] as const;

/**
 * The container image tag of the engine: a hash of its sources (every file under `ENGINE_SOURCES`,
 * with its path), so that the same code gives the same tag on every machine and a change gives a
 * new one. `npm run image:push` pushes this tag; the task definition pulls it.
 */
export function engineImageTag(root: string = PROJECT_ROOT): string {
  const hash = createHash("sha256");
  const files: string[] = [];
  const walk = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name === "node_modules") continue;
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(relative(root, child).split("\\").join("/"));
    }
  };
  for (const source of ENGINE_SOURCES) {
    const path = join(root, source);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) walk(path);
    else files.push(source);
  }
  for (const file of files.sort()) {
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(root, file)))
      .update("\0");
  }
  return `engine-${hash.digest("hex").slice(0, 16)}`;
}
