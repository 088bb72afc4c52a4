import "../support/cdktf-matchers";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Testing } from "cdktf";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { StorageReplicationStack } from "../../stacks/storage-replication";
import { fabricateImports } from "../../scripts/offline-values";
import { configProblems } from "../support/config-problems";
import { policyViolations } from "../support/policy-checks";
import { logicalName, resourceAt, synthApp, type StackJson } from "../support/synth";
import { PROJECT_ROOT } from "../../config/paths";

const ADOPT_CONFIG_FILE = join(PROJECT_ROOT, "examples", "adopt.config.json");
const adoptInput = () => JSON.parse(readFileSync(ADOPT_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;

type AdoptingJson = StackJson & { import?: Array<{ to: string; id: string; provider?: string }> };

function synth(input: S3EdgeConfigInput): { text: string; json: AdoptingJson } {
  const stack = new StorageReplicationStack(Testing.app(), parseConfig(input));
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) as AdoptingJson };
}

describe("adopting existing buckets (examples/adopt.config.json)", () => {
  const { text, json } = synth(adoptInput());
  const primary = logicalName(json, "aws_s3_bucket", "primary/bucket");
  const replica = logicalName(json, "aws_s3_bucket", "replica/bucket");

  it("imports both buckets by name, each through its region's provider, instead of creating them", () => {
    expect(json.import).toEqual([
      { to: `aws_s3_bucket.${primary}`, id: "acme-www-site" },
      { to: `aws_s3_bucket.${replica}`, id: "acme-www-site-replica", provider: "aws.replica" },
    ]);
  });

  it.each([
    ["primary", "us-east-1"],
    ["replica", "us-west-2"],
  ])("never destroys the adopted %s bucket and checks that it is in %s", (role, region) => {
    const bucket = resourceAt(json, "aws_s3_bucket", `${role}/bucket`);
    expect(bucket).toMatchObject({
      force_destroy: false,
      lifecycle: {
        prevent_destroy: true,
        postcondition: [
          {
            condition: `\${self.region == "${region}"}`,
            error_message: expect.stringContaining(`must be in ${region}`),
          },
        ],
      },
    });
  });

  it.each(["primary", "replica"])(
    "adds versioning, encryption, the public-access block and TLS-only policy to the %s bucket",
    (role) => {
      const bucketId = `\${aws_s3_bucket.${role === "primary" ? primary : replica}.id}`;
      expect(text).toHaveResourceWithProperties(S3BucketVersioningA, {
        bucket: bucketId,
        versioning_configuration: { status: "Enabled" },
      });
      expect(text).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, { bucket: bucketId });
      expect(text).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
        bucket: bucketId,
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(text).toHaveResourceWithProperties(S3BucketPolicy, { bucket: bucketId });
    },
  );

  it.each(["primary", "replica"])("enforces bucket-owner ownership (ACLs off) on the %s bucket", (role) => {
    expect(resourceAt(json, "aws_s3_bucket_ownership_controls", `${role}/ownership`)).toMatchObject({
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
  });

  it("keeps ACLs working on a bucket that opts out, which the security rules still flag", () => {
    const input = adoptInput();
    const optOut = {
      ...input,
      storage: {
        ...input.storage,
        adopt: { primary: {}, replica: { objectOwnership: "BucketOwnerPreferred" as const } },
      },
    };
    const { json: optedOut } = synth(optOut);
    expect(resourceAt(optedOut, "aws_s3_bucket_ownership_controls", "replica/ownership")).toMatchObject({
      rule: { object_ownership: "BucketOwnerPreferred" },
    });
    expect(resourceAt(optedOut, "aws_s3_bucket_ownership_controls", "primary/ownership")).toMatchObject({
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
    expect(policyViolations(synthApp(optOut).stacks)).toEqual([
      expect.objectContaining({
        rule: "bucket-owner-enforced",
        resource: expect.stringMatching(/^aws_s3_bucket\.replica_bucket_/),
      }),
    ]);
  });

  it("gives the offline plan a stand-in for each imported bucket, in its provider's region", () => {
    expect(fabricateImports(json)).toEqual([
      {
        target: `aws_s3_bucket.${primary}`,
        from: "import of acme-www-site",
        values: expect.objectContaining({
          id: "acme-www-site",
          bucket: "acme-www-site",
          arn: "arn:aws:s3:::acme-www-site",
          region: "us-east-1",
          bucket_regional_domain_name: "acme-www-site.s3.us-east-1.amazonaws.com",
        }),
      },
      {
        target: `aws_s3_bucket.${replica}`,
        from: "import of acme-www-site-replica",
        values: expect.objectContaining({ id: "acme-www-site-replica", region: "us-west-2" }),
      },
    ]);
  });

  it("synthesizes the whole app, which passes the security rules, the other stacks reading the adopted buckets as before", () => {
    const app = synthApp(adoptInput());
    expect(policyViolations(app.stacks)).toEqual([]);
    expect(Object.keys(app.stacks).sort()).toEqual(["cdn", "image", "operations", "storage-replication"]);
    for (const [id, stack] of Object.entries(app.stacks)) {
      if (id !== "storage-replication") expect((stack as AdoptingJson).import).toBeUndefined();
    }
  });
});

describe("creating buckets (nothing adopted)", () => {
  it("has no import blocks and no prevent_destroy", () => {
    const { json } = synth({});
    expect(json.import).toBeUndefined();
    expect(resourceAt(json, "aws_s3_bucket", "primary/bucket").lifecycle).toBeUndefined();
  });
});

describe("adoption config", () => {
  it("requires the name of the bucket to adopt", () => {
    expect(configProblems({ storage: { adopt: { primary: {} } } })).toEqual([
      "storage.primaryBucketName: is required while storage.adopt.primary is set: name the existing bucket to adopt",
    ]);
  });

  it("refuses forceDestroy while a bucket is adopted", () => {
    expect(
      configProblems({
        storage: { replicaBucketName: "acme-old-replica", forceDestroy: true, adopt: { replica: {} } },
      }),
    ).toEqual([
      "storage.forceDestroy: must be false while storage.adopt.replica is set: an adopted bucket is never destroyed",
    ]);
  });

  it("accepts only the ownership settings S3 offers that keep the bucket owner in charge", () => {
    expect(
      configProblems({
        storage: { primaryBucketName: "acme-site", adopt: { primary: { objectOwnership: "ObjectWriter" } } },
      }),
    ).toEqual([
      expect.stringMatching(/^storage\.adopt\.primary\.objectOwnership: .*BucketOwnerEnforced.*BucketOwnerPreferred/),
    ]);
  });
});
