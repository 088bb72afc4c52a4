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
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Fn, TerraformLocal, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { transportSecurityStatements } from "./bucket-policy";
import type { ObjectOwnership } from "../config/sections/adoption";
import { policyDocument, type PolicyStatement } from "../aws/iam";
import { Partition } from "../aws/partition";
import { DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS, DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS } from "./defaults";

/** Days a KMS key created for a bucket waits before deletion (the maximum, to allow recovery). */
export const KMS_KEY_DELETION_WINDOW_DAYS = 30;

/** Server-side encryption of a bucket. SSE-KMS without `keyArn` creates a rotating key. */
export type BucketEncryption = { readonly type: "sse-s3" } | { readonly type: "sse-kms"; readonly keyArn?: string };

/** An existing bucket brought under management instead of created. */
export interface AdoptedBucket {
  /** The region the bucket must be in (checked by a postcondition once Terraform has read it). */
  readonly region: string;
  /**
   * Object ownership to set: `BucketOwnerPreferred` keeps ACLs working on a bucket that uses them.
   * @default "BucketOwnerEnforced"
   */
  readonly objectOwnership?: ObjectOwnership;
}

export interface SecureBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  /**
   * Adopt the existing bucket of that name: a Terraform `import` block instead of a create, and
   * `prevent_destroy`. Its settings (versioning, encryption, public-access block, ownership,
   * lifecycle, policy, notifications) become s3-edge's, which `cdktf diff` shows.
   * @default undefined: the bucket is created
   */
  readonly adopt?: AdoptedBucket;
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
  /**
   * `external`: another stack writes the bucket's one policy (with the transport-security
   * statements from `transportSecurityStatements` and its distributions' reads), so this
   * construct must not create one. `policyStatements` is then ignored.
   * @default "create"
   */
  readonly bucketPolicy?: "create" | "external";
  /**
   * Let CloudFront distributions of this account decrypt with the key created for the bucket
   * (SSE-KMS without `keyArn`), so that OAC can serve its objects.
   * @default false
   */
  readonly allowCloudFrontDecrypt?: boolean;
}

/**
 * A private, versioned, encrypted S3 bucket: all four public-access blocks, BucketOwnerEnforced
 * (ACLs off), a policy that refuses plain HTTP and TLS older than 1.2 (unless another stack owns
 * the bucket's policy), expiry of noncurrent
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

    const adopt = props.adopt;
    this.bucket = new S3Bucket(this, "bucket", {
      provider,
      bucket: props.bucketName,
      forceDestroy: adopt ? false : (props.forceDestroy ?? false),
      lifecycle: adopt
        ? {
            // Adopted data outlives s3-edge: a destroy plan that would delete the bucket fails.
            preventDestroy: true,
            postcondition: [
              {
                condition: `\${self.region == "${adopt.region}"}`,
                errorMessage: `The adopted bucket ${props.bucketName} must be in ${adopt.region}; S3 cannot move a bucket, so name a bucket of that region (or change the region in the config).`,
              },
            ],
          }
        : undefined,
    });
    if (adopt) this.bucket.importFrom(props.bucketName, provider);
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
      rule: { objectOwnership: adopt?.objectOwnership ?? "BucketOwnerEnforced" },
    });

    this.versioning = new S3BucketVersioningA(this, "versioning", {
      provider,
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });

    if (encryption.type === "sse-kms") {
      this.kmsKeyArn =
        encryption.keyArn ?? this.createKey(props.bucketName, provider, props.allowCloudFrontDecrypt ?? false);
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

    if ((props.bucketPolicy ?? "create") === "create") {
      new S3BucketPolicy(this, "policy", {
        provider,
        bucket,
        policy: policyDocument([...transportSecurityStatements(this.bucket.arn), ...(props.policyStatements ?? [])]),
        // S3 rejects policy writes that race the public-access-block write on a new bucket.
        dependsOn: [publicAccessBlock],
      });
    }

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

  private createKey(bucketName: string, provider: TerraformProvider | undefined, cloudFrontDecrypt: boolean): string {
    const key = new KmsKey(this, "key", {
      provider,
      description: `s3-edge: encryption of bucket ${bucketName}`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_KEY_DELETION_WINDOW_DAYS,
    });
    new KmsAlias(this, "key-alias", { provider, name: `alias/${bucketName}`, targetKeyId: key.keyId });
    if (cloudFrontDecrypt) {
      // The key's one policy, as its own resource: the account id comes from the key's ARN, so the
      // stack needs no aws_caller_identity lookup (and still plans offline).
      // A local keeps the expression (and its quotes) out of the policy JSON, which stays readable.
      const account = new TerraformLocal(this, "key-account", Fn.element(Fn.split(":", key.arn), 4)).asString;
      new KmsKeyPolicy(this, "key-policy", {
        provider,
        keyId: key.keyId,
        policy: policyDocument(kmsKeyPolicyStatements(Partition.of(this), account)),
      });
    }
    return key.arn;
  }
}

/**
 * A created key's policy when CloudFront serves the bucket: the default statement that delegates
 * the key to IAM in the account (without it nobody could manage the key), plus kms:Decrypt for
 * CloudFront on behalf of this account's distributions. The key cannot name the distributions:
 * they are created after the bucket and read it, so naming them here would be a dependency cycle;
 * `aws:SourceAccount` plus the account's distribution ARN pattern is the tightest scope possible.
 */
export function kmsKeyPolicyStatements(partition: Partition, account: string): PolicyStatement[] {
  return [
    {
      Sid: "EnableIamPolicies",
      Effect: "Allow",
      Principal: { AWS: partition.accountRoot(account) },
      Action: "kms:*",
      Resource: "*",
    },
    cloudFrontDecryptStatement(partition, account),
  ];
}

/** kms:Decrypt for CloudFront (OAC) on behalf of the account's distributions. */
export function cloudFrontDecryptStatement(partition: Partition, account: string): PolicyStatement {
  return {
    Sid: "AllowCloudFrontServeEncryptedObjects",
    Effect: "Allow",
    Principal: { Service: partition.servicePrincipal("cloudfront") },
    Action: "kms:Decrypt",
    Resource: "*",
    Condition: {
      StringEquals: { "aws:SourceAccount": account },
      ArnLike: { "aws:SourceArn": partition.arn("cloudfront", "", account, "distribution/*") },
    },
  };
}
