import "../support/cdktf-matchers";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Testing } from "cdktf";
import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { StorageReplicationStack } from "../../stacks/storage-replication";
import { parsePolicy, type Statement } from "../support/policy-checks";
import {
  fullConfigInput,
  referenceTo,
  resolveGlobalPartition,
  resourceAt,
  resourcesOf,
  type StackJson,
} from "../support/synth";
import { transportSecurityStatements } from "../../constructs/bucket-policy";

/** Stands in for the gcs-origin stack's remote-state values when the config's bucket is private. */
const TEST_HMAC_KEY = { accessId: "GOOG1ETESTACCESSID", secret: "test-secret-value" };

function synth(input: S3EdgeConfigInput = {}): { text: string; json: StackJson } {
  const stack = new StorageReplicationStack(Testing.app(), parseConfig(input), { gcsHmacKey: TEST_HMAC_KEY });
  const text = resolveGlobalPartition(Testing.synth(stack));
  return { text, json: JSON.parse(text) as StackJson };
}

const statementsOf = (resource: Record<string, unknown>, attribute = "policy"): Statement[] => {
  const parsed = parsePolicy(resource[attribute]);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

describe("storage-replication with the default config", () => {
  const { text, json } = synth();
  const primary = referenceTo(json, "aws_s3_bucket", "primary/bucket", "arn");
  const replica = referenceTo(json, "aws_s3_bucket", "replica/bucket", "arn");

  it("creates the primary bucket with the default provider and the replica through the replica alias", () => {
    expect(text).toHaveResourceWithProperties(S3Bucket, {
      bucket: "s3edge-example-primary-us-east-2",
      force_destroy: false,
    });
    expect(text).toHaveResourceWithProperties(S3Bucket, {
      bucket: "s3edge-example-replica-us-west-2",
      provider: "aws.replica",
    });
    expect(resourceAt(json, "aws_s3_bucket", "primary/bucket").provider).toBeUndefined();
    const providers = json.provider?.aws ?? [];
    expect(providers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ region: "us-east-2" }),
        expect.objectContaining({ alias: "replica", region: "us-west-2" }),
      ]),
    );
    for (const provider of providers) {
      expect(provider.default_tags).toEqual([
        { tags: expect.objectContaining({ Project: "s3-edge", Stack: "storage-replication" }) },
      ]);
    }
  });

  it.each(["primary", "replica"])("makes the %s bucket private, versioned and encrypted", (role) => {
    const bucketId = referenceTo(json, "aws_s3_bucket", `${role}/bucket`, "id");
    expect(resourceAt(json, "aws_s3_bucket_public_access_block", `${role}/public-access-block`)).toMatchObject({
      bucket: bucketId,
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(resourceAt(json, "aws_s3_bucket_ownership_controls", `${role}/ownership`)).toMatchObject({
      bucket: bucketId,
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
    expect(resourceAt(json, "aws_s3_bucket_versioning", `${role}/versioning`)).toMatchObject({
      bucket: bucketId,
      versioning_configuration: { status: "Enabled" },
    });
    expect(resourceAt(json, "aws_s3_bucket_server_side_encryption_configuration", `${role}/encryption`)).toMatchObject({
      bucket: bucketId,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
  });

  it.each(["primary", "replica"])("gives the %s bucket a policy that denies plain HTTP and old TLS", (role) => {
    const policy = resourceAt(json, "aws_s3_bucket_policy", `${role}/policy`);
    const arn = role === "primary" ? primary : replica;
    expect(policy.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_public_access_block\./)]);
    expect(statementsOf(policy)).toEqual(transportSecurityStatements(arn));
  });

  it.each(["primary", "replica"])(
    "expires noncurrent versions and aborts incomplete uploads on the %s bucket",
    (role) => {
      const lifecycle = resourceAt(json, "aws_s3_bucket_lifecycle_configuration", `${role}/lifecycle`);
      expect(lifecycle.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
      expect(lifecycle.rule).toEqual([
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: [{}],
          noncurrent_version_expiration: [{ noncurrent_days: 30 }],
          expiration: [{ expired_object_delete_marker: true }],
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{}],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        },
      ]);
    },
  );

  it("sends the primary bucket's events to EventBridge through its one notification resource", () => {
    const notifications = resourcesOf(json, "aws_s3_bucket_notification");
    expect(notifications).toHaveLength(1);
    expect(notifications[0][1]).toMatchObject({
      bucket: referenceTo(json, "aws_s3_bucket", "primary/bucket", "id"),
      eventbridge: true,
    });
    expect(text).toHaveResourceWithProperties(S3BucketNotification, { eventbridge: true });
  });

  it("lets S3 assume the replication role only for the primary bucket", () => {
    const role = resourceAt(json, "aws_iam_role", "replication/role");
    expect(statementsOf(role, "assume_role_policy")).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { ArnLike: { "aws:SourceArn": primary } },
      },
    ]);
    expect(text).toHaveResourceWithProperties(IamRole, { name: "s3edge-example-replication" });
  });

  it("scopes the replication role to exactly the two buckets", () => {
    const statements = statementsOf(resourceAt(json, "aws_iam_role_policy", "replication/policy"));
    expect(statements).toEqual([
      {
        Sid: "ReadReplicationConfiguration",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: primary,
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
        Resource: `${primary}/*`,
      },
      {
        Sid: "WriteReplicas",
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        Resource: `${replica}/*`,
      },
    ]);
  });

  it("replicates the whole bucket with one rule, delete markers included, after both buckets are versioned", () => {
    const replication = resourceAt(json, "aws_s3_bucket_replication_configuration", "replication/configuration");
    expect(replication.bucket).toBe(referenceTo(json, "aws_s3_bucket", "primary/bucket", "id"));
    expect(replication.role).toBe(referenceTo(json, "aws_iam_role", "replication/role", "arn"));
    expect(replication.depends_on).toEqual([
      expect.stringMatching(/^aws_s3_bucket_versioning\.primary_versioning/),
      expect.stringMatching(/^aws_s3_bucket_versioning\.replica_versioning/),
    ]);
    expect(replication.rule).toEqual([
      {
        id: "replicate-everything",
        status: "Enabled",
        filter: {},
        delete_marker_replication: { status: "Enabled" },
        destination: { bucket: replica, storage_class: "STANDARD" },
      },
    ]);
    expect(JSON.stringify(replication)).not.toContain("prefix");
  });

  it("creates no KMS key for SSE-S3 (the only keys are the ops topics')", () => {
    expect(resourcesOf(json, "aws_kms_key").filter(([name]) => !name.startsWith("ops-topics_"))).toEqual([]);
  });

  it("exports the buckets' names, ARNs, regional domain names and regions, and the batch replication role", () => {
    expect(Object.keys(json.output ?? {}).sort()).toEqual([
      "backfill_dead_letter_queue_url",
      "backfill_jobs_table_name",
      "backfill_queue_arn",
      "backfill_queue_url",
      "batch_replication_report_bucket_name",
      "batch_replication_role_arn",
      "ops_topic_arn_us_east_1",
      "ops_topic_arn_us_east_2",
      "primary_bucket_arn",
      "primary_bucket_name",
      "primary_bucket_region",
      "primary_bucket_regional_domain_name",
      "replica_bucket_arn",
      "replica_bucket_name",
      "replica_bucket_region",
      "replica_bucket_regional_domain_name",
    ]);
    expect(json.output?.primary_bucket_regional_domain_name.value).toBe(
      referenceTo(json, "aws_s3_bucket", "primary/bucket", "bucket_regional_domain_name"),
    );
  });

  it("exposes typed fields for other stacks", () => {
    const stack = new StorageReplicationStack(Testing.app(), parseConfig({}));
    expect(stack.primary.region).toBe("us-east-2");
    expect(stack.replica.region).toBe("us-west-2");
    expect(stack.primary.kmsKeyArn).toBeUndefined();
    for (const value of [stack.primary.arn, stack.primary.name, stack.primary.regionalDomainName, stack.replica.arn]) {
      expect(value).toMatch(/\$\{TfToken\[TOKEN\.\d+\]\}/);
    }
  });
});

describe("storage-replication options", () => {
  it("applies lifecycle days and force-destroy from config", () => {
    const { text } = synth({
      storage: { noncurrentVersionExpirationDays: 90, abortIncompleteMultipartUploadDays: 2, forceDestroy: true },
    });
    expect(text).toHaveResourceWithProperties(S3Bucket, { force_destroy: true });
    expect(text).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: expect.arrayContaining([
        expect.objectContaining({ noncurrent_version_expiration: [{ noncurrent_days: 90 }] }),
        expect.objectContaining({ abort_incomplete_multipart_upload: [{ days_after_initiation: 2 }] }),
      ]),
    });
  });

  it("turns delete-marker replication off", () => {
    const { json } = synth({ storage: { replication: { deleteMarkerReplication: false } } });
    const replication = resourceAt(json, "aws_s3_bucket_replication_configuration", "replication/configuration");
    expect((replication.rule as Array<Record<string, unknown>>)[0].delete_marker_replication).toEqual({
      status: "Disabled",
    });
  });

  it("turns on Replication Time Control with its metrics", () => {
    const { json } = synth({ storage: { replication: { replicationTimeControl: true } } });
    const replication = resourceAt(json, "aws_s3_bucket_replication_configuration", "replication/configuration");
    expect((replication.rule as Array<{ destination: unknown }>)[0].destination).toMatchObject({
      replication_time: { status: "Enabled", time: { minutes: 15 } },
      metrics: { status: "Enabled", event_threshold: { minutes: 15 } },
    });
  });

  describe("SSE-KMS with created keys", () => {
    const { text, json } = synth({ storage: { encryption: { type: "sse-kms" } } });
    const primaryKey = referenceTo(json, "aws_kms_key", "primary/key", "arn");
    const replicaKey = referenceTo(json, "aws_kms_key", "replica/key", "arn");
    const primary = referenceTo(json, "aws_s3_bucket", "primary/bucket", "arn");
    const replica = referenceTo(json, "aws_s3_bucket", "replica/bucket", "arn");

    it("creates a rotating key in each bucket's region", () => {
      expect(resourceAt(json, "aws_kms_key", "primary/key")).toMatchObject({
        enable_key_rotation: true,
        deletion_window_in_days: 30,
      });
      expect(resourceAt(json, "aws_kms_key", "primary/key").provider).toBeUndefined();
      expect(resourceAt(json, "aws_kms_key", "replica/key")).toMatchObject({
        enable_key_rotation: true,
        provider: "aws.replica",
      });
      expect(text).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true });
    });

    it("encrypts each bucket with its key and S3 Bucket Keys", () => {
      expect(resourceAt(json, "aws_s3_bucket_server_side_encryption_configuration", "primary/encryption").rule).toEqual(
        [
          {
            apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: primaryKey },
            bucket_key_enabled: true,
          },
        ],
      );
      expect(resourceAt(json, "aws_s3_bucket_server_side_encryption_configuration", "replica/encryption").rule).toEqual(
        [
          {
            apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: replicaKey },
            bucket_key_enabled: true,
          },
        ],
      );
    });

    it("replicates KMS-encrypted objects, re-encrypting with the replica's key", () => {
      const replication = resourceAt(json, "aws_s3_bucket_replication_configuration", "replication/configuration");
      expect((replication.rule as unknown[])[0]).toMatchObject({
        source_selection_criteria: { sse_kms_encrypted_objects: { status: "Enabled" } },
        destination: { bucket: replica, encryption_configuration: { replica_kms_key_id: replicaKey } },
      });
    });

    it("lets the replication role use each key only through S3, for its own bucket", () => {
      const statements = statementsOf(resourceAt(json, "aws_iam_role_policy", "replication/policy"));
      expect(statements).toEqual(
        expect.arrayContaining([
          {
            Sid: "DecryptSource",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: primaryKey,
            Condition: {
              StringEquals: { "kms:ViaService": "s3.us-east-2.amazonaws.com" },
              StringLike: { "kms:EncryptionContext:aws:s3:arn": [primary, `${primary}/*`] },
            },
          },
          {
            Sid: "EncryptReplicas",
            Effect: "Allow",
            Action: ["kms:Encrypt", "kms:GenerateDataKey"],
            Resource: replicaKey,
            Condition: {
              StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" },
              StringLike: { "kms:EncryptionContext:aws:s3:arn": [replica, `${replica}/*`] },
            },
          },
        ]),
      );
    });
  });

  it("uses existing KMS keys from config without creating any", () => {
    const primaryKeyArn = "arn:aws:kms:us-east-2:123456789012:key/11111111-2222-3333-4444-555555555555";
    const replicaKeyArn = "arn:aws:kms:us-west-2:123456789012:key/66666666-7777-8888-9999-000000000000";
    const { json } = synth({ storage: { encryption: { type: "sse-kms", primaryKeyArn, replicaKeyArn } } });
    expect(resourcesOf(json, "aws_kms_key").filter(([name]) => !name.startsWith("ops-topics_"))).toEqual([]);
    const replication = resourceAt(json, "aws_s3_bucket_replication_configuration", "replication/configuration");
    expect(JSON.stringify(replication)).toContain(replicaKeyArn);
    expect(JSON.stringify(resourceAt(json, "aws_iam_role_policy", "replication/policy"))).toContain(primaryKeyArn);
  });

  it("synthesizes the full example (KMS, RTC, tags) with every bucket control", () => {
    const { text, json } = synth(fullConfigInput());
    expect(text).toHaveResourceWithProperties(S3Bucket, { bucket: "acme-media-content" });
    expect(text).toHaveResourceWithProperties(S3Bucket, { bucket: "acme-media-content-replica" });
    // Primary, replica and the batch replication reports bucket.
    expect(resourcesOf(json, "aws_s3_bucket_public_access_block")).toHaveLength(3);
    expect(resourcesOf(json, "aws_s3_bucket_ownership_controls")).toHaveLength(3);
    expect(text).toHaveResourceWithProperties(S3BucketPublicAccessBlock, { restrict_public_buckets: true });
    expect(text).toHaveResourceWithProperties(S3BucketOwnershipControls, {
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
    expect(text).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: "Enabled" } });
    expect(json.provider?.aws?.[0].default_tags).toEqual([
      {
        tags: {
          Project: "s3-edge",
          ManagedBy: "cdktf",
          Stack: "storage-replication",
          CostCenter: "media-platform",
          Owner: "platform-team",
        },
      },
    ]);
  });
});
