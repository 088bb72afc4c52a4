import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { App, TerraformStack } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_DIR, type S3EdgeConfigInput } from "../../config";
import { configureBackend } from "../../aws/backend";
import { awsProvider } from "../../aws/provider";
import { awsProviderVersion } from "../../scripts/provider-version";
import { checkSynthesizedStacks, findToolchain, type StackCheck } from "../../scripts/terraform-check";
import { addConsumerStack, CONSUMER_STACK_ID } from "../support/cross-stack";
import { chinaConfigInput, exampleConfigInput, FULL_CONFIG_FILE, fullConfigInput, synthApp } from "../support/synth";

const ECS_IN_EXISTING_VPC: S3EdgeConfigInput = {
  image: {
    variant: "ecs",
    ecs: {
      vpc: {
        vpcId: "vpc-0123456789abcdef0",
        privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
      },
    },
  },
};
const STANDALONE_CONFIG_FILE = join(FULL_CONFIG_FILE, "..", "standalone-invalidation.config.json");
const ADOPT_CONFIG_FILE = join(FULL_CONFIG_FILE, "..", "adopt.config.json");
/** Only storage-replication: the fastest app with a producer of cross-stack values. */
const STORAGE_ONLY: S3EdgeConfigInput = {
  legacyOrigin: null,
  domain: null,
  edge: { enabled: false },
  cdn: { enabled: false },
  image: { enabled: false },
  objectStats: { enabled: false },
};
const GOOGLE_PROVIDER = "registry.terraform.io/hashicorp/google";
const toolchain = findToolchain(process.env, awsProviderVersion());
const unavailable = typeof toolchain === "string" ? toolchain : undefined;
if (unavailable) {
  console.warn(`terraform validate tests skipped: ${unavailable}`);
}
const describeWithTerraform = unavailable ? describe.skip : describe;

const COMMON_STACKS = [
  CONSUMER_STACK_ID,
  "cdn",
  "dns-cert",
  "image",
  "object-stats",
  "operations",
  "storage-replication",
];
const EXPECTED_STACKS: Record<string, string[]> = {
  default: [...COMMON_STACKS, "edge"].sort(),
  full: [...COMMON_STACKS, "edge", "gcs-origin"].sort(),
  "edge-off-ecs": [...COMMON_STACKS].sort(),
  // No domain, no image service, no object statistics: what the legacy-origin examples leave.
  "s3-compatible-origin": [CONSUMER_STACK_ID, "cdn", "edge", "operations", "storage-replication"].sort(),
  "https-origin": [CONSUMER_STACK_ID, "cdn", "edge", "operations", "storage-replication"].sort(),
  // aws-cn: no dns-cert (no ACM for CloudFront, DNS at the Chinese registrar), no edge (no Lambda@Edge).
  china: ["cdn", "image", "object-stats", "operations", "storage-replication"],
};

/** Runs the same checks as `npm run validate` on whatever `synthesize` writes into a temp dir. */
async function check(label: string, synthesize: (outdir: string) => void, plan = false): Promise<StackCheck[]> {
  if (typeof toolchain === "string") throw new Error(toolchain);
  const outdir = mkdtempSync(join(tmpdir(), "s3-edge-tf-"));
  try {
    synthesize(outdir);
    return await checkSynthesizedStacks({
      toolchain,
      outdir,
      workDir: join(BUILD_DIR, "terraform", `test-${label}`),
      awsVersion: awsProviderVersion(),
      plan,
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describeWithTerraform("terraform validate against the local hashicorp/aws mirror", () => {
  // Each app gets a test-only stack that reads storage-replication's outputs, so that the
  // remote-state readers are validated too: local backend in the default config, S3 in the full one.
  // default: public GCS, Lambda image variant; full: private GCS, both image variants in a created
  // VPC; edge-off-ecs: no edge functions, the ECS variant in an existing VPC.
  it("plans every stack of the default config offline, in apply order, with fabricated upstream values", async () => {
    const checks = await check("default", (outdir) => synthApp({}, { outdir, extend: addConsumerStack }), true);
    expect(checks.map((c) => c.stack).sort()).toEqual(EXPECTED_STACKS.default);
    for (const stack of checks) {
      // The notes carry terraform's diagnostics, so a failure shows why.
      expect({ stack: stack.stack, validate: stack.validate, plan: stack.plan, notes: stack.notes }).toEqual({
        stack: stack.stack,
        validate: "passed",
        plan: "passed",
        notes: expect.arrayContaining([expect.stringMatching(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/)]),
      });
      expect(stack.toAdd).toBeGreaterThan(0);
    }
    // Apply order: a stack is planned only after every stack it reads.
    const order = checks.map((c) => c.stack);
    for (const [downstream, upstream] of [
      ["edge", "storage-replication"],
      ["cdn", "edge"],
      ["cdn", "image"],
      ["cdn", "dns-cert"],
      ["image", "storage-replication"],
    ]) {
      expect(order.indexOf(downstream)).toBeGreaterThan(order.indexOf(upstream));
    }
    // What stood in for AWS and the other stacks' state is reported.
    expect(checks.find((c) => c.stack === "cdn")?.fabricated).toEqual(
      expect.arrayContaining([expect.stringMatching(/^storage-replication outputs \(\d+: .*aws_s3_bucket\.arn/)]),
    );
    expect(checks.find((c) => c.stack === "dns-cert")?.fabricated).toEqual([
      expect.stringMatching(/^data\.aws_route53_zone\.zone/),
    ]);
  }, 900_000);

  // Validate only (the examples are also planned by `.ci/run`): full: private GCS, both image
  // variants in a created VPC, S3 backend; edge-off-ecs: no edge functions, the ECS variant in an
  // existing VPC. Each app gets a test-only stack that reads storage-replication's outputs.
  it.each([
    ["full", fullConfigInput()],
    ["edge-off-ecs", { ...ECS_IN_EXISTING_VPC, edge: { enabled: false } }],
    ["s3-compatible-origin", exampleConfigInput("s3-compatible-origin")],
    ["https-origin", exampleConfigInput("https-origin")],
  ] as const)(
    "validates every stack of the %s config",
    async (label, input) => {
      const checks = await check(label, (outdir) => synthApp(input, { outdir, extend: addConsumerStack }));
      for (const stack of checks) {
        // Only google-provider stacks may go unvalidated: there is no mirror of that provider here.
        const googleOnly = stack.notes.some((note) =>
          note.startsWith(`not validated: no filesystem mirror of ${GOOGLE_PROVIDER}`),
        );
        expect({ stack: stack.stack, validate: stack.validate, plan: stack.plan, notes: stack.notes }).toEqual({
          stack: stack.stack,
          validate: googleOnly ? "skipped" : "passed",
          plan: "skipped",
          notes: stack.validate === "failed" ? [] : expect.any(Array),
        });
      }
      expect(checks.map((c) => c.stack).sort()).toEqual(EXPECTED_STACKS[label]);
    },
    900_000,
  );

  it("passes for the standalone invalidation example (buckets and distributions s3-edge does not own)", async () => {
    const input = JSON.parse(readFileSync(STANDALONE_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;
    const checks = await check("standalone-invalidation", (outdir) => synthApp(input, { outdir }), true);
    // The invalidation stack's alarms read storage-replication's ops topics: planned after it.
    expect(checks.map((c) => ({ stack: c.stack, validate: c.validate, plan: c.plan }))).toEqual(
      expect.arrayContaining([
        { stack: "storage-replication", validate: "passed", plan: "passed" },
        { stack: "invalidation", validate: "passed", plan: "passed" },
        { stack: "operations", validate: "passed", plan: "passed" },
      ]),
    );
    expect(checks).toHaveLength(3);
    // The distributions are read from AWS: the plan stands in for them.
    expect(checks.find((c) => c.stack === "invalidation")?.fabricated).toEqual(
      expect.arrayContaining([expect.stringMatching(/^data\.aws_cloudfront_distribution\./)]),
    );
  }, 900_000);

  it("plans every stack of the China example offline: aws-cn providers, partition data sources, no credentials", async () => {
    const checks = await check("china", (outdir) => synthApp(chinaConfigInput(), { outdir }), true);
    expect(checks.map((c) => c.stack).sort()).toEqual(EXPECTED_STACKS.china);
    for (const stack of checks) {
      expect({ stack: stack.stack, validate: stack.validate, plan: stack.plan }).toEqual({
        stack: stack.stack,
        validate: "passed",
        plan: "passed",
      });
    }
    // The cdn reads the image stack's origin access identity (its bucket-policy principal).
    expect(checks.find((c) => c.stack === "cdn")?.fabricated).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^image outputs \(\d+: aws_cloudfront_origin_access_identity\.iam_arn\)$/),
      ]),
    );
  }, 900_000);

  it("plans the adoption example offline: the imports are planned against stand-ins for the existing buckets", async () => {
    const input = JSON.parse(readFileSync(ADOPT_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;
    const checks = await check("adopt", (outdir) => synthApp(input, { outdir }), true);
    expect(checks.map((c) => ({ stack: c.stack, validate: c.validate, plan: c.plan }))).toEqual(
      ["storage-replication", "image", "cdn", "operations"].map((stack) => ({
        stack,
        validate: "passed",
        plan: "passed",
      })),
    );
    const storage = checks.find((c) => c.stack === "storage-replication")!;
    expect(storage).toMatchObject({
      toImport: 2,
      notes: expect.arrayContaining([
        expect.stringMatching(/^Plan: 2 to import, \d+ to add, 0 to change, 0 to destroy\.$/),
      ]),
      fabricated: expect.arrayContaining([
        expect.stringMatching(/^aws_s3_bucket\.primary_bucket_[0-9A-F]{8} \(import of acme-www-site\)$/),
        expect.stringMatching(/^aws_s3_bucket\.replica_bucket_[0-9A-F]{8} \(import of acme-www-site-replica\)$/),
      ]),
    });
    // Only the adopting stack imports anything.
    for (const other of checks.filter((c) => c.stack !== "storage-replication")) expect(other.toImport).toBeUndefined();
  }, 900_000);

  it("fails the plan of a stack that wires a bucket name into an ARN argument, with terraform's message", async () => {
    const checks = await check(
      "miswired",
      (outdir) =>
        synthApp(STORAGE_ONLY, {
          outdir,
          extend: (app, stacks, config) => {
            const miswired = new TerraformStack(app, "miswired");
            configureBackend(miswired, "miswired", config.backend);
            awsProvider(miswired, "aws", { region: config.primaryRegion, tags: {}, stackId: "miswired" });
            new IamRolePolicyAttachment(miswired, "attachment", {
              role: "s3-edge-test",
              policyArn: stacks.storageReplication.primary.name, // a bucket name where an ARN belongs
            });
          },
        }),
      true,
    );
    expect(checks.find((c) => c.stack === "storage-replication")).toMatchObject({ plan: "passed" });
    expect(checks.find((c) => c.stack === "miswired")).toMatchObject({
      validate: "passed",
      plan: "failed",
      fabricated: [expect.stringMatching(/^storage-replication outputs \(1: aws_s3_bucket\.bucket\)$/)],
      notes: [expect.stringMatching(/Error: .*invalid.*ARN|Error: .*ARN/is)],
    });
  }, 900_000);

  it("fails a stack that terraform rejects, with terraform's diagnostic", async () => {
    const checks = await check("broken", (outdir) => {
      const app = new App({ outdir });
      const broken = new TerraformStack(app, "broken");
      awsProvider(broken, "aws", { region: "us-east-2", tags: {}, stackId: "broken" });
      new S3Bucket(broken, "bucket", { bucket: "s3edge-broken" }).addOverride("no_such_argument", true);
      app.synth();
    });
    expect(checks.find((c) => c.stack === "broken")).toMatchObject({
      validate: "failed",
      plan: "skipped",
      notes: [expect.stringMatching(/^error: .*No argument or block type is named "no_such_argument"/)],
    });
  }, 180_000);
});
