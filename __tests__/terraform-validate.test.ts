import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { App, TerraformStack } from "cdktf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_DIR, type S3EdgeConfigInput } from "../config";
import { awsProvider } from "../constructs/providers";
import { awsProviderVersion } from "../scripts/provider-version";
import { checkSynthesizedStacks, findToolchain, type StackCheck } from "../scripts/terraform-check";
import { addConsumerStack, CONSUMER_STACK_ID } from "./support/cross-stack";
import { fullConfigInput, synthApp } from "./support/synth";

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
const GOOGLE_PROVIDER = "registry.terraform.io/hashicorp/google";
const toolchain = findToolchain(process.env, awsProviderVersion());
const unavailable = typeof toolchain === "string" ? toolchain : undefined;
if (unavailable) {
  console.warn(`terraform validate tests skipped: ${unavailable}`);
}
const describeWithTerraform = unavailable ? describe.skip : describe;

const COMMON_STACKS = [CONSUMER_STACK_ID, "cdn", "dns-cert", "image", "object-stats", "storage-replication"];
const EXPECTED_STACKS: Record<string, string[]> = {
  default: [...COMMON_STACKS, "edge"].sort(),
  full: [...COMMON_STACKS, "edge", "gcs-origin"].sort(),
  "edge-off-ecs": [...COMMON_STACKS].sort(),
};

/** Runs the same checks as `npm run validate` on whatever `synthesize` writes into a temp dir. */
async function check(label: string, synthesize: (outdir: string) => void): Promise<StackCheck[]> {
  if (typeof toolchain === "string") throw new Error(toolchain);
  const outdir = mkdtempSync(join(tmpdir(), "s3-edge-tf-"));
  try {
    synthesize(outdir);
    return await checkSynthesizedStacks({
      toolchain,
      outdir,
      workDir: join(BUILD_DIR, "terraform", `test-${label}`),
      awsVersion: awsProviderVersion(),
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
  it.each([
    ["default", {}],
    ["full", fullConfigInput()],
    ["edge-off-ecs", { ...ECS_IN_EXISTING_VPC, edge: { enabled: false } }],
  ] as const)(
    "passes for every stack of the %s config",
    async (label, input) => {
      const checks = await check(label, (outdir) => synthApp(input, { outdir, extend: addConsumerStack }));
      for (const stack of checks) {
        // Only google-provider stacks may go unvalidated: there is no mirror of that provider here.
        const googleOnly = stack.notes.some((note) =>
          note.startsWith(`not validated: no filesystem mirror of ${GOOGLE_PROVIDER}`),
        );
        // The notes carry terraform's diagnostics, so a failure shows why.
        expect({ stack: stack.stack, validate: stack.validate, notes: stack.notes }).toEqual({
          stack: stack.stack,
          validate: googleOnly ? "skipped" : "passed",
          notes: stack.validate === "failed" ? [] : expect.any(Array),
        });
      }
      // Back-to-origin is on in the default (public GCS) and full (private GCS) configs.
      expect(checks.map((c) => c.stack).sort()).toEqual(EXPECTED_STACKS[label]);
      // With a public bucket storage-replication reads nothing (account ids come from resource
      // ARNs), so it plans offline; with a private one it reads the HMAC key from gcs-origin's state.
      expect(checks.find((c) => c.stack === "storage-replication")).toMatchObject(
        label === "full"
          ? {
              validate: "passed",
              plan: "skipped",
              notes: [expect.stringMatching(/^plan skipped: reads terraform_remote_state/)],
            }
          : {
              validate: "passed",
              plan: "passed",
              notes: expect.arrayContaining([expect.stringMatching(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/)]),
            },
      );
      // Reads the account id and the primary bucket from remote state: validated, not planned offline.
      expect(checks.find((c) => c.stack === "object-stats")).toMatchObject({ validate: "passed", plan: "skipped" });
      expect(checks.find((c) => c.stack === CONSUMER_STACK_ID)).toMatchObject({
        validate: "passed",
        plan: "skipped",
        notes: [expect.stringMatching(/^plan skipped: reads terraform_remote_state/)],
      });
    },
    180_000,
  );

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
