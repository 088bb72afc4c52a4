import { join } from "node:path";
import { addConsumerStack, CONSUMER_STACK_ID, crossStackProblems, remoteStates } from "./support/cross-stack";
import { fullConfigInput, synthApp } from "./support/synth";

const S3_BACKEND = {
  type: "s3",
  bucket: "acme-terraform-state",
  region: "eu-west-1",
  keyPrefix: "s3-edge/prod",
} as const;

describe("the whole app", () => {
  it.each([
    ["default config", {}],
    ["full example config", fullConfigInput()],
  ])("synthesizes the built stacks with no cross-stack problems (%s)", (_name, input) => {
    const app = synthApp(input);
    expect(Object.keys(app.stacks).sort()).toEqual(["object-stats", "storage-replication"]);
    expect(app.manifest.stacks["storage-replication"].dependencies).toEqual([]);
    expect(app.manifest.stacks["object-stats"].dependencies).toEqual(["storage-replication"]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("leaves out the object-stats stack when objectStats is disabled", () => {
    const app = synthApp({ objectStats: { enabled: false } });
    expect(Object.keys(app.stacks)).not.toContain("object-stats");
  });

  it("synthesizes the same JSON on every run and in every checkout (no absolute paths, no timestamps)", () => {
    const first = synthApp(fullConfigInput());
    const second = synthApp(fullConfigInput());
    expect(JSON.stringify(second.stacks)).toBe(JSON.stringify(first.stacks));
    expect(JSON.stringify(first.stacks)).not.toContain(join(__dirname, ".."));
  });

  it("keeps local state next to the project, at a path that does not depend on the machine", () => {
    const app = synthApp();
    expect(app.stacks["storage-replication"].terraform?.backend).toEqual({
      local: { path: "../../../terraform.storage-replication.tfstate" },
    });
  });

  it("keeps each stack's state under the key prefix in the S3 backend, with S3-native locking", () => {
    const app = synthApp({ backend: S3_BACKEND });
    expect(app.stacks["storage-replication"].terraform?.backend).toEqual({
      s3: {
        bucket: "acme-terraform-state",
        key: "s3-edge/prod/storage-replication.tfstate",
        region: "eu-west-1",
        encrypt: true,
        use_lockfile: true,
      },
    });
  });
});

describe("cross-stack references", () => {
  it.each([
    ["local", {}, { path: "../../../terraform.storage-replication.tfstate" }],
    [
      "s3",
      { backend: S3_BACKEND },
      {
        bucket: "acme-terraform-state",
        key: "s3-edge/prod/storage-replication.tfstate",
        region: "eu-west-1",
        encrypt: true,
      },
    ],
  ])("travel through remote state under the %s backend", (backend, input, expectedConfig) => {
    const app = synthApp(input, { extend: addConsumerStack });
    const consumer = app.stacks[CONSUMER_STACK_ID];
    const reader = remoteStates(consumer)["cross-stack-reference-input-storage-replication"];
    expect(reader).toEqual({ backend, config: expectedConfig, workspace: "${terraform.workspace}" });
    const values = Object.values(consumer.resource?.aws_ssm_parameter ?? {}).map((p) => p.value as string);
    for (const value of values) {
      expect(value).toMatch(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage-replication\.outputs\./,
      );
    }
    expect(app.manifest.stacks[CONSUMER_STACK_ID].dependencies).toEqual(["storage-replication"]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("flags a value that skips remote state", () => {
    const app = synthApp({}, { extend: addConsumerStack });
    const consumer = app.stacks[CONSUMER_STACK_ID];
    const parameter = Object.values(consumer.resource!.aws_ssm_parameter)[0];
    parameter.value = "${aws_s3_bucket.primary_bucket_E04143E5.arn}";
    expect(crossStackProblems(app)).toEqual([
      `${CONSUMER_STACK_ID}: references aws_s3_bucket.primary_bucket_E04143E5, which is not in this stack`,
    ]);
  });
});
