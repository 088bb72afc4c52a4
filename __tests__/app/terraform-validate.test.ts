import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { TerraformStack } from "cdktf";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_DIR, type S3EdgeConfigInput } from "../../config";
import { configureBackend } from "../../aws/backend";
import { awsProvider } from "../../aws/provider";
import { awsProviderVersion } from "../../scripts/provider-version";
import { checkSynthesizedStacks, findToolchain, type StackCheck } from "../../scripts/terraform-check";
import { addConsumerStack, CONSUMER_STACK_ID } from "../support/cross-stack";
import { synthApp } from "../support/synth";

/** Only storage-replication: the fastest app with a producer of cross-stack values. */
const STORAGE_ONLY: S3EdgeConfigInput = {
  legacyOrigin: null,
  domain: null,
  edge: { enabled: false },
  cdn: { enabled: false },
  image: { enabled: false },
  objectStats: { enabled: false },
};
const toolchain = findToolchain(process.env, awsProviderVersion());
const unavailable = typeof toolchain === "string" ? toolchain : undefined;
if (unavailable) {
  console.warn(`terraform validate tests skipped: ${unavailable}`);
}
const describeWithTerraform = unavailable ? describe.skip : describe;

/** Runs the same checks as `npm run validate` on whatever `synthesize` writes into a temp dir. */
async function check(
  label: string,
  synthesize: (outdir: string) => void,
  options: { plan: boolean; stacks: readonly string[] },
): Promise<StackCheck[]> {
  if (typeof toolchain === "string") throw new Error(toolchain);
  const outdir = mkdtempSync(join(tmpdir(), "s3-edge-tf-"));
  try {
    synthesize(outdir);
    return await checkSynthesizedStacks({
      toolchain,
      outdir,
      workDir: join(BUILD_DIR, "terraform", `test-${label}`),
      awsVersion: awsProviderVersion(),
      ...options,
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describeWithTerraform("terraform validate against the local hashicorp/aws mirror", () => {
  // Every example config and the built-in defaults are validated and planned by
  // `npm run validate -- --plan --all-examples` in `.ci/run`; here, what proves the harness reports
  // terraform's own failures: beside storage-replication (whose outputs it reads), a stack that
  // wires a bucket name into an ARN argument (valid, but the plan fails) and a stack terraform
  // rejects. Only those two run terraform.
  let checks: StackCheck[];
  beforeAll(async () => {
    checks = await check(
      "failures",
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
            const broken = new TerraformStack(app, "broken");
            awsProvider(broken, "aws", { region: "us-east-2", tags: {}, stackId: "broken" });
            new S3Bucket(broken, "bucket", { bucket: "s3edge-broken" }).addOverride("no_such_argument", true);
          },
        }),
      { plan: true, stacks: ["miswired", "broken"] },
    );
  }, 300_000);

  it("fails the plan of a stack that wires a bucket name into an ARN argument, with terraform's message", () => {
    expect(checks.map((c) => c.stack).sort()).toEqual(["broken", "miswired"]);
    expect(checks.find((c) => c.stack === "miswired")).toMatchObject({
      validate: "passed",
      plan: "failed",
      fabricated: [expect.stringMatching(/^storage-replication outputs \(1: aws_s3_bucket\.bucket\)$/)],
      notes: [expect.stringMatching(/Error: .*invalid.*ARN|Error: .*ARN/is)],
    });
  });

  it("refuses to check a stack the app does not have, naming the ones it has", async () => {
    await expect(
      check("unknown", (outdir) => synthApp(STORAGE_ONLY, { outdir }), { plan: false, stacks: ["cnd"] }),
    ).rejects.toThrow(/no such stack: cnd \(synthesized: .*storage-replication/);
  });

  it("fails a stack that terraform rejects, with terraform's diagnostic", () => {
    expect(checks.find((c) => c.stack === "broken")).toMatchObject({
      validate: "failed",
      plan: "skipped",
      notes: [expect.stringMatching(/^error: .*No argument or block type is named "no_such_argument"/)],
    });
  });
});

/**
 * The harness's own logic (apply order, one init for all stacks, the values fabricated for each
 * plan) on the default config, with a stand-in for the terraform binary that records its calls:
 * real terraform runs on every config in `.ci/run` and above.
 */
describe("the terraform harness on the default config", () => {
  let checks: StackCheck[];
  let calls: string[];
  beforeAll(async () => {
    const scratch = mkdtempSync(join(tmpdir(), "s3-edge-tf-stand-in-"));
    const log = join(scratch, "calls.log");
    const terraform = join(scratch, "terraform");
    writeFileSync(
      terraform,
      [
        "#!/bin/sh",
        `echo "$(basename "$PWD") $1 start" >> ${JSON.stringify(log)}`,
        'case "$1" in',
        "  init) mkdir -p .terraform/providers && touch .terraform.lock.hcl ;;",
        `  validate) echo '{"valid":true,"error_count":0,"warning_count":0,"diagnostics":[]}' ;;`,
        '  test) echo "Plan: 3 to add, 0 to change, 0 to destroy." ;;',
        "esac",
        `echo "$(basename "$PWD") $1 end" >> ${JSON.stringify(log)}`,
        "",
      ].join("\n"),
    );
    chmodSync(terraform, 0o755);
    const outdir = join(scratch, "out");
    try {
      synthApp({}, { outdir, extend: addConsumerStack });
      checks = await checkSynthesizedStacks({
        toolchain: { terraform, mirror: scratch },
        outdir,
        workDir: join(scratch, "work"),
        awsVersion: awsProviderVersion(),
        plan: true,
      });
      calls = readFileSync(log, "utf8").trim().split("\n");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("checks every stack of the default config, planning each after every stack it reads", () => {
    expect(checks.map((c) => c.stack).sort()).toEqual(
      [
        CONSUMER_STACK_ID,
        "cdn",
        "dns-cert",
        "edge",
        "image",
        "object-stats",
        "operations",
        "storage-replication",
      ].sort(),
    );
    for (const stack of checks) {
      expect({ stack: stack.stack, validate: stack.validate, plan: stack.plan, toAdd: stack.toAdd }).toEqual({
        stack: stack.stack,
        validate: "passed",
        plan: "passed",
        toAdd: 3,
      });
    }
    // Apply order: a stack is planned only after every stack it reads.
    const order = checks.map((c) => c.stack);
    const planStarted = (stack: string) => calls.indexOf(`${stack} test start`);
    const planEnded = (stack: string) => calls.indexOf(`${stack} test end`);
    for (const [downstream, upstream] of [
      ["edge", "storage-replication"],
      ["cdn", "edge"],
      ["cdn", "image"],
      ["cdn", "dns-cert"],
      ["image", "storage-replication"],
      [CONSUMER_STACK_ID, "storage-replication"],
    ]) {
      expect(order.indexOf(downstream)).toBeGreaterThan(order.indexOf(upstream));
      expect(planStarted(downstream)).toBeGreaterThan(planEnded(upstream));
    }
  });

  it("runs terraform init once for all stacks, which pin the same provider", () => {
    expect(calls.filter((call) => call.endsWith(" init start"))).toEqual([".init-0 init start"]);
  });

  it("plans each stack once, without a separate validate when the plan passes (terraform test validates first)", () => {
    expect(calls.filter((call) => call.endsWith(" test start"))).toHaveLength(checks.length);
    expect(calls.filter((call) => call.endsWith(" validate start"))).toEqual([]);
  });

  it("reports what stood in for AWS and the other stacks' state", () => {
    expect(checks.find((c) => c.stack === "cdn")?.fabricated).toEqual(
      expect.arrayContaining([expect.stringMatching(/^storage-replication outputs \(\d+: .*aws_s3_bucket\.arn/)]),
    );
    expect(checks.find((c) => c.stack === "dns-cert")?.fabricated).toEqual([
      expect.stringMatching(/^data\.aws_route53_zone\.zone/),
    ]);
  });
});
