import { DEFAULT_ENCODER_SETTINGS, encoderEnvironment, type EncoderSettings } from "../functions/image/encoders";
import { ENVIRONMENT, formatBucketRegions } from "../functions/image/environment";
import { DEFAULT_DEADLINE_MS } from "../functions/image/limits";
import type { PolicyStatement } from "../aws/iam";
import type { Partition } from "../aws/partition";
import type { BucketReference } from "../contracts/cross-stack";

/** A bucket the engine reads sources from (its KMS key, if any, the engine may decrypt with). */
export interface ImageSourceBucket extends BucketReference {
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
  /** Seconds after which a request's work is abandoned. @default DEFAULT_DEADLINE_MS / 1000 */
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
    [ENVIRONMENT.deadlineMs]: String(
      settings.deadlineSeconds === undefined ? DEFAULT_DEADLINE_MS : settings.deadlineSeconds * 1000,
    ),
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
