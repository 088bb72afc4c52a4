import { z } from "zod";
import { ImageError } from "../../functions/image/errors";
import { parseActions } from "../../functions/image/parser";
import { FARGATE_TASK_SIZES, LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB } from "../aws-facts";
import { DEFAULT_ENCODER_SETTINGS } from "../../functions/image/encoders";
import {
  ENCODER_ENVIRONMENT,
  ENCODER_RANGES,
  IMAGE_ORIGIN_READ_TIMEOUT_SECONDS,
} from "../../functions/image/environment";
import { DEFAULT_DEADLINE_MS } from "../../functions/image/limits";
import { type FieldDocs, enabled, hostname, kmsKeyArn, region, s3BucketName } from "../primitives";
import { DEFAULT_IMAGE_LAMBDA_MEMORY_MB, DEFAULT_IMAGE_RESERVED_CONCURRENCY } from "../../constructs/defaults";

export const DEFAULT_IMAGE_TASK_CPU = 1024;
export const DEFAULT_IMAGE_TASK_MEMORY_MB = 2048;
export const DEFAULT_IMAGE_DESIRED_COUNT = 2;
export const DEFAULT_IMAGE_MIN_COUNT = 1;
export const DEFAULT_IMAGE_MAX_COUNT = 10;
export const DEFAULT_IMAGE_TARGET_CPU_PERCENT = 60;
/** The original construct served at most three buckets beside the primary. */
export const MAX_EXTRA_SOURCE_BUCKETS = 3;
/** Style names as OSS accepts them. */
export const STYLE_NAME_PATTERN = /^[\w.-]{1,63}$/;

const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-...)");

/**
 * An existing VPC with an internet gateway attached (CloudFront requires one in a VPC origin's VPC,
 * though the traffic does not pass through it).
 */
const existingVpc = z.strictObject({
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id (vpc-...)")
    .meta({ description: "the VPC; it needs an internet gateway (a VPC origin requirement)" }),
  privateSubnetIds: z
    .array(subnetId)
    .min(2, "the internal load balancer needs private subnets in at least two availability zones")
    .meta({
      description:
        "subnets of the internal load balancer (CloudFront's VPC origin places its network interfaces there) and of the tasks, in at least two availability zones; the tasks need a route to ECR, CloudWatch Logs, S3 and DynamoDB (NAT or VPC endpoints)",
    }),
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
    cpu: z
      .int()
      .default(DEFAULT_IMAGE_TASK_CPU)
      .meta({ description: "CPU units of a task (1024 = 1 vCPU); a Fargate task size with `memory`" }),
    memory: z
      .int()
      .default(DEFAULT_IMAGE_TASK_MEMORY_MB)
      .meta({ description: "memory of a task in MiB; must suit `cpu` (Fargate's CPU/memory combinations)" }),
    desiredCount: z
      .int()
      .min(0)
      .max(1000)
      .default(DEFAULT_IMAGE_DESIRED_COUNT)
      .meta({ description: "tasks at deploy; minCount ≤ desiredCount ≤ maxCount" }),
    minCount: z
      .int()
      .min(0)
      .max(1000)
      .default(DEFAULT_IMAGE_MIN_COUNT)
      .meta({ description: "autoscaling's lower bound" }),
    maxCount: z
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULT_IMAGE_MAX_COUNT)
      .meta({ description: "autoscaling's upper bound" }),
    targetCpuPercent: z
      .int()
      .min(10)
      .max(90)
      .default(DEFAULT_IMAGE_TARGET_CPU_PERCENT)
      .meta({ description: "average CPU the target tracking keeps the service at" }),
    imageUri: z
      .string()
      .regex(/^[a-z0-9][\w.:/@-]*$/i, "must be a container image reference (registry/repository:tag or @digest)")
      .optional()
      .meta({
        description: "a container image you push yourself instead of `npm run image:push`",
        typeLabel: "image reference",
        defaultLabel: "the stack's ECR repository at the engine's source-hash tag",
      } satisfies FieldDocs),
    vpc: existingVpc.optional().meta({
      description: "an existing VPC for the internal ALB and the tasks (docs/image-private-origin.md)",
      defaultLabel:
        "a VPC created for the service (two private subnets for the ALB, two public ones for the tasks, no NAT gateway)",
    } satisfies FieldDocs),
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

const encoderSetting = (key: keyof typeof ENCODER_RANGES, description: string) =>
  z
    .int()
    .min(ENCODER_RANGES[key].min)
    .max(ENCODER_RANGES[key].max)
    .default(DEFAULT_ENCODER_SETTINGS[key])
    .meta({ description: `${description} (environment \`${ENCODER_ENVIRONMENT[key]}\`)` });

const encoding = z
  .strictObject({
    webpQuality: encoderSetting("webpQuality", "WebP quality"),
    webpEffort: encoderSetting("webpEffort", "WebP encoder effort"),
    avifQuality: encoderSetting("avifQuality", "AVIF quality"),
    avifEffort: encoderSetting("avifEffort", "AVIF encoder effort"),
  })
  .meta({
    description:
      "WebP and AVIF output when a request sets no quality (a `quality` action overrides the quality; docs/image-processing.md#encoder-settings)",
  });

/** An existing bucket (not managed by s3-edge) that gets its own image distribution. */
const extraSourceBucket = z.strictObject({
  name: s3BucketName.meta({ description: "the existing bucket" }),
  region: region.optional().meta({
    description: "the bucket's region: the engine gets a client of that region",
    defaultLabel: "`primaryRegion`",
  } satisfies FieldDocs),
  kmsKeyArn: kmsKeyArn
    .optional()
    .meta({ description: "the bucket's KMS key when it uses SSE-KMS: the engine needs `kms:Decrypt` on it" }),
  hostname: hostname.optional().meta({
    description: "alias of the bucket's distribution",
    defaultLabel: "`img-<n>.<zoneName>` when a domain is configured",
  } satisfies FieldDocs),
});

export const imageSection = z
  .strictObject({
    enabled: enabled.meta({ description: "the `image` stack" }),
    variant: z
      .enum(["lambda", "ecs", "both"])
      .default("lambda")
      .meta({ description: "`both`: ECS serves the distributions, the Lambda function stands by" }),
    lambda: z
      .strictObject({
        memoryMb: z
          .int()
          .min(LAMBDA_MIN_MEMORY_MB)
          .max(LAMBDA_MAX_MEMORY_MB)
          .default(DEFAULT_IMAGE_LAMBDA_MEMORY_MB)
          .meta({ description: "the engine function's memory (CPU grows with it)" }),
        reservedConcurrency: z.int().min(1).max(10_000).nullable().default(DEFAULT_IMAGE_RESERVED_CONCURRENCY).meta({
          description:
            "concurrent executions reserved for, and the most allowed to, the function: a flood of image requests cannot starve the region's other functions; `null`: unreserved",
        }),
      })
      .prefault({})
      .meta({ description: "the Lambda variant" }),
    ecs: ecs
      .prefault({})
      .meta({ description: "the ECS Fargate variant behind an internal ALB (docs/image-private-origin.md)" }),
    autoFormat: z.boolean().default(true).meta({
      description:
        "answer AVIF or WebP, by the viewer's `Accept`, when a request names no `format` (the cache key includes the normalized Accept class)",
    }),
    encoding: encoding.prefault({}),
    deadlineSeconds: z
      .int()
      .min(1)
      .max(
        IMAGE_ORIGIN_READ_TIMEOUT_SECONDS - 1,
        `must be below CloudFront's origin read timeout of the image distributions (${IMAGE_ORIGIN_READ_TIMEOUT_SECONDS} s)`,
      )
      .default(DEFAULT_DEADLINE_MS / 1000)
      .meta({
        description:
          "a request's work is abandoned after this many seconds (503) and its slot freed, below CloudFront's 30 s origin read timeout",
      }),
    extraSourceBuckets: z
      .array(extraSourceBucket)
      .max(MAX_EXTRA_SOURCE_BUCKETS, `at most ${MAX_EXTRA_SOURCE_BUCKETS} buckets beside the primary`)
      .default([])
      .meta({ description: "existing buckets (not managed by s3-edge), each with its own image distribution" }),
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
      .default({})
      .meta({
        description:
          "styles written into the style table at deploy, each parsed with the engine's own parser: a style the engine would refuse fails synth, named (docs/image-processing.md#styles)",
        typeLabel: "map of style name (`^[\\w.-]{1,63}$`) → `image/...` action string",
      } satisfies FieldDocs),
  })
  .meta({ description: "on-the-fly `x-oss-process` image processing (stack `image`; docs/image-processing.md)" });
