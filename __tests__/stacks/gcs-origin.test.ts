import type { S3EdgeConfigInput } from "../../config";
import { serviceAccountId } from "../../stacks/gcs-origin";
import { fullConfigInput, resourcesOf, synthApp, type StackJson } from "../support/synth";

const PROJECT = "acme-media-prod";
const origin = (fields: Record<string, unknown>): S3EdgeConfigInput => ({
  legacyOrigin: { bucket: "acme-legacy", project: PROJECT, ...fields },
});
const only = (stack: StackJson, type: string): Record<string, unknown> => {
  const found = resourcesOf(stack, type);
  expect(found).toHaveLength(1);
  return found[0][1];
};

describe("gcs-origin for a private bucket that already exists", () => {
  const app = synthApp(origin({ access: "private" }));
  const stack = app.stacks["gcs-origin"];

  it("uses only the google provider, in the configured project", () => {
    expect(Object.keys(stack.terraform?.required_providers ?? {})).toEqual(["google"]);
    expect(stack.provider).toEqual({
      google: [expect.objectContaining({ project: PROJECT })],
    });
    expect(JSON.stringify(stack.resource)).not.toMatch(/"aws_/);
  });

  it("creates a reader service account bound read-only to that bucket alone, and its HMAC key", () => {
    expect(resourcesOf(stack, "google_storage_bucket")).toEqual([]);
    expect(only(stack, "google_service_account")).toMatchObject({ account_id: "s3edge-example-gcs-reader" });
    expect(only(stack, "google_storage_bucket_iam_member")).toMatchObject({
      bucket: "acme-legacy",
      role: "roles/storage.objectViewer",
      member: "${google_service_account.reader.member}",
    });
    expect(only(stack, "google_storage_hmac_key")).toMatchObject({
      service_account_email: "${google_service_account.reader.email}",
    });
    expect(resourcesOf(stack, "google_project_iam_member")).toEqual([]);
  });

  it("exports the key only as sensitive outputs", () => {
    const outputs = stack.output ?? {};
    expect(outputs.hmac_access_id).toEqual({
      value: "${google_storage_hmac_key.reader-hmac.access_id}",
      sensitive: true,
    });
    expect(outputs.hmac_secret).toEqual({ value: "${google_storage_hmac_key.reader-hmac.secret}", sensitive: true });
    for (const output of Object.values(outputs)) {
      if (JSON.stringify(output.value).includes("google_storage_hmac_key")) expect(output.sensitive).toBe(true);
    }
  });

  it("applies before storage-replication, which reads the key from its state", () => {
    expect(app.manifest.stacks["storage-replication"].dependencies).toEqual(["gcs-origin"]);
  });
});

describe("gcs-origin for a bucket that s3-edge creates", () => {
  it("private (the full example): uniform access, public access prevention enforced, no public binding", () => {
    const stack = synthApp(fullConfigInput()).stacks["gcs-origin"];
    expect(only(stack, "google_storage_bucket")).toMatchObject({
      name: "acme-media-legacy",
      location: "US",
      uniform_bucket_level_access: true,
      public_access_prevention: "enforced",
      force_destroy: false,
    });
    const bindings = resourcesOf(stack, "google_storage_bucket_iam_member").map(([, b]) => b);
    expect(bindings).toEqual([
      expect.objectContaining({
        bucket: "${google_storage_bucket.bucket.name}",
        member: "${google_service_account.reader.member}",
      }),
    ]);
  });

  it("public: readable by allUsers, and no service account or key", () => {
    const app = synthApp(origin({ create: true, location: "EU" }));
    const stack = app.stacks["gcs-origin"];
    expect(only(stack, "google_storage_bucket")).toMatchObject({
      location: "EU",
      uniform_bucket_level_access: true,
      public_access_prevention: "inherited",
    });
    expect(only(stack, "google_storage_bucket_iam_member")).toMatchObject({
      bucket: "${google_storage_bucket.bucket.name}",
      role: "roles/storage.objectViewer",
      member: "allUsers",
    });
    expect(resourcesOf(stack, "google_service_account")).toEqual([]);
    expect(resourcesOf(stack, "google_storage_hmac_key")).toEqual([]);
    // Nothing to read from it: storage-replication stays independent and stores no secret.
    expect(app.manifest.stacks["storage-replication"].dependencies).toEqual([]);
    expect(resourcesOf(app.stacks["storage-replication"], "aws_secretsmanager_secret")).toEqual([]);
  });
});

describe("google resources appear only where they belong", () => {
  it.each([
    ["the default public bucket", {}],
    ["no legacy origin", { legacyOrigin: null }],
    ["an existing public bucket with a project", origin({ access: "public" })],
  ] as const)("no gcs-origin stack for %s", (_name, input) => {
    const app = synthApp(input);
    expect(app.stacks["gcs-origin"]).toBeUndefined();
    expect(JSON.stringify(app.stacks)).not.toMatch(/"google_|registry\.terraform\.io\/hashicorp\/google|"google":/);
  });

  it("only gcs-origin requires the google provider", () => {
    const app = synthApp(fullConfigInput());
    for (const [id, stack] of Object.entries(app.stacks)) {
      const providers = Object.keys(stack.terraform?.required_providers ?? {});
      expect({ id, providers }).toEqual({ id, providers: id === "gcs-origin" ? ["google"] : ["aws"] });
    }
  });
});

describe("serviceAccountId", () => {
  it.each([
    ["s3edge-example", "s3edge-example-gcs-reader"],
    ["a-very-long-name-prefix-of-32-ch", "a-very-long-name-pr-gcs-reader"],
    ["abcdefghijklmnopqr-stuvwxyz", "abcdefghijklmnopqr-gcs-reader"],
  ])("%s → %s (6-30 characters, no double hyphen)", (prefix, expected) => {
    const id = serviceAccountId(prefix);
    expect(id).toBe(expected);
    expect(id).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(id).not.toContain("--");
  });
});
