import { addConsumerStack, CONSUMER_STACK_ID, crossStackProblems, remoteStates } from "../support/cross-stack";
import { fullConfigInput, synthApp } from "../support/synth";
import { PROJECT_ROOT } from "../../config/paths";

const S3_BACKEND = {
  type: "s3",
  bucket: "acme-terraform-state",
  region: "eu-west-1",
  keyPrefix: "s3-edge/prod",
} as const;

describe("the whole app", () => {
  // Each config's stacks and, for each, the stacks it reads through remote state (apply order).
  it.each([
    [
      "the default config (public GCS)",
      {},
      {
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        edge: ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
        cdn: ["dns-cert", "edge", "image", "storage-replication"],
      },
    ],
    [
      "the full example config (private GCS)",
      fullConfigInput(),
      {
        "gcs-origin": [],
        "storage-replication": ["gcs-origin"],
        "object-stats": ["storage-replication"],
        edge: ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
        cdn: ["dns-cert", "edge", "image", "storage-replication"],
      },
    ],
    [
      "no legacy origin",
      { legacyOrigin: null },
      {
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
        cdn: ["dns-cert", "image", "storage-replication"],
      },
    ],
    [
      "edge switched off",
      { edge: { enabled: false } },
      {
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
        cdn: ["dns-cert", "image", "storage-replication"],
      },
    ],
    [
      "a public bucket that s3-edge creates",
      { legacyOrigin: { bucket: "demo-legacy", create: true, project: "demo-project" } },
      {
        "gcs-origin": [],
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        edge: ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
        cdn: ["dns-cert", "edge", "image", "storage-replication"],
      },
    ],
    [
      "image processing switched off",
      { image: { enabled: false } },
      {
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        edge: ["storage-replication"],
        "dns-cert": [],
        cdn: ["dns-cert", "edge", "storage-replication"],
      },
    ],
    [
      "the cdn switched off (the image stack owns the primary bucket's policy)",
      { cdn: { enabled: false } },
      {
        "storage-replication": [],
        "object-stats": ["storage-replication"],
        edge: ["storage-replication"],
        "dns-cert": [],
        image: ["dns-cert", "storage-replication"],
      },
    ],
    [
      "every optional stack switched off",
      { domain: null, cdn: { enabled: false }, image: { enabled: false }, objectStats: { enabled: false } },
      { "storage-replication": [], edge: ["storage-replication"] },
    ],
  ] as const)("synthesizes exactly the stacks of %s, in a valid apply order", (_name, input, stacks) => {
    // Every deployment has the operations stack (its dashboard), applied after the distributions it reads.
    const expected = { ...stacks, operations: ["cdn", "image"].filter((id) => id in stacks) };
    const app = synthApp(input);
    expect(Object.keys(app.stacks).sort()).toEqual(Object.keys(expected).sort());
    for (const [id, dependencies] of Object.entries(expected)) {
      expect({ id, dependencies: [...app.manifest.stacks[id].dependencies].sort() }).toEqual({ id, dependencies });
    }
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("leaves out the object-stats stack when objectStats is disabled", () => {
    const app = synthApp({ objectStats: { enabled: false } });
    expect(Object.keys(app.stacks)).not.toContain("object-stats");
  });

  it("synthesizes the same JSON on every run and in every checkout (no absolute paths, no timestamps)", () => {
    const first = synthApp(fullConfigInput(), { fresh: true });
    const second = synthApp(fullConfigInput(), { fresh: true });
    expect(JSON.stringify(second.stacks)).toBe(JSON.stringify(first.stacks));
    expect(JSON.stringify(first.stacks)).not.toContain(PROJECT_ROOT);
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
    const values = Object.values(consumer.resource?.aws_ssm_parameter ?? {})
      .filter((p) => String(p.name).startsWith("/s3-edge/test/primary"))
      .map((p) => p.value as string);
    expect(values).toHaveLength(2);
    for (const value of values) {
      expect(value).toMatch(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage-replication\.outputs\./,
      );
    }
    expect(app.manifest.stacks[CONSUMER_STACK_ID].dependencies.sort()).toEqual(["edge", "storage-replication"]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it.each([
    ["default", {}, ["origin-response"]],
    ["full", fullConfigInput(), ["origin-request", "origin-response"]],
  ] as const)(
    "carry the edge functions' qualified ARNs to a distribution's stack (%s config)",
    (_label, input, events) => {
      const app = synthApp(input, { extend: addConsumerStack });
      const consumer = app.stacks[CONSUMER_STACK_ID];
      const edge = app.stacks.edge;
      const parameters = Object.values(consumer.resource?.aws_ssm_parameter ?? {}).filter((p) =>
        String(p.name).startsWith("/s3-edge/test/edge/"),
      );
      expect(parameters.map((p) => String(p.name).split("/").pop()).sort()).toEqual(events);
      for (const parameter of parameters) {
        const output = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-edge\.outputs\.([^}]+)\}$/.exec(
          String(parameter.value),
        )?.[1];
        expect(edge.output?.[output!].value).toMatch(/^\$\{aws_lambda_function\.[^.]+\.qualified_arn\}$/);
      }
      expect(crossStackProblems(app)).toEqual([]);
    },
  );

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
