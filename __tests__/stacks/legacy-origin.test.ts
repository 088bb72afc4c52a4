/**
 * The stacks follow `legacyOrigin.kind`: the CDN's failover origin, the worker's source settings
 * and key secret (never a key value in Terraform), the edge signer's domain, region and secret,
 * and no google resources outside GCS. GCS itself is covered by cdn, edge and backfill-pipeline tests.
 */
import { readFileSync } from "node:fs";
import { unzipSync } from "fflate";
import type { S3EdgeConfigInput } from "../../config";
import type { S3EdgeStacks } from "../../stacks";
import { parsePolicy, type Statement } from "../support/policy-checks";
import { exampleConfigInput, resourceAt, resourcesOf, synthApp, type StackJson } from "../support/synth";

function synth(input: S3EdgeConfigInput) {
  let built: S3EdgeStacks | undefined;
  const app = synthApp(input, { extend: (_app, stacks) => (built = stacks) });
  return { app, stacks: built! };
}

const bundleCode = (zipPath: string): string =>
  Buffer.from(unzipSync(readFileSync(zipPath))["index.js"]).toString("utf8");

const legacyOriginOf = (cdn: StackJson) => {
  const [[, distribution]] = resourcesOf(cdn, "aws_cloudfront_distribution");
  return (distribution.origin as Array<Record<string, unknown>>).find((origin) => origin.origin_id === "gcs-legacy");
};

const workerOf = (stack: StackJson) => resourceAt(stack, "aws_lambda_function", "backfill/worker/function");
const workerEnv = (stack: StackJson) =>
  (workerOf(stack).environment as { variables: Record<string, string> }).variables;

const statementsOf = (stack: StackJson, roleFunction: string): Statement[] =>
  resourcesOf(stack, "aws_iam_role_policy")
    .filter(([name]) => name.includes(roleFunction))
    .flatMap(([, policy]) => {
      const parsed = parsePolicy(policy.policy);
      if (typeof parsed === "string") throw new Error(parsed);
      return parsed;
    });

describe("an S3-compatible store (examples/s3-compatible-origin.config.json: private, virtual-hosted)", () => {
  const { app, stacks } = synth(exampleConfigInput("s3-compatible-origin"));
  const storage = app.stacks["storage-replication"];

  it("fails over to <bucket>.<endpoint> over HTTPS, with no origin path", () => {
    expect(legacyOriginOf(app.stacks.cdn)).toMatchObject({
      domain_name: "acme-media.oss-eu-central-1.aliyuncs.com",
      custom_origin_config: { origin_protocol_policy: "https-only" },
    });
    expect(legacyOriginOf(app.stacks.cdn)?.origin_path).toBeUndefined();
    expect(app.stacks["gcs-origin"]).toBeUndefined();
  });

  it("creates the key secret empty for the operator to fill, with the edge's replica, and tells its name", () => {
    const secrets = resourcesOf(storage, "aws_secretsmanager_secret");
    expect(secrets.map(([, secret]) => secret.name)).toEqual(["acme-oss/legacy-origin-credentials"]);
    expect(secrets[0][1].replica).toEqual([{ region: "us-east-1" }]);
    expect(resourcesOf(storage, "aws_secretsmanager_secret_version")).toEqual([]);
    expect(storage.output?.legacy_origin_credentials_secret_name?.value).toBe("acme-oss/legacy-origin-credentials");
  });

  it("has the worker read the store by its S3 API, in its region and addressing, with that secret", () => {
    expect(workerEnv(storage)).toMatchObject({
      SOURCE_API: "s3",
      SOURCE_ENDPOINT: "https://oss-eu-central-1.aliyuncs.com",
      SOURCE_BUCKET: "acme-media",
      SOURCE_REGION: "oss-eu-central-1",
      SOURCE_ADDRESSING: "virtual-hosted",
      SOURCE_CREDENTIALS_SECRET_ID: expect.stringMatching(/aws_secretsmanager_secret\.backfill_source-key_.*\.arn/),
    });
    expect(workerOf(storage).description).toMatch(
      /^s3-edge: copies objects from acme-media at oss-eu-central-1\.aliyuncs\.com into /,
    );
  });

  it("compiles the store's domain and signing region into the edge signer, which reads the us-east-1 replica", () => {
    const signer = stacks.edge!.signer!;
    const code = bundleCode(signer.bundled.bundle.zipPath);
    expect(code).toContain('"acme-media.oss-eu-central-1.aliyuncs.com"');
    expect(code).toContain('"oss-eu-central-1"');
    expect(code).toContain('"acme-oss/legacy-origin-credentials"');
    expect(bundleCode(stacks.edge!.notify.bundled.bundle.zipPath)).toContain(
      '"acme-media.oss-eu-central-1.aliyuncs.com"',
    );
    const read = statementsOf(app.stacks.edge, "gcs-signer").find((statement) => statement.Sid === "ReadGcsHmacKey");
    expect(read?.Resource).toMatch(
      /^arn:aws:secretsmanager:us-east-1:\$\{data\.aws_caller_identity\.account\.account_id\}:secret:acme-oss\/legacy-origin-credentials-\*$/,
    );
  });
});

describe("an S3-compatible store with its key in a secret named by ARN, path-style", () => {
  const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/wasabi-reader-AbCdEf";
  const { app, stacks } = synth({
    legacyOrigin: {
      kind: "s3-compatible",
      endpoint: "s3.eu-central-2.wasabisys.com",
      bucket: "acme.media",
      addressing: "path",
      region: "eu-central-2",
      credentialsSecret: secretArn,
    },
  });
  const storage = app.stacks["storage-replication"];

  it("creates no secret, and the worker and the signer may read only that one, where it lives", () => {
    expect(resourcesOf(storage, "aws_secretsmanager_secret")).toEqual([]);
    expect(workerEnv(storage)).toMatchObject({
      SOURCE_CREDENTIALS_SECRET_ID: secretArn,
      SOURCE_CREDENTIALS_SECRET_REGION: "eu-west-1",
      SOURCE_ADDRESSING: "path",
    });
    const workerRead = statementsOf(storage, "worker").find((statement) => statement.Sid === "ReadSourceKey");
    expect(workerRead).toMatchObject({ Action: "secretsmanager:GetSecretValue", Resource: secretArn });
    const signerRead = statementsOf(app.stacks.edge, "gcs-signer").find((s) => s.Sid === "ReadGcsHmacKey");
    expect(signerRead?.Resource).toBe(secretArn);
    const code = bundleCode(stacks.edge!.signer!.bundled.bundle.zipPath);
    expect(code).toContain(`"${secretArn}"`);
    expect(code).toContain('"eu-west-1"');
  });

  it("fails over to the endpoint with the bucket as origin path", () => {
    expect(legacyOriginOf(app.stacks.cdn)).toMatchObject({
      domain_name: "s3.eu-central-2.wasabisys.com",
      origin_path: "/acme.media",
    });
  });
});

describe("a public HTTPS origin (examples/https-origin.config.json)", () => {
  const { app, stacks } = synth(exampleConfigInput("https-origin"));
  const storage = app.stacks["storage-replication"];

  it("fails over to the domain with the path prefix as origin path, and needs no signer and no secret", () => {
    expect(legacyOriginOf(app.stacks.cdn)).toMatchObject({
      domain_name: "static.acme-legacy.example",
      origin_path: "/assets",
    });
    expect(stacks.edge!.signer).toBeUndefined();
    expect(JSON.stringify(storage)).not.toContain("secretsmanager");
    expect(JSON.stringify(app.stacks.edge)).not.toContain("secretsmanager");
  });

  it("has the worker fetch objects over HTTP under the prefix", () => {
    const env = workerEnv(storage);
    expect(env).toMatchObject({ SOURCE_API: "http", SOURCE_ENDPOINT: "https://static.acme-legacy.example/assets" });
    expect(env.SOURCE_BUCKET).toBeUndefined();
    expect(bundleCode(stacks.edge!.notify.bundled.bundle.zipPath)).toContain('"static.acme-legacy.example"');
  });
});
