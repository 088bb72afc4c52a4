/**
 * AWS facts the config is validated against. Each list names its source so it can be checked and
 * extended when AWS adds to it.
 */

/**
 * Commercial AWS regions (partition `aws`). GovCloud uses another partition, which s3-edge does not
 * support; China is `AWS_CN_REGIONS`.
 * Source: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
 */
export const AWS_REGIONS = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
] as const;

/**
 * The AWS China regions (partition `aws-cn`): Beijing and Ningxia, operated by Sinnet and NWCD.
 * Source: https://docs.amazonaws.cn/en_us/aws/latest/userguide/services.html
 */
export const AWS_CN_REGIONS = ["cn-north-1", "cn-northwest-1"] as const;

/** Every region a deployment may use; all of one deployment's regions share a partition. */
export const SUPPORTED_REGIONS = [...AWS_REGIONS, ...AWS_CN_REGIONS] as const;
export type SupportedRegion = (typeof SUPPORTED_REGIONS)[number];

export type PartitionName = "aws" | "aws-cn";

/** The partition of a region: what its ARNs say (`arn:aws:` or `arn:aws-cn:`). */
export function partitionOfRegion(region: string): PartitionName {
  return (AWS_CN_REGIONS as readonly string[]).includes(region) ? "aws-cn" : "aws";
}

/**
 * Where each partition's CloudFront lives: its API, its CloudWatch metrics and (global partition)
 * Lambda@Edge and the vended access logs. CloudFront China is signed and served from Ningxia
 * (`cloudfront.cn-northwest-1.amazonaws.com.cn`, the SDKs' endpoint rules), where its metrics are
 * published. Source: docs/china.md.
 */
export const CLOUDFRONT_HOME_REGIONS = {
  aws: "us-east-1",
  "aws-cn": "cn-northwest-1",
} as const satisfies Readonly<Record<PartitionName, string>>;

/**
 * The one region of the global partition where CloudFront takes ACM certificates from, where
 * Lambda@Edge functions are created (CloudFront replicates them) and where CLOUDFRONT-scoped WAF web
 * ACLs live. Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
 * and https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-restrictions.html
 */
export const CLOUDFRONT_HOME_REGION = CLOUDFRONT_HOME_REGIONS.aws;

/**
 * The oldest security policy s3-edge lets viewers use with a custom certificate (ACM, or IAM in
 * China): TLS 1.2 with the 2021 ciphers.
 * Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
 */
export const CLOUDFRONT_MINIMUM_VIEWER_TLS = "TLSv1.2_2021";
/**
 * The one protocol s3-edge lets CloudFront speak to a custom origin over HTTPS (`OriginSslProtocols`;
 * the others CloudFront offers are SSLv3, TLSv1 and TLSv1.1).
 * Source: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginSslProtocols.html
 */
export const CLOUDFRONT_ORIGIN_TLS_PROTOCOL = "TLSv1.2";

/**
 * Regions in which CloudFront offers Origin Shield.
 * Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html
 * ("Choosing the AWS Region for Origin Shield").
 */
export const ORIGIN_SHIELD_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-2",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "eu-central-1",
  "eu-west-1",
  "eu-west-2",
  "sa-east-1",
] as const;

/**
 * Values CloudWatch Logs accepts for `retention_in_days`.
 * Source: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
 */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Lambda's memory range (MB) for a function. Source: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html */
export const LAMBDA_MIN_MEMORY_MB = 128;
export const LAMBDA_MAX_MEMORY_MB = 10_240;

/**
 * Lambda@Edge quotas per trigger: viewer events allow 128 MB and 5 s, origin events what Lambda
 * allows in memory and 30 s. Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-lambda-at-edge
 */
export const LAMBDA_EDGE_LIMITS = {
  viewer: { maxMemoryMb: 128, maxTimeoutSeconds: 5 },
  origin: { maxMemoryMb: LAMBDA_MAX_MEMORY_MB, maxTimeoutSeconds: 30 },
} as const;

/** Where Lambda unpacks a function's zip (`LAMBDA_TASK_ROOT`). */
export const LAMBDA_TASK_ROOT = "/var/task";
/** Lambda's limit on a deployment package, unzipped (code and layers). */
export const LAMBDA_UNZIPPED_PACKAGE_LIMIT_BYTES = 250 * 1024 * 1024;
/** Lambda's limit on a zip uploaded directly (not through S3). */
export const LAMBDA_DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;
/** Node.js runtimes that both Lambda and Lambda@Edge accept (nodejs22.x is the oldest we allow). */
export const NODE_RUNTIMES = ["nodejs22.x", "nodejs24.x"] as const;

/** CloudFront price classes. */
export const PRICE_CLASSES = ["PriceClass_100", "PriceClass_200", "PriceClass_All"] as const;

/** S3's longest bucket name. */
export const S3_BUCKET_NAME_MAX_LENGTH = 63;

/**
 * EventBridge's default limit on an event pattern's length (a quota that can be raised to 4096;
 * the AWS provider refuses more than 2048 either way).
 * Source: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 */
export const EVENT_PATTERN_MAX_LENGTH = 2_048;

/**
 * S3 general purpose bucket naming rules: the reason for the first rule a name breaks, or
 * undefined when S3 accepts it. Names with dots are refused too: CloudFront and the SDKs reach
 * buckets by virtual-hosted HTTPS, where a dot breaks the `*.s3.<region>.amazonaws.com`
 * certificate match.
 * Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function s3BucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > S3_BUCKET_NAME_MAX_LENGTH)
    return `must be 3 to 63 characters long (got ${name.length})`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "may contain only lowercase letters, digits, hyphens and dots";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must begin and end with a letter or digit";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "must not be formatted as an IP address";
  if (name.includes(".")) return "must not contain dots (they break virtual-hosted HTTPS access)";
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) {
    if (name.startsWith(prefix)) return `must not start with the reserved prefix "${prefix}"`;
  }
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) {
    if (name.endsWith(suffix)) return `must not end with the reserved suffix "${suffix}"`;
  }
  return undefined;
}

/**
 * Google Cloud Storage bucket naming rules (names without dots: 3 to 63 characters).
 * Source: https://cloud.google.com/storage/docs/buckets#naming
 */
export function gcsBucketNameProblem(name: string): string | undefined {
  const maxLength = name.includes(".") ? 222 : 63;
  if (name.length < 3 || name.length > maxLength)
    return `must be 3 to ${maxLength} characters long (got ${name.length})`;
  if (!/^[a-z0-9._-]+$/.test(name)) return "may contain only lowercase letters, digits, hyphens, underscores and dots";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must begin and end with a letter or digit";
  if (name.startsWith("goog") || name.includes("google")) return 'must not start with "goog" or contain "google"';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "must not be formatted as an IP address";
  if (name.split(".").some((part) => part.length > 63)) return "each dot-separated part must be at most 63 characters";
  return undefined;
}

/** A DNS hostname as Route53 and ACM accept it: the reason it is malformed, or undefined. */
export function hostnameProblem(name: string): string | undefined {
  if (name.length > 253) return "must be at most 253 characters long";
  const labels = name.split(".");
  if (labels.length < 2) return "must have at least two labels (like example.com)";
  for (const label of labels) {
    if (label.length === 0) return "must not contain empty labels";
    if (label.length > 63) return `label "${label}" is longer than 63 characters`;
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label)) {
      return `label "${label}" may contain only lowercase letters, digits and inner hyphens`;
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1])) return "top-level domain must not be numeric";
  return undefined;
}

/**
 * Fargate task sizes: for each CPU value (CPU units), the memory values (MiB) it accepts.
 * Source: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
export const FARGATE_TASK_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

/**
 * CloudFront publishes its metrics (and Lambda@Edge is managed) in us-east-1 only: alarms on a
 * distribution live there. Source:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html
 * China: `CLOUDFRONT_HOME_REGIONS["aws-cn"]`.
 */
/** Where the CloudFront metrics of a deployment in `primaryRegion`'s partition are. */
export function cloudFrontMetricsRegion(primaryRegion: string): string {
  return CLOUDFRONT_HOME_REGIONS[partitionOfRegion(primaryRegion)];
}

/**
 * CloudFront invalidation prices: the first 1,000 paths a month are free, then this much per path
 * (a wildcard path counts as one). Source: https://aws.amazon.com/cloudfront/pricing/
 */
export const CLOUDFRONT_FREE_INVALIDATION_PATHS_PER_MONTH = 1_000;

/**
 * CloudFront's limits on invalidation paths: per invalidation request (and in progress per
 * distribution), of which at most this many wildcards (`/images/*`), also counting the ones in progress.
 * Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-invalidations
 */
export const CLOUDFRONT_MAX_INVALIDATION_PATHS = 3_000;
export const CLOUDFRONT_MAX_WILDCARD_INVALIDATION_PATHS = 15;
export const CLOUDFRONT_INVALIDATION_PATH_PRICE_USD = 0.005;

/**
 * Status codes an origin group may fail over on.
 * Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html
 */
export const CLOUDFRONT_FAILOVER_STATUS_CODES = [403, 404, 416, 500, 502, 503, 504] as const;
/** CloudFront's limit on `DefaultRootObject` (DistributionConfig, CloudFront API reference). */
export const CLOUDFRONT_DEFAULT_ROOT_OBJECT_MAX_LENGTH = 255;

/** SQS's largest batch for a Lambda event source mapping of a standard queue with a batching window. */
export const SQS_MAX_BATCH_SIZE = 10_000;
/** SQS's longest batching window (`MaximumBatchingWindowInSeconds`) of a Lambda event source mapping. */
export const SQS_MAX_BATCHING_WINDOW_SECONDS = 300;

/**
 * SQS's longest message retention: 14 days.
 * Source: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
 */
export const SQS_MAX_MESSAGE_RETENTION_SECONDS = 1_209_600;

/**
 * The most an EventBridge rule target's retry policy allows: 185 attempts over 24 hours.
 * Source: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html
 */
export const EVENTBRIDGE_MAX_RETRY_ATTEMPTS = 185;
export const EVENTBRIDGE_MAX_EVENT_AGE_SECONDS = 86_400;

/**
 * SNS's largest message: 256 KiB, message, subject and attributes together.
 * Source: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/**
 * DynamoDB's largest item: 400 KB, attribute names and values together.
 * Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
export const DYNAMODB_MAX_ITEM_BYTES = 409_600;
