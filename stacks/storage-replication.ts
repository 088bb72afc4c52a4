import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { EncryptionConfig, S3EdgeConfig } from "../config";
import { BackfillPipeline, type GcsHmacKey } from "../constructs/backfill-pipeline";
import { BatchReplication } from "../constructs/batch-replication";
import { CrossRegionReplication } from "../constructs/cross-region-replication";
import { SecureBucket, type BucketEncryption } from "../constructs/secure-bucket";
import { EDGE_FUNCTION_REGION } from "../constructs/edge-function";
import { OperationsAlarms } from "../constructs/operations-alarms";
import { OpsTopics } from "../constructs/ops-topic";
import { cloudFrontMetricsRegion } from "../config/aws-facts";
import { legacyCredentialsSecretName } from "../config";
import { legacyOriginLabel, legacySourceSettings } from "./legacy-origin";
import type { BucketReference } from "../contracts/cross-stack";

export const STORAGE_REPLICATION_STACK_ID = "storage-replication";

/** Outputs `npm run replicate-existing` reads back from the state (scripts/replicate-existing/job.ts). */
export const BATCH_REPLICATION_OUTPUTS = {
  roleArn: "batch_replication_role_arn",
  reportBucketName: "batch_replication_report_bucket_name",
  primaryBucketName: "primary_bucket_name",
  primaryBucketRegion: "primary_bucket_region",
} as const;

/**
 * Regions that have alarms, so an ops topic: the primary region, the region where CloudFront
 * publishes the metrics of the cdn and image distributions (us-east-1; cn-northwest-1 in China), and the regions of the standalone
 * invalidation pipelines (each lives in its bucket's region).
 */
export function opsTopicRegions(config: S3EdgeConfig): string[] {
  const regions = new Set<string>([config.primaryRegion]);
  if (config.cdn.enabled || config.image.enabled) regions.add(cloudFrontMetricsRegion(config.primaryRegion));
  for (const target of config.standaloneInvalidation) regions.add(target.region);
  return [...regions];
}

/** The stacks that may own a bucket's one policy (see `bucketPolicyOwners` in stacks/index.ts). */
export type BucketPolicyOwner = "storage-replication" | "cdn" | "image";

export interface BucketPolicyOwners {
  readonly primary: BucketPolicyOwner;
  readonly replica: BucketPolicyOwner;
}

/** The backfill queue and, for a private GCS bucket, the HMAC secret: what the edge functions use. */
export interface BackfillReference {
  /** `<namePrefix>-backfill`, a literal (Lambda@Edge gets it compiled in). */
  readonly queueName: string;
  readonly queueArn: string;
  readonly queueUrl: string;
  /** The primary region, a literal. */
  readonly region: string;
  /** Private GCS and S3-compatible buckets only: the secret holding the store's key. */
  readonly hmacSecret?: {
    /** `<namePrefix>/gcs-hmac`, `<namePrefix>/legacy-origin-credentials`, or the name or ARN from config: a literal. */
    readonly name: string;
    /** ARN in the primary region (an ARN pattern for a secret named in config). */
    readonly arn: string;
    /** Regions holding a replica (us-east-1, unless that is the primary region). */
    readonly replicaRegions: readonly string[];
    /** A secret named in config lives here, and has no replica of s3-edge's. */
    readonly externalRegion?: string;
  };
}

export interface StorageReplicationProps {
  /**
   * The HMAC key of the private GCS bucket's reader, from the gcs-origin stack (remote state).
   * Required when `legacyOrigin.access` is `private`.
   */
  readonly gcsHmacKey?: GcsHmacKey;
  /**
   * Which stack writes each bucket's policy. A bucket owned elsewhere gets no policy here, and a
   * KMS key created for it lets CloudFront decrypt (its owner is a stack with distributions).
   * @default both owned by storage-replication
   */
  readonly bucketPolicyOwners?: BucketPolicyOwners;
}

/**
 * The primary bucket (primary region) and its replica (replica region), with cross-region
 * replication and EventBridge notifications on the primary; with a legacy origin, the backfill
 * pipeline that copies objects from GCS into the primary bucket.
 */
export class StorageReplicationStack extends S3EdgeStack {
  readonly primary: BucketReference;
  readonly replica: BucketReference;
  /** Present when `legacyOrigin` is configured. */
  readonly backfill?: BackfillReference;
  /** The backfill queues and worker by name (for the dashboard and `npm run status`). */
  readonly backfillNames?: {
    readonly queueName: string;
    readonly deadLetterQueueName: string;
    readonly workerFunctionName: string;
  };
  /** Region → the ops topic every alarm of that region notifies (see `opsTopicRegions`). */
  readonly opsTopicArns: Readonly<Record<string, string>>;

  constructor(scope: Construct, config: S3EdgeConfig, props: StorageReplicationProps = {}) {
    super(scope, STORAGE_REPLICATION_STACK_ID, config, config.primaryRegion);
    const { storage } = config;
    const replicaProvider = this.replicaProvider();

    const { operations } = config;
    const topics = new OpsTopics(this, "ops-topics", {
      namePrefix: config.namePrefix,
      regions: opsTopicRegions(config).map((region) => ({
        region,
        provider: this.providerIn(region),
      })),
      existingTopicArns: operations.topicArns,
      emails: operations.emails,
    });
    this.opsTopicArns = topics.arns;
    for (const [region, arn] of Object.entries(topics.arns)) {
      new TerraformOutput(this, `ops_topic_arn_${region.replace(/-/g, "_")}`, { value: arn });
    }

    const owners = props.bucketPolicyOwners ?? {
      primary: STORAGE_REPLICATION_STACK_ID,
      replica: STORAGE_REPLICATION_STACK_ID,
    };
    const policy = (owner: BucketPolicyOwner) =>
      owner === STORAGE_REPLICATION_STACK_ID
        ? ({ bucketPolicy: "create", allowCloudFrontDecrypt: false } as const)
        : ({ bucketPolicy: "external", allowCloudFrontDecrypt: true } as const);
    const common = {
      forceDestroy: storage.forceDestroy,
      noncurrentVersionExpirationDays: storage.noncurrentVersionExpirationDays,
      abortIncompleteMultipartUploadDays: storage.abortIncompleteMultipartUploadDays,
    };
    const primary = new SecureBucket(this, "primary", {
      ...common,
      bucketName: storage.primaryBucketName,
      encryption: bucketEncryption(storage.encryption, "primary"),
      adopt: storage.adopt.primary && { ...storage.adopt.primary, region: config.primaryRegion },
      eventBridge: true,
      ...policy(owners.primary),
    });
    const replica = new SecureBucket(this, "replica", {
      ...common,
      provider: replicaProvider,
      bucketName: storage.replicaBucketName,
      encryption: bucketEncryption(storage.encryption, "replica"),
      adopt: storage.adopt.replica && { ...storage.adopt.replica, region: config.replicaRegion },
      ...policy(owners.replica),
    });

    const replication = new CrossRegionReplication(this, "replication", {
      source: primary,
      sourceRegion: config.primaryRegion,
      destination: replica,
      destinationRegion: config.replicaRegion,
      roleName: `${config.namePrefix}-replication`,
      deleteMarkerReplication: storage.replication.deleteMarkerReplication,
      replicationTimeControl: storage.replication.replicationTimeControl,
    });

    // Existing objects are replicated by an S3 Batch Replication job (npm run replicate-existing).
    const batch = new BatchReplication(this, "batch-replication", {
      accountArn: replication.role.arn,
      sourceBucketArn: primary.bucket.arn,
      region: config.primaryRegion,
      roleName: `${config.namePrefix}-batch-replication`,
      reportBucketName: storage.batchReportBucketName,
    });
    new TerraformOutput(this, BATCH_REPLICATION_OUTPUTS.roleArn, { value: batch.role.arn });
    new TerraformOutput(this, BATCH_REPLICATION_OUTPUTS.reportBucketName, { value: batch.reportBucket.bucket.bucket });

    this.primary = reference(primary, config.primaryRegion);
    this.replica = reference(replica, config.replicaRegion);
    for (const [role, bucket] of [
      ["primary", this.primary],
      ["replica", this.replica],
    ] as const) {
      new TerraformOutput(this, `${role}_bucket_name`, { value: bucket.name });
      new TerraformOutput(this, `${role}_bucket_arn`, { value: bucket.arn });
      new TerraformOutput(this, `${role}_bucket_regional_domain_name`, { value: bucket.regionalDomainName });
      new TerraformOutput(this, `${role}_bucket_region`, { value: bucket.region });
    }

    const { legacyOrigin } = config;
    if (!legacyOrigin) return;
    if (legacyOrigin.kind === "gcs" && legacyOrigin.access === "private" && !props.gcsHmacKey) {
      throw new Error("storage-replication: a private legacy origin needs the gcs-origin stack's HMAC key");
    }
    // The Lambda@Edge signer reads the secret in us-east-1 (global partition only: China has no Lambda@Edge).
    const secretReplicaRegions =
      config.partition !== "aws" || config.primaryRegion === EDGE_FUNCTION_REGION ? [] : [EDGE_FUNCTION_REGION];
    const pipeline = new BackfillPipeline(this, "backfill", {
      namePrefix: config.namePrefix,
      destination: this.primary,
      source: legacySourceSettings(legacyOrigin),
      sourceLabel: legacyOriginLabel(legacyOrigin),
      hmacKey: legacyOrigin.kind === "gcs" && legacyOrigin.access === "private" ? props.gcsHmacKey : undefined,
      sourceKeySecret: sourceKeySecret(config),
      secretReplicaRegions,
      runtime: config.lambda.runtime,
      architecture: config.lambda.architecture,
      logRetentionDays: config.lambda.logRetentionDays,
      batchSize: legacyOrigin.backfill.batchSize,
      maxConcurrency: legacyOrigin.backfill.maxConcurrency,
      workerMemoryMb: legacyOrigin.backfill.workerMemoryMb,
      alarmActions: [topics.arns[config.primaryRegion]],
    });
    const alarms = new OperationsAlarms(this, "alarms", {
      topicArn: topics.arns[config.primaryRegion],
      thresholds: operations.alarmThresholds,
    });
    alarms.functionsIn(pipeline);
    this.backfillNames = {
      queueName: pipeline.queueName,
      deadLetterQueueName: pipeline.deadLetterQueue.nameInput!,
      workerFunctionName: pipeline.worker.function.functionNameInput!,
    };
    alarms.deadLetterQueue(
      "backfill-sweeper",
      pipeline.sweeperDeadLetterQueue.nameInput!,
      "Sweeper runs EventBridge could not deliver",
    );
    alarms.oldestMessageAge("backfill", pipeline.queueName, operations.alarmThresholds.backfillOldestMessageAgeSeconds);
    this.backfill = {
      queueName: pipeline.queueName,
      queueArn: pipeline.queue.arn,
      queueUrl: pipeline.queue.url,
      region: config.primaryRegion,
      hmacSecret:
        pipeline.hmacSecret && pipeline.hmacSecretName
          ? { name: pipeline.hmacSecretName, arn: pipeline.hmacSecret.arn, replicaRegions: secretReplicaRegions }
          : pipeline.externalSecret
            ? {
                name: pipeline.externalSecret.id,
                arn: pipeline.externalSecret.resourceArn,
                replicaRegions: [],
                externalRegion: pipeline.externalSecret.region,
              }
            : undefined,
    };
    new TerraformOutput(this, "backfill_queue_url", { value: pipeline.queue.url });
    new TerraformOutput(this, "backfill_queue_arn", { value: pipeline.queue.arn });
    new TerraformOutput(this, "backfill_dead_letter_queue_url", { value: pipeline.deadLetterQueue.url });
    new TerraformOutput(this, "backfill_jobs_table_name", { value: pipeline.jobsTable.name });
    if (pipeline.hmacSecret && legacyOrigin.kind === "gcs") {
      new TerraformOutput(this, "gcs_hmac_secret_arn", { value: pipeline.hmacSecret.arn });
    }
    if (legacyOrigin.kind === "s3-compatible" && pipeline.hmacSecretName) {
      // The secret is created empty: the operator fills it (docs/migration.md).
      new TerraformOutput(this, "legacy_origin_credentials_secret_name", { value: pipeline.hmacSecretName });
    }
  }
}

/** A private S3-compatible store's key: the secret named in config (read where it lives), else one created empty. */
function sourceKeySecret(
  config: S3EdgeConfig,
): { readonly existing: string; readonly region: string } | { readonly createEmpty: string } | undefined {
  const origin = config.legacyOrigin;
  if (origin?.kind !== "s3-compatible" || origin.access !== "private") return undefined;
  if (!origin.credentialsSecret) return { createEmpty: legacyCredentialsSecretName(config.namePrefix) };
  const arnRegion = origin.credentialsSecret.startsWith("arn:") ? origin.credentialsSecret.split(":")[3] : undefined;
  return { existing: origin.credentialsSecret, region: arnRegion ?? config.primaryRegion };
}

function bucketEncryption(encryption: EncryptionConfig, role: "primary" | "replica"): BucketEncryption {
  if (encryption.type === "sse-s3") return encryption;
  return { type: "sse-kms", keyArn: role === "primary" ? encryption.primaryKeyArn : encryption.replicaKeyArn };
}

function reference(bucket: SecureBucket, region: string): BucketReference {
  return {
    name: bucket.bucket.bucket,
    arn: bucket.bucket.arn,
    regionalDomainName: bucket.bucket.bucketRegionalDomainName,
    region,
    kmsKeyArn: bucket.kmsKeyArn,
  };
}
