import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Fn, TerraformStack, Testing } from "cdktf";
import { unzipSync } from "fflate";
import type { S3EdgeConfigInput } from "../../config";
import { FunctionBundler } from "../../packaging/bundle";
import { EdgeFunction, EdgeFunctionError } from "../../constructs/edge-function";
import { awsProvider } from "../../aws/provider";
import type { S3EdgeStacks } from "../../stacks";
import { GCS_XML_API_DOMAIN } from "../../contracts/cross-stack";
import { parsePolicy, type Statement } from "../support/policy-checks";
import { fullConfigInput, referenceTo, resourceAt, resourcesOf, synthApp, type StackJson } from "../support/synth";
import { TESTS_DIR } from "../support/paths";

const SAMPLE_ENTRY = join(TESTS_DIR, "fixtures", "functions", "sample", "index.ts");
const REMOTE_QUEUE_ARN =
  /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage-replication\.outputs\.[A-Za-z0-9_-]+\}$/;

function synthWithStacks(input: S3EdgeConfigInput) {
  let built: S3EdgeStacks | undefined;
  const app = synthApp(input, { extend: (_app, stacks) => (built = stacks) });
  return { app, stacks: built!, edge: app.stacks.edge };
}

const statements = (body: Record<string, unknown>, attribute = "policy"): Statement[] => {
  const parsed = parsePolicy(body[attribute]);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

/** The minified code of a bundle. */
const bundleCode = (zipPath: string): string =>
  Buffer.from(unzipSync(readFileSync(zipPath))["index.js"]).toString("utf8");

describe("edge stack with the full (private GCS) config", () => {
  const { app, stacks, edge } = synthWithStacks(fullConfigInput());
  const notify = resourceAt(edge, "aws_lambda_function", "backfill-notify/function");
  const signer = resourceAt(edge, "aws_lambda_function", "gcs-signer/function");

  it("declares us-east-1 as the stack's only aws provider, whatever the primary region", () => {
    expect(app.config.primaryRegion).toBe("eu-west-1");
    expect(edge.provider?.aws).toEqual([
      expect.objectContaining({
        region: "us-east-1",
        default_tags: [{ tags: expect.objectContaining({ Stack: "edge" }) }],
      }),
    ]);
    expect(edge.provider?.aws?.[0].alias).toBeUndefined();
  });

  it.each([
    ["backfill-notify", "acme-media-backfill-notify"],
    ["gcs-signer", "acme-media-gcs-signer"],
  ])("publishes %s as an x86_64 nodejs22.x version without environment variables", (id, functionName) => {
    const fn = resourceAt(edge, "aws_lambda_function", `${id}/function`);
    expect(fn).toMatchObject({
      function_name: functionName,
      publish: true,
      architectures: ["x86_64"],
      runtime: "nodejs22.x",
      memory_size: 128,
      timeout: 5,
    });
    expect(fn).not.toHaveProperty("environment");
    expect(app.config.lambda.architecture).toBe("arm64"); // the config's choice does not reach the edge
  });

  it.each(["backfill-notify", "gcs-signer"])("lets Lambda and Lambda@Edge assume the %s role", (id) => {
    expect(statements(resourceAt(edge, "aws_iam_role", `${id}/function/role`), "assume_role_policy")).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: ["lambda.amazonaws.com", "edgelambda.amazonaws.com"] },
        Action: "sts:AssumeRole",
      },
    ]);
  });

  it("keeps the us-east-1 log group with retention, and lets each function log under its name in any region", () => {
    const account = "${data.aws_caller_identity.account.account_id}";
    for (const [id, name] of [
      ["backfill-notify", "acme-media-backfill-notify"],
      ["gcs-signer", "acme-media-gcs-signer"],
    ]) {
      expect(resourceAt(edge, "aws_cloudwatch_log_group", `${id}/function/logs`)).toMatchObject({
        name: `/aws/lambda/us-east-1.${name}`,
        retention_in_days: 90,
      });
      expect(statements(resourceAt(edge, "aws_iam_role_policy", `${id}/function/policy`))[0]).toEqual({
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`arn:aws:logs:*:${account}:log-group:/aws/lambda/us-east-1.${name}:*`],
      });
    }
  });

  it("lets backfill-notify send to the backfill queue only (its ARN read from storage-replication)", () => {
    const policy = statements(resourceAt(edge, "aws_iam_role_policy", "backfill-notify/function/policy"));
    expect(policy.slice(1)).toEqual([
      {
        Sid: "QueueBackfillJobs",
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Resource: expect.stringMatching(REMOTE_QUEUE_ARN),
      },
    ]);
    const output = String(policy[1].Resource).match(/outputs\.([A-Za-z0-9_-]+)\}/)![1];
    expect(app.stacks["storage-replication"].output?.[output].value).toBe(
      referenceTo(app.stacks["storage-replication"], "aws_sqs_queue", "backfill/queue", "arn"),
    );
  });

  it("lets gcs-signer read only the us-east-1 replica of the HMAC secret", () => {
    const policy = statements(resourceAt(edge, "aws_iam_role_policy", "gcs-signer/function/policy"));
    expect(policy.slice(1)).toEqual([
      {
        Sid: "ReadGcsHmacKey",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource:
          "arn:aws:secretsmanager:us-east-1:${data.aws_caller_identity.account.account_id}:secret:acme-media/gcs-hmac-*",
      },
    ]);
  });

  it("exposes the associations with qualified ARNs and the GCS origin as typed fields", () => {
    const stack = stacks.edge!;
    expect(stack.attachments).toEqual({ associations: stack.associations, legacyOrigin: stack.legacyOrigin });
    expect(stack.legacyOrigin).toEqual({ domainName: GCS_XML_API_DOMAIN, originPath: "/acme-media-legacy" });
    expect(stack.associations.map((a) => [a.eventType, a.includeBody])).toEqual([
      ["origin-response", false],
      ["origin-request", false],
    ]);
    // The same tokens as the outputs below, which resolve to each function's qualified_arn.
    expect(stack.associations.map((a) => a.qualifiedArn)).toEqual([
      stack.notify.qualifiedArn,
      stack.signer!.qualifiedArn,
    ]);
    expect(edge.output?.backfill_notify_qualified_arn.value).toBe(
      referenceTo(edge, "aws_lambda_function", "backfill-notify/function", "qualified_arn"),
    );
    expect(edge.output?.gcs_signer_qualified_arn.value).toBe(
      referenceTo(edge, "aws_lambda_function", "gcs-signer/function", "qualified_arn"),
    );
  });

  it("bakes the synth-time constants into the bundles", () => {
    const notifyCode = bundleCode(stacks.edge!.notify.bundled.bundle.zipPath);
    expect(notifyCode).toContain('"acme-media-backfill"');
    expect(notifyCode).toContain('"eu-west-1"');
    expect(notifyCode).toContain(`"${GCS_XML_API_DOMAIN}"`);
    const signerCode = bundleCode(stacks.edge!.signer!.bundled.bundle.zipPath);
    expect(signerCode).toContain('"acme-media/gcs-hmac"');
    expect(signerCode).toContain('"us-east-1"');
    // No identifier left for the runtime to resolve (quoted names in error messages are fine).
    for (const code of [notifyCode, signerCode]) expect(code).not.toMatch(/(?<![\w"])__[A-Z_]+__(?![\w"])/);
    expect(notify.source_code_hash).toBe(stacks.edge!.notify.bundled.bundle.sha256);
    expect(signer.source_code_hash).toBe(stacks.edge!.signer!.bundled.bundle.sha256);
  });

  it("puts no secret and no apply-time token in any bundle of the app", () => {
    const bundles = [
      stacks.edge!.notify.bundled.bundle,
      stacks.edge!.signer!.bundled.bundle,
      ...[...stacks.storageReplication.node.findAll()]
        .filter((c) => "bundle" in c && "function" in c)
        .map((c) => (c as unknown as { bundle: { zipPath: string } }).bundle),
    ];
    expect(bundles).toHaveLength(4);
    for (const { zipPath } of bundles) {
      const code = bundleCode(zipPath);
      // A literal secret value (the "..." placeholder of an error message describing the format is fine).
      expect(code).not.toMatch(/TfToken|terraform_remote_state|hmac_secret|secretAccessKey"\s*:\s*"(?!\.\.\.")/);
      expect(code).not.toMatch(/GOOG1[A-Z0-9]{10,}/);
    }
  });
});

describe("edge stack with the default (public GCS) config", () => {
  const { stacks, edge } = synthWithStacks({});

  it("has backfill-notify only: a public bucket needs no signer", () => {
    expect(resourcesOf(edge, "aws_lambda_function").map(([, fn]) => fn.function_name)).toEqual([
      "s3edge-example-backfill-notify",
    ]);
    expect(stacks.edge!.signer).toBeUndefined();
    expect(stacks.edge!.attachments.associations).toEqual([
      { eventType: "origin-response", qualifiedArn: stacks.edge!.notify.qualifiedArn, includeBody: false },
    ]);
    expect(JSON.stringify(edge)).not.toContain("secretsmanager");
  });

  it("compiles in the primary region of this config", () => {
    const code = bundleCode(stacks.edge!.notify.bundled.bundle.zipPath);
    expect(code).toContain('"s3edge-example-backfill"');
    expect(code).toContain('"us-east-2"');
  });

  it("takes memory and timeout from config", () => {
    const { edge: tuned } = synthWithStacks({ edge: { memoryMb: 256, timeoutSeconds: 10 } });
    expect(resourceAt(tuned, "aws_lambda_function", "backfill-notify/function")).toMatchObject({
      memory_size: 256,
      timeout: 10,
    });
  });
});

describe("EdgeFunction refuses what Lambda@Edge refuses", () => {
  const bundleDir = mkdtempSync(join(tmpdir(), "s3-edge-edgefn-"));
  afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));
  const bundler = new FunctionBundler(bundleDir);

  function build(region: string, overrides: Partial<ConstructorParameters<typeof EdgeFunction>[2]> = {}) {
    const stack = new TerraformStack(Testing.app(), "edge-rules");
    const provider = awsProvider(stack, "aws", { region, tags: {}, stackId: "edge-rules" });
    return new EdgeFunction(stack, "fn", {
      name: "sample",
      entry: SAMPLE_ENTRY,
      functionName: "rules-edge",
      eventType: "origin-request",
      provider,
      accountId: "123456789012",
      bundler,
      ...overrides,
    });
  }

  it("a provider outside us-east-1", () => {
    expect(() => build("eu-west-1")).toThrow(
      new EdgeFunctionError("rules-edge", "needs a provider for us-east-1, got eu-west-1"),
    );
  });

  it.each([
    ["origin timeout over 30 s", { timeout: 31 }, /timeout 31 s is outside 1-30 s, the range for origin events/],
    ["viewer timeout over 5 s", { eventType: "viewer-request", timeout: 6 }, /timeout 6 s is outside 1-5 s/],
    [
      "viewer memory over 128 MB",
      { eventType: "viewer-response", memorySize: 256 },
      /memory 256 MB is outside 128-128 MB/,
    ],
    ["memory under 128 MB", { memorySize: 64 }, /memory 64 MB is outside 128-10240 MB/],
  ] as const)("%s", (_name, overrides, message) => {
    expect(() => build("us-east-1", overrides)).toThrow(message);
  });

  it("a constant only known at apply time (it would be baked as a token string)", () => {
    const stack = new TerraformStack(Testing.app(), "edge-token");
    const provider = awsProvider(stack, "aws", { region: "us-east-1", tags: {}, stackId: "edge-token" });
    expect(
      () =>
        new EdgeFunction(stack, "fn", {
          name: "sample",
          entry: SAMPLE_ENTRY,
          functionName: "rules-edge",
          eventType: "origin-response",
          provider,
          accountId: "123456789012",
          constants: { __REGION__: Fn.lower("US-EAST-2") },
          bundler,
        }),
    ).toThrow(/constant __REGION__ is only known at apply time/);
  });

  it("accepts the limits themselves", () => {
    const fn = build("us-east-1", { timeout: 30, memorySize: 10_240 });
    const json = JSON.parse(Testing.synth(fn.node.scope as TerraformStack)) as StackJson;
    expect(resourceAt(json, "aws_lambda_function", "fn/function")).toMatchObject({
      timeout: 30,
      memory_size: 10240,
    });
  });
});
