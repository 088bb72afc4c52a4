import "../support/cdktf-matchers";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { App, TerraformStack, Testing } from "cdktf";
import { hashPath } from "cdktf/lib/private/fs";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { BUILD_DIR } from "../../config";
import { BundleError, FunctionBundler } from "../../packaging/bundle";
import { BundledFunction } from "../../constructs/bundled-function";
import { awsProvider } from "../../aws/provider";
import { parsePolicy } from "../support/policy-checks";
import { logicalName, referenceTo, resolveGlobalPartition, resourceAt, type StackJson } from "../support/synth";
import { TESTS_DIR } from "../support/paths";

const SAMPLE_ENTRY = join(TESTS_DIR, "fixtures", "functions", "sample", "index.ts");

describe("FunctionBundler", () => {
  let outDir: string;
  beforeEach(() => {
    outDir = mkdtempSync(join(tmpdir(), "s3-edge-bundle-"));
  });
  afterEach(() => rmSync(outDir, { recursive: true, force: true }));

  const bundleSample = (dir = outDir) =>
    new FunctionBundler(dir).bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs22.x" });

  it("builds one small minified file with its source map, leaving @aws-sdk to the runtime", () => {
    const bundle = bundleSample();
    const files = unzipSync(readFileSync(bundle.zipPath));
    expect(Object.keys(files).sort()).toEqual(["index.js", "index.js.map"]);
    const code = Buffer.from(files["index.js"]).toString("utf8");
    expect(code).toContain('require("@aws-sdk/client-s3")');
    expect(code).toContain("hello, ");
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    // A bundle of @aws-sdk/client-s3 alone is over 300 KB: staying tiny proves it is external.
    expect(bundle.codeBytes).toBeLessThan(2_000);
    expect(bundle.zipBytes).toBeLessThan(3_000);
    const map = JSON.parse(Buffer.from(files["index.js.map"]).toString("utf8")) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources.some((source) => source.endsWith("fixtures/functions/sample/greeting.ts"))).toBe(true);
    expect(map.sources.every((source) => !source.startsWith("/"))).toBe(true);
  });

  it("gives byte-identical archives for the same source, whenever and wherever it is built", async () => {
    const first = bundleSample();
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // past the zip format's 2-second clock
    const otherDir = mkdtempSync(join(tmpdir(), "s3-edge-bundle-"));
    try {
      const second = bundleSample(otherDir);
      expect(readFileSync(second.zipPath).equals(readFileSync(first.zipPath))).toBe(true);
      expect(second.sha256).toBe(first.sha256);
      expect(first.sha256).toBe(createHash("sha256").update(readFileSync(first.zipPath)).digest("base64"));
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("stores no build time in the archive", () => {
    const zip = readFileSync(bundleSample().zipPath);
    // Every local file header (PK\x03\x04) carries DOS time and date at offsets 10 and 12.
    let entries = 0;
    for (let offset = zip.indexOf("PK\x03\x04"); offset >= 0; offset = zip.indexOf("PK\x03\x04", offset + 4)) {
      expect(zip.readUInt16LE(offset + 10)).toBe(0); // 00:00:00
      expect(zip.readUInt16LE(offset + 12)).toBe((0 << 9) | (1 << 5) | 1); // 1980-01-01
      entries++;
    }
    expect(entries).toBe(2);
  });

  it("builds each bundle once, however many functions use it", () => {
    const bundler = new FunctionBundler(outDir);
    const first = bundler.bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs22.x" });
    const second = bundler.bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs22.x" });
    expect(second).toBe(first);
    expect(bundler.stats).toEqual({ builds: 1, cacheHits: 1 });
    bundler.bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs24.x" });
    expect(bundler.stats.builds).toBe(2);
  });

  it("reuses a zip a previous synth made from the same code, without zipping again", () => {
    const first = bundleSample();
    const written = statSync(first.zipPath).mtimeMs;
    const again = bundleSample();
    expect(again).toEqual(first);
    expect(statSync(again.zipPath).mtimeMs).toBe(written);
    // A zip removed from disk is made again, identical.
    rmSync(first.zipPath);
    expect(bundleSample()).toEqual(first);
    expect(existsSync(first.zipPath)).toBe(true);
  });

  it("reuses a bundle an earlier process built from the same sources, and builds again when one changes", () => {
    const dir = mkdtempSync(join(BUILD_DIR, "sources-"));
    try {
      for (const file of ["index.ts", "greeting.ts"])
        writeFileSync(join(dir, file), readFileSync(join(SAMPLE_ENTRY, "..", file)));
      const bundleCopy = () =>
        new FunctionBundler(outDir).bundle({ entry: join(dir, "index.ts"), runtime: "nodejs22.x" });
      const first = bundleCopy();
      // Another process (a new bundler) whose sources are unchanged: the recorded bundle, no zip written.
      const written = statSync(first.zipPath).mtimeMs;
      expect(bundleCopy()).toEqual(first);
      expect(statSync(first.zipPath).mtimeMs).toBe(written);
      // An imported module changes: a new bundle holding the change.
      writeFileSync(join(dir, "greeting.ts"), "export const greeting = (name: string): string => `hi, ${name}`;\n");
      const changed = bundleCopy();
      expect(changed.sha256).not.toBe(first.sha256);
      expect(Buffer.from(unzipSync(readFileSync(changed.zipPath))["index.js"]).toString("utf8")).toContain("hi, ");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compiles define constants in, and keys the cache on them", () => {
    const bundler = new FunctionBundler(outDir);
    const entry = join(TESTS_DIR, "fixtures", "functions", "constants", "index.ts");
    const define = { __TARGET_QUEUE__: '"media-backfill"', __TARGET_REGION__: '"eu-west-1"' };
    const first = bundler.bundle({ entry, runtime: "nodejs22.x", define });
    const code = Buffer.from(unzipSync(readFileSync(first.zipPath))["index.js"]).toString("utf8");
    expect(code).toContain('"media-backfill"');
    expect(code).toContain('"eu-west-1"');
    expect(code).not.toContain("__TARGET_");
    const reordered = bundler.bundle({
      entry,
      runtime: "nodejs22.x",
      define: { __TARGET_REGION__: '"eu-west-1"', __TARGET_QUEUE__: '"media-backfill"' },
    });
    expect(reordered).toBe(first);
    const other = bundler.bundle({
      entry,
      runtime: "nodejs22.x",
      define: { ...define, __TARGET_REGION__: '"us-east-2"' },
    });
    expect(other.sha256).not.toBe(first.sha256);
    expect(other.zipPath).not.toBe(first.zipPath);
    expect(bundler.stats).toEqual({ builds: 2, cacheHits: 1 });
  });

  it("produces a handler that loads and runs", async () => {
    const files = unzipSync(readFileSync(bundleSample().zipPath));
    // Inside the project, so that the runtime-provided @aws-sdk resolves from node_modules as in Lambda.
    mkdirSync(BUILD_DIR, { recursive: true });
    const dir = mkdtempSync(join(BUILD_DIR, "sample-run-"));
    try {
      for (const [name, contents] of Object.entries(files)) writeFileSync(join(dir, name), contents);
      process.env.AWS_REGION = "eu-west-3";
      const loaded = require(join(dir, "index.js")) as {
        handler: (event: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      const response = await loaded.handler({ name: "s3-edge" });
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ message: "hello, s3-edge", region: "eu-west-3" });
    } finally {
      delete process.env.AWS_REGION;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the file and line when the code does not compile", () => {
    const dir = mkdtempSync(join(BUILD_DIR, "broken-"));
    try {
      writeFileSync(join(dir, "index.ts"), "export const handler = async () => {\n  return import_missing(;\n};\n");
      expect(() => new FunctionBundler(outDir).bundle({ entry: join(dir, "index.ts"), runtime: "nodejs22.x" })).toThrow(
        BundleError,
      );
      expect(() => new FunctionBundler(outDir).bundle({ entry: join(dir, "index.ts"), runtime: "nodejs22.x" })).toThrow(
        /index\.ts:2: /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a runtime that is not Node.js", () => {
    expect(() => new FunctionBundler(outDir).bundle({ entry: SAMPLE_ENTRY, runtime: "python3.13" })).toThrow(
      /unsupported runtime "python3.13"/,
    );
  });
});

describe("BundledFunction", () => {
  function stackWithSample(app: App, id: string, bundler: FunctionBundler): TerraformStack {
    const stack = new TerraformStack(app, id);
    awsProvider(stack, "aws", { region: "us-east-2", tags: {}, stackId: id });
    new BundledFunction(stack, "sample", {
      name: "sample",
      entry: SAMPLE_ENTRY,
      functionName: "s3edge-sample",
      logRetentionDays: 14,
      environment: { TABLE_NAME: "counters" },
      policyStatements: [
        {
          Effect: "Allow",
          Action: "dynamodb:UpdateItem",
          Resource: "arn:aws:dynamodb:us-east-2:123456789012:table/counters",
        },
      ],
      bundler,
    });
    return stack;
  }

  const outDir = mkdtempSync(join(tmpdir(), "s3-edge-fn-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  const bundler = new FunctionBundler(outDir);
  const stack = stackWithSample(Testing.app(), "functions", bundler);
  const text = resolveGlobalPartition(Testing.synth(stack));
  const json = JSON.parse(text) as StackJson;
  const lambda = resourceAt(json, "aws_lambda_function", "sample/function");

  it("deploys the bundle by its content hash on the configured runtime", () => {
    const bundle = bundler.bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs22.x" });
    expect(lambda).toMatchObject({
      function_name: "s3edge-sample",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      memory_size: 256,
      timeout: 30,
      source_code_hash: bundle.sha256,
      environment: { variables: { NODE_OPTIONS: "--enable-source-maps", TABLE_NAME: "counters" } },
    });
    expect(String(lambda.filename)).toMatch(/^assets\/.+\.zip$/);
    // The asset path carries the hash cdktf would compute reading the zip, recorded at build time.
    expect(bundle.assetHash).toBe(hashPath(bundle.zipPath));
    expect(String(lambda.filename)).toContain(`/${bundle.assetHash}/`);
    expect(text).toHaveResourceWithProperties(LambdaFunction, {
      role: referenceTo(json, "aws_iam_role", "sample/role", "arn"),
    });
  });

  it("logs as JSON to its own log group with retention, created before the function", () => {
    const logGroup = resourceAt(json, "aws_cloudwatch_log_group", "sample/logs");
    expect(logGroup).toMatchObject({ name: "/aws/lambda/s3edge-sample", retention_in_days: 14 });
    expect(text).toHaveResourceWithProperties(CloudwatchLogGroup, { retention_in_days: 14 });
    expect(lambda.logging_config).toEqual({
      log_format: "JSON",
      log_group: referenceTo(json, "aws_cloudwatch_log_group", "sample/logs", "name"),
    });
    expect(lambda.depends_on).toEqual([
      `aws_cloudwatch_log_group.${logicalName(json, "aws_cloudwatch_log_group", "sample/logs")}`,
      `aws_iam_role_policy.${logicalName(json, "aws_iam_role_policy", "sample/policy")}`,
    ]);
  });

  it("has a role only Lambda can assume, allowed to write its own logs and what the props grant", () => {
    const role = resourceAt(json, "aws_iam_role", "sample/role");
    expect(parsePolicy(role.assume_role_policy)).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(parsePolicy(resourceAt(json, "aws_iam_role_policy", "sample/policy").policy)).toEqual([
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${referenceTo(json, "aws_cloudwatch_log_group", "sample/logs", "arn")}:*`,
      },
      {
        Effect: "Allow",
        Action: "dynamodb:UpdateItem",
        Resource: "arn:aws:dynamodb:us-east-2:123456789012:table/counters",
      },
    ]);
  });

  it("leaves the environment out entirely when source maps are off and no variables are given", () => {
    const stack = new TerraformStack(Testing.app(), "bare-env");
    awsProvider(stack, "aws", { region: "us-east-1", tags: {}, stackId: "bare-env" });
    new BundledFunction(stack, "edge", {
      name: "sample",
      entry: SAMPLE_ENTRY,
      functionName: "s3edge-edge-sample",
      enableSourceMaps: false,
      publish: true,
      assumedBy: ["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
      logGroupName: "/aws/lambda/us-east-1.s3edge-edge-sample",
      logResources: ["arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.s3edge-edge-sample:*"],
      createsLogGroups: true,
      bundler,
    });
    const bare = JSON.parse(resolveGlobalPartition(Testing.synth(stack))) as StackJson;
    const fn = resourceAt(bare, "aws_lambda_function", "edge/function");
    expect(fn).not.toHaveProperty("environment");
    expect(fn.publish).toBe(true);
    expect(resourceAt(bare, "aws_cloudwatch_log_group", "edge/logs").name).toBe(
      "/aws/lambda/us-east-1.s3edge-edge-sample",
    );
    expect(parsePolicy(resourceAt(bare, "aws_iam_role_policy", "edge/policy").policy)).toEqual([
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: ["arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.s3edge-edge-sample:*"],
      },
    ]);
  });

  it("bundles once per synth when several stacks use the same function", () => {
    const sharedDir = mkdtempSync(join(tmpdir(), "s3-edge-shared-"));
    const synthDir = mkdtempSync(join(tmpdir(), "s3-edge-synth-"));
    try {
      const shared = new FunctionBundler(sharedDir);
      const app = new App({ outdir: synthDir });
      stackWithSample(app, "first", shared);
      stackWithSample(app, "second", shared);
      app.synth();
      expect(shared.stats).toEqual({ builds: 1, cacheHits: 1 });
      const first = JSON.parse(readFileSync(join(synthDir, "stacks", "first", "cdk.tf.json"), "utf8")) as StackJson;
      const asset = String(resourceAt(first, "aws_lambda_function", "sample/function").filename);
      expect(existsSync(join(synthDir, "stacks", "first", asset))).toBe(true);
    } finally {
      rmSync(sharedDir, { recursive: true, force: true });
      rmSync(synthDir, { recursive: true, force: true });
    }
  });
});
