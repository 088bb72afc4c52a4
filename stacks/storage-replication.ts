import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { EncryptionConfig, S3EdgeConfig } from "../config";
import { configureBackend } from "../constructs/backend";
import { CrossRegionReplication } from "../constructs/cross-region-replication";
import { awsProvider } from "../constructs/providers";
import { SecureBucket, type BucketEncryption } from "../constructs/secure-bucket";

export const STORAGE_REPLICATION_STACK_ID = "storage-replication";

/** What other stacks need to know about a bucket. Token fields travel through remote state. */
export interface BucketReference {
  readonly name: string;
  readonly arn: string;
  /** `<bucket>.s3.<region>.amazonaws.com`: the domain of a CloudFront S3 origin. */
  readonly regionalDomainName: string;
  readonly region: string;
  /** The bucket's KMS key (SSE-KMS only): readers need kms:Decrypt on it. */
  readonly kmsKeyArn?: string;
}

/**
 * The primary bucket (primary region) and its replica (replica region), with cross-region
 * replication and EventBridge notifications on the primary.
 */
export class StorageReplicationStack extends TerraformStack {
  readonly primary: BucketReference;
  readonly replica: BucketReference;

  constructor(scope: Construct, config: S3EdgeConfig) {
    const id = STORAGE_REPLICATION_STACK_ID;
    super(scope, id);
    configureBackend(this, id, config.backend);
    const { storage } = config;
    awsProvider(this, "aws", { region: config.primaryRegion, tags: config.tags, stackId: id });
    const replicaProvider = awsProvider(this, "aws-replica", {
      region: config.replicaRegion,
      alias: "replica",
      tags: config.tags,
      stackId: id,
    });

    const common = {
      forceDestroy: storage.forceDestroy,
      noncurrentVersionExpirationDays: storage.noncurrentVersionExpirationDays,
      abortIncompleteMultipartUploadDays: storage.abortIncompleteMultipartUploadDays,
    };
    const primary = new SecureBucket(this, "primary", {
      ...common,
      bucketName: storage.primaryBucketName,
      encryption: bucketEncryption(storage.encryption, "primary"),
      eventBridge: true,
    });
    const replica = new SecureBucket(this, "replica", {
      ...common,
      provider: replicaProvider,
      bucketName: storage.replicaBucketName,
      encryption: bucketEncryption(storage.encryption, "replica"),
    });

    new CrossRegionReplication(this, "replication", {
      source: primary,
      sourceRegion: config.primaryRegion,
      destination: replica,
      destinationRegion: config.replicaRegion,
      roleName: `${config.namePrefix}-replication`,
      deleteMarkerReplication: storage.replication.deleteMarkerReplication,
      replicationTimeControl: storage.replication.replicationTimeControl,
    });

    this.primary = reference(primary, config.primaryRegion);
    this.replica = reference(replica, config.replicaRegion);
    for (const [role, bucket] of [
      ["primary", this.primary],
      ["replica", this.replica],
    ] as const) {
      new TerraformOutput(this, `${role}_bucket_name`, { value: bucket.name });
      new TerraformOutput(this, `${role}_bucket_arn`, { value: bucket.arn });
      new TerraformOutput(this, `${role}_bucket_regional_domain_name`, { value: bucket.regionalDomainName });
    }
  }
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
