import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { StorageHmacKey } from "@cdktf/provider-google/lib/storage-hmac-key";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { GcsOriginConfig, S3EdgeConfig } from "../config";
import type { GcsHmacKey } from "../constructs/backfill-pipeline";

export const GCS_ORIGIN_STACK_ID = "gcs-origin";
/** Reads objects and lists the bucket: HEAD of a missing key answers 404, and the migrate CLI lists. */
export const GCS_READER_ROLE = "roles/storage.objectViewer";
/** Service account ids are 6-30 characters. */
const SERVICE_ACCOUNT_ID_MAX = 30;
const SERVICE_ACCOUNT_SUFFIX = "-gcs-reader";

type LegacyOrigin = GcsOriginConfig;

/** Whether the config asks for google resources (a private bucket's reader, or a bucket to create). */
export function needsGcsOriginStack(config: S3EdgeConfig): boolean {
  const origin = config.legacyOrigin;
  return origin?.kind === "gcs" && (origin.access === "private" || origin.create);
}

/**
 * The Google Cloud side of the legacy origin (google provider only, so the AWS stacks stay
 * validatable with the aws provider alone): optionally the bucket itself, and for a private bucket
 * a service account that can read only that bucket, with an HMAC key for the S3-compatible XML API.
 */
export class GcsOriginStack extends S3EdgeStack {
  /** The GCS bucket name (a literal from config). */
  readonly bucketName: string;
  /** Private buckets only: the reader's HMAC key (sensitive tokens; read through remote state). */
  readonly hmacKey?: GcsHmacKey;
  /** Private buckets only. */
  readonly serviceAccountEmail?: string;

  constructor(scope: Construct, config: S3EdgeConfig) {
    // No AWS provider: the google provider only, so that the AWS stacks validate without it.
    super(scope, GCS_ORIGIN_STACK_ID, config, undefined);
    const origin = config.legacyOrigin;
    if (origin?.kind !== "gcs" || !origin.project) {
      // The config schema requires a project whenever this stack is needed.
      throw new Error("gcs-origin: needs legacyOrigin with a project");
    }
    new GoogleProvider(this, "google", {
      project: origin.project,
      defaultLabels: { project: "s3-edge", "managed-by": "cdktf", stack: this.stackId },
    });
    this.bucketName = origin.bucket;

    const bucket = origin.create ? this.createBucket(origin, config.storage.forceDestroy) : undefined;
    // Depend on the created bucket (if any) so bindings wait for it; else name the existing one.
    const bucketRef = bucket ? bucket.name : origin.bucket;

    if (origin.access === "private") {
      const reader = new ServiceAccount(this, "reader", {
        accountId: serviceAccountId(config.namePrefix),
        displayName: `s3-edge reader of gs://${origin.bucket}`,
        description: "Read-only access to the legacy bucket for CloudFront (signed requests) and the backfill worker",
      });
      // Bucket-scoped: the key opens this bucket only, not the project.
      new StorageBucketIamMember(this, "reader-binding", {
        bucket: bucketRef,
        role: GCS_READER_ROLE,
        member: reader.member,
      });
      const key = new StorageHmacKey(this, "reader-hmac", { serviceAccountEmail: reader.email });
      this.hmacKey = { accessId: key.accessId, secret: key.secret };
      this.serviceAccountEmail = reader.email;
      new TerraformOutput(this, "hmac_access_id", { value: key.accessId, sensitive: true });
      new TerraformOutput(this, "hmac_secret", { value: key.secret, sensitive: true });
      new TerraformOutput(this, "service_account_email", { value: reader.email });
    }
    new TerraformOutput(this, "bucket_name", { value: bucketRef });
  }

  private createBucket(origin: LegacyOrigin, forceDestroy: boolean): StorageBucket {
    const isPublic = origin.access === "public";
    const bucket = new StorageBucket(this, "bucket", {
      name: origin.bucket,
      location: origin.location,
      // IAM only, no object ACLs: access is what the bindings below say.
      uniformBucketLevelAccess: true,
      // A private bucket can never be made public by mistake; a public one must allow allUsers.
      publicAccessPrevention: isPublic ? "inherited" : "enforced",
      forceDestroy,
    });
    if (isPublic) {
      // Anonymous read and list, as a public origin (and the migrate CLI without credentials) needs.
      new StorageBucketIamMember(this, "public-read", {
        bucket: bucket.name,
        role: GCS_READER_ROLE,
        member: "allUsers",
      });
    }
    return bucket;
  }
}

/** `<namePrefix>-gcs-reader`, shortened to the 30 characters a service account id allows. */
export function serviceAccountId(namePrefix: string): string {
  const head = namePrefix.slice(0, SERVICE_ACCOUNT_ID_MAX - SERVICE_ACCOUNT_SUFFIX.length).replace(/-+$/, "");
  return `${head}${SERVICE_ACCOUNT_SUFFIX}`;
}
