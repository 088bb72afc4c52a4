import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import {
  DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS,
  DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
} from "../config/schema";
import { policyDocument, type PolicyStatement } from "./iam";

/** Days a KMS key created for a bucket waits before deletion (the maximum, to allow recovery). */
export const KMS_KEY_DELETION_WINDOW_DAYS = 30;

/** Server-side encryption of a bucket. SSE-KMS without `keyArn` creates a rotating key. */
export type BucketEncryption = { readonly type: "sse-s3" } | { readonly type: "sse-kms"; readonly keyArn?: string };

export interface SecureBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  /**
   * Provider of the bucket's region.
   * @default the stack's default aws provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Server-side encryption.
   * @default SSE-S3
   */
  readonly encryption?: BucketEncryption;
  /**
   * Days a noncurrent object version is kept before it expires.
   * @default DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Days after which an incomplete multipart upload is aborted and its parts deleted.
   * @default DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS
   */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * Let Terraform delete the bucket with its objects.
   * @default false
   */
  readonly forceDestroy?: boolean;
  /**
   * Send every event of the bucket to EventBridge (the bucket's one notification resource), so
   * that consumers add EventBridge rules instead of competing for the notification config.
   * @default false
   */
  readonly eventBridge?: boolean;
  /**
   * Statements of the bucket policy beside the transport-security denies (a bucket has exactly
   * one policy resource, and this is it).
   * @default none
   */
  readonly policyStatements?: readonly PolicyStatement[];
}

/**
 * A private, versioned, encrypted S3 bucket: all four public-access blocks, BucketOwnerEnforced
 * (ACLs off), a policy that refuses plain HTTP and TLS older than 1.2, expiry of noncurrent
 * versions and of expired delete markers, and abort of incomplete multipart uploads.
 */
export class SecureBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly versioning: S3BucketVersioningA;
  /** ARN of the KMS key that encrypts the bucket (SSE-KMS only). */
  readonly kmsKeyArn?: string;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const provider = props.provider;
    const encryption = props.encryption ?? { type: "sse-s3" };

    this.bucket = new S3Bucket(this, "bucket", {
      provider,
      bucket: props.bucketName,
      forceDestroy: props.forceDestroy ?? false,
    });
    const bucket = this.bucket.id;

    const publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", {
      provider,
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });

    new S3BucketOwnershipControls(this, "ownership", {
      provider,
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });

    this.versioning = new S3BucketVersioningA(this, "versioning", {
      provider,
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });

    if (encryption.type === "sse-kms") {
      this.kmsKeyArn = encryption.keyArn ?? this.createKey(props.bucketName, provider);
    }
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      provider,
      bucket,
      rule: [
        this.kmsKeyArn
          ? {
              applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKeyArn },
              // Bucket keys cut KMS requests (and their cost) by orders of magnitude.
              bucketKeyEnabled: true,
            }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    });

    const bucketAndObjects = [this.bucket.arn, `${this.bucket.arn}/*`];
    new S3BucketPolicy(this, "policy", {
      provider,
      bucket,
      policy: policyDocument([
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: bucketAndObjects,
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
          Sid: "DenyOutdatedTls",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: bucketAndObjects,
          Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
        },
        ...(props.policyStatements ?? []),
      ]),
      // S3 rejects policy writes that race the public-access-block write on a new bucket.
      dependsOn: [publicAccessBlock],
    });

    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      provider,
      bucket,
      rule: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: [{}],
          noncurrentVersionExpiration: [
            { noncurrentDays: props.noncurrentVersionExpirationDays ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS },
          ],
          expiration: [{ expiredObjectDeleteMarker: true }],
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{}],
          abortIncompleteMultipartUpload: [
            {
              daysAfterInitiation:
                props.abortIncompleteMultipartUploadDays ?? DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS,
            },
          ],
        },
      ],
      // Lifecycle rules on noncurrent versions need versioning in place first.
      dependsOn: [this.versioning],
    });

    if (props.eventBridge) {
      new S3BucketNotification(this, "eventbridge", { provider, bucket, eventbridge: true });
    }
  }

  private createKey(bucketName: string, provider: TerraformProvider | undefined): string {
    const key = new KmsKey(this, "key", {
      provider,
      description: `s3-edge: encryption of bucket ${bucketName}`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_KEY_DELETION_WINDOW_DAYS,
    });
    new KmsAlias(this, "key-alias", { provider, name: `alias/${bucketName}`, targetKeyId: key.keyId });
    return key.arn;
  }
}
