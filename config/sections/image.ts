import { z } from "zod";
import { ImageError } from "../../functions/image/errors";
import { parseActions } from "../../functions/image/parser";
import { FARGATE_TASK_SIZES, LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB } from "../aws-facts";
import { DEFAULT_ENCODER_SETTINGS } from "../../functions/image/encoders";
import { ENCODER_RANGES, IMAGE_ORIGIN_READ_TIMEOUT_SECONDS } from "../../functions/image/environment";
import { DEFAULT_DEADLINE_MS } from "../../functions/image/limits";
import { enabled, hostname, kmsKeyArn, region, s3BucketName } from "../primitives";

export const DEFAULT_IMAGE_LAMBDA_MEMORY_MB = 1536;
export const DEFAULT_IMAGE_TASK_CPU = 1024;
export const DEFAULT_IMAGE_TASK_MEMORY_MB = 2048;
export const DEFAULT_IMAGE_DESIRED_COUNT = 2;
export const DEFAULT_IMAGE_MIN_COUNT = 1;
export const DEFAULT_IMAGE_MAX_COUNT = 10;
export const DEFAULT_IMAGE_TARGET_CPU_PERCENT = 60;
/** The original construct served at most three buckets beside the primary. */
export const MAX_EXTRA_SOURCE_BUCKETS = 3;
/**
 * The image function's reserved concurrency: it may not take more of the region's concurrency
 * (1,000 by default), so a flood of image requests cannot starve backfill, invalidation and
 * counters; and it always has that much.
 */
export const DEFAULT_IMAGE_RESERVED_CONCURRENCY = 100;
/** Style names as OSS accepts them. */
export const STYLE_NAME_PATTERN = /^[\w.-]{1,63}$/;

const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-...)");

/**
 * An existing VPC with an internet gateway attached (CloudFront requires one in a VPC origin's VPC,
 * though the traffic does not pass through it).
 */
const existingVpc = z.strictObject({
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id (vpc-...)"),
  /**
   * Subnets of the internal load balancer (CloudFront's VPC origin places its network interfaces
   * there) and of the tasks, in at least two availability zones. The tasks need a route to ECR,
   * CloudWatch Logs, S3 and DynamoDB (NAT or VPC endpoints).
   */
  privateSubnetIds: z
    .array(subnetId)
    .min(2, "the internal load balancer needs private subnets in at least two availability zones"),
  /** Earlier versions put an internet-facing load balancer here: named to explain the move. */
  publicSubnetIds: z
    .never({
      error:
        "no longer used: the load balancer is internal and lives in privateSubnetIds (see docs/image-private-origin.md)",
    })
    .optional(),
});

const ecs = z
  .strictObject({
    /** CPU units of a task (1024 = 1 vCPU). */
    cpu: z.int().default(DEFAULT_IMAGE_TASK_CPU),
    /** Memory of a task in MiB; must suit `cpu` (Fargate's task sizes). */
    memory: z.int().default(DEFAULT_IMAGE_TASK_MEMORY_MB),
    desiredCount: z.int().min(0).max(1000).default(DEFAULT_IMAGE_DESIRED_COUNT),
    minCount: z.int().min(0).max(1000).default(DEFAULT_IMAGE_MIN_COUNT),
    maxCount: z.int().min(1).max(1000).default(DEFAULT_IMAGE_MAX_COUNT),
    /** Average CPU the autoscaling keeps the service at. */
    targetCpuPercent: z.int().min(10).max(90).default(DEFAULT_IMAGE_TARGET_CPU_PERCENT),
    /** @default the stack's ECR repository at the tag `npm run image:push` pushes (the engine's source hash) */
    imageUri: z
      .string()
      .regex(/^[a-z0-9][\w.:/@-]*$/i, "must be a container image reference (registry/repository:tag or @digest)")
      .optional(),
    /** @default a VPC created for the service (two private subnets for the ALB, two public ones for the tasks, no NAT gateway) */
    vpc: existingVpc.optional(),
  })
  .superRefine((ecs, ctx) => {
    const memories = FARGATE_TASK_SIZES[ecs.cpu];
    if (!memories) {
      ctx.addIssue({
        code: "custom",
        path: ["cpu"],
        message: `${ecs.cpu} is not a Fargate CPU value; choose one of ${Object.keys(FARGATE_TASK_SIZES).join(", ")}`,
      });
    } else if (!memories.includes(ecs.memory)) {
      ctx.addIssue({
        code: "custom",
        path: ["memory"],
        message: `${ecs.memory} MiB does not go with ${ecs.cpu} CPU units on Fargate; choose one of ${memories.join(", ")}`,
      });
    }
    if (ecs.minCount > ecs.maxCount) {
      ctx.addIssue({ code: "custom", path: ["minCount"], message: `must not exceed maxCount (${ecs.maxCount})` });
    }
    if (ecs.desiredCount < ecs.minCount || ecs.desiredCount > ecs.maxCount) {
      ctx.addIssue({
        code: "custom",
        path: ["desiredCount"],
        message: `must be between minCount (${ecs.minCount}) and maxCount (${ecs.maxCount})`,
      });
    }
  });

const encoderSetting = (key: keyof typeof ENCODER_RANGES) =>
  z.int().min(ENCODER_RANGES[key].min).max(ENCODER_RANGES[key].max).default(DEFAULT_ENCODER_SETTINGS[key]);

/** WebP and AVIF output when a request sets no quality (a `quality` action overrides the quality). */
const encoding = z.strictObject({
  webpQuality: encoderSetting("webpQuality"),
  webpEffort: encoderSetting("webpEffort"),
  avifQuality: encoderSetting("avifQuality"),
  avifEffort: encoderSetting("avifEffort"),
});

/** An existing bucket (not managed by s3-edge) that gets its own image distribution. */
const extraSourceBucket = z.strictObject({
  name: s3BucketName,
  /** @default primaryRegion */
  region: region.optional(),
  /** The bucket's KMS key when it uses SSE-KMS: the engine needs kms:Decrypt on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  /** Alias of the bucket's distribution. @default `img-<n>.<zoneName>` when a domain is configured */
  hostname: hostname.optional(),
});

/** On-the-fly image processing (stack `image`). */
export const imageSection = z.strictObject({
  enabled,
  /** `both`: ECS serves the distributions, the Lambda function stands by. */
  variant: z.enum(["lambda", "ecs", "both"]).default("lambda"),
  lambda: z
    .strictObject({
      memoryMb: z.int().min(LAMBDA_MIN_MEMORY_MB).max(LAMBDA_MAX_MEMORY_MB).default(DEFAULT_IMAGE_LAMBDA_MEMORY_MB),
      /** Concurrent executions reserved for (and the most allowed to) the function; null: unreserved. */
      reservedConcurrency: z.int().min(1).max(10_000).nullable().default(DEFAULT_IMAGE_RESERVED_CONCURRENCY),
    })
    .prefault({}),
  ecs: ecs.prefault({}),
  /**
   * Answer AVIF or WebP, by the viewer's `Accept`, when a request names no `format` (the
   * distribution's cache key includes the normalized Accept class).
   */
  autoFormat: z.boolean().default(true),
  encoding: encoding.prefault({}),
  /** Seconds after which a request's work is abandoned and its slot freed (both variants). */
  deadlineSeconds: z
    .int()
    .min(1)
    .max(
      IMAGE_ORIGIN_READ_TIMEOUT_SECONDS - 1,
      `must be below CloudFront's origin read timeout of the image distributions (${IMAGE_ORIGIN_READ_TIMEOUT_SECONDS} s)`,
    )
    .default(DEFAULT_DEADLINE_MS / 1000),
  extraSourceBuckets: z
    .array(extraSourceBucket)
    .max(MAX_EXTRA_SOURCE_BUCKETS, `at most ${MAX_EXTRA_SOURCE_BUCKETS} buckets beside the primary`)
    .default([]),
  /**
   * Styles written into the style table at deploy (name → `image/...` action string), each parsed
   * with the engine's own parser: a style the engine would refuse fails synth.
   */
  styles: z
    .record(
      z.string().regex(STYLE_NAME_PATTERN, "style names are 1 to 63 letters, digits, underscores, dots or hyphens"),
      z
        .string()
        .regex(/^image\/\S+$/, 'must be an action string such as "image/resize,w_100"')
        .superRefine((value, ctx) => {
          try {
            parseActions(value.slice("image/".length));
          } catch (error) {
            if (!(error instanceof ImageError)) throw error;
            ctx.addIssue({ code: "custom", message: `the image engine refuses it: ${error.message}` });
          }
        }),
    )
    .default({}),
});
