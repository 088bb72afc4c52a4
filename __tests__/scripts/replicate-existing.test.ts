/**
 * npm run replicate-existing: the role and reports bucket storage-replication creates for it
 * (synth), and the command against S3 Control mocked at the SDK boundary (no local server exists)
 * with the storage-replication outputs in a Terraform state file written here (local backend).
 */
import { CreateJobCommand, DescribeJobCommand, S3ControlClient, type JobDescriptor } from "@aws-sdk/client-s3-control";
import { mockClient } from "aws-sdk-client-mock";
import { Testing } from "cdktf";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../config";
import { runReplicateExisting, type CliDependencies } from "../../scripts/replicate-existing/cli";
import { BATCH_REPLICATION_REPORT_PREFIX } from "../../constructs/batch-replication";
import { stateReader } from "../../scripts/status/report";
import { StorageReplicationStack } from "../../stacks/storage-replication";
import { parsePolicy } from "../support/policy-checks";
import { referenceTo, resolveGlobalPartition, resourceAt, type StackJson } from "../support/synth";

const ACCOUNT = "123456789012";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/s3edge-example-batch-replication`;
const OUTPUTS = {
  primary_bucket_name: "s3edge-example-primary-us-east-2",
  primary_bucket_region: "us-east-2",
  batch_replication_role_arn: ROLE_ARN,
  batch_replication_report_bucket_name: "s3edge-example-batch-reports-us-east-2",
};

describe("storage-replication: what a batch replication job runs with", () => {
  const json = JSON.parse(
    resolveGlobalPartition(Testing.synth(new StorageReplicationStack(Testing.app(), parseConfig({})))),
  ) as StackJson;
  const primaryArn = referenceTo(json, "aws_s3_bucket", "primary/bucket", "arn");
  const reportsArn = referenceTo(json, "aws_s3_bucket", "batch-replication/reports/bucket", "arn");

  it("lets only Batch Operations jobs of this account in the primary region assume the role", () => {
    const role = resourceAt(json, "aws_iam_role", "batch-replication/role");
    const [trust] = parsePolicy(role.assume_role_policy) as Array<Record<string, any>>;
    expect(trust).toMatchObject({
      Effect: "Allow",
      Principal: { Service: "batchoperations.s3.amazonaws.com" },
      Action: "sts:AssumeRole",
    });
    expect(trust.Condition.StringEquals["aws:SourceAccount"]).toMatch(
      /^\$\{local\.batch-replication_account_[0-9A-F]{8}\}$/,
    );
    expect(trust.Condition.ArnLike["aws:SourceArn"]).toMatch(
      /^arn:aws:s3:us-east-2:\$\{local\.batch-replication_account_[0-9A-F]{8}\}:job\/\*$/,
    );
  });

  it("allows exactly: initiate replication of the primary's objects, generate its manifest, write reports below the prefix", () => {
    const policy = resourceAt(json, "aws_iam_role_policy", "batch-replication/policy");
    expect(parsePolicy(policy.policy)).toEqual([
      { Sid: "InitiateReplication", Effect: "Allow", Action: "s3:InitiateReplication", Resource: `${primaryArn}/*` },
      {
        Sid: "GenerateManifest",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
        Resource: primaryArn,
      },
      {
        Sid: "WriteReport",
        Effect: "Allow",
        Action: "s3:PutObject",
        Resource: `${reportsArn}/${BATCH_REPLICATION_REPORT_PREFIX}/*`,
      },
    ]);
  });

  it("keeps reports in their own private bucket and outputs what the command reads", () => {
    expect(resourceAt(json, "aws_s3_bucket", "batch-replication/reports/bucket")).toMatchObject({
      bucket: "s3edge-example-batch-reports-us-east-2",
    });
    expect(
      resourceAt(json, "aws_s3_bucket_public_access_block", "batch-replication/reports/public-access-block"),
    ).toMatchObject({
      block_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(Object.keys(json.output ?? {})).toEqual(expect.arrayContaining(Object.keys(OUTPUTS)));
    expect(json.output?.primary_bucket_region?.value).toBe("us-east-2");
    expect(json.output?.replica_bucket_region?.value).toBe("us-west-2");
  });
});

describe("npm run replicate-existing", () => {
  const s3Control = mockClient(S3ControlClient);
  let dir: string;
  let out: string[];
  let err: string[];
  let slept: number[];
  let clock: number;

  const deps = (): CliDependencies => ({
    readState: stateReader({ type: "local", directory: dir }, dir),
    s3Control: (region) =>
      new S3ControlClient({ region, credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    now: () => clock,
    token: () => "token-1",
  });

  const writeState = (outputs: Record<string, string>) =>
    writeFileSync(
      join(dir, "terraform.storage-replication.tfstate"),
      JSON.stringify({
        version: 4,
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, type: "string" }])),
      }),
    );

  const job = (status: string, succeeded?: number, failed?: number, total?: number): { Job: JobDescriptor } => ({
    Job: {
      JobId: "job-42",
      Status: status as JobDescriptor["Status"],
      ProgressSummary:
        total === undefined
          ? undefined
          : { TotalNumberOfTasks: total, NumberOfTasksSucceeded: succeeded, NumberOfTasksFailed: failed },
    },
  });

  beforeEach(() => {
    s3Control.reset();
    dir = mkdtempSync(join(tmpdir(), "s3-edge-replicate-"));
    out = [];
    err = [];
    slept = [];
    clock = 0;
    writeState(OUTPUTS);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("starts a job for the objects eligible for replication with the stack's role, reporting to the reports bucket", async () => {
    s3Control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    expect(await runReplicateExisting([], deps())).toBe(0);
    const calls = s3Control.commandCalls(CreateJobCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      AccountId: ACCOUNT,
      ClientRequestToken: "token-1",
      ConfirmationRequired: false,
      Description: "s3-edge: replicate existing objects of s3edge-example-primary-us-east-2",
      Priority: 10,
      RoleArn: ROLE_ARN,
      Operation: { S3ReplicateObject: {} },
      ManifestGenerator: {
        S3JobManifestGenerator: {
          ExpectedBucketOwner: ACCOUNT,
          SourceBucket: "arn:aws:s3:::s3edge-example-primary-us-east-2",
          EnableManifestOutput: false,
          Filter: { EligibleForReplication: true, ObjectReplicationStatuses: ["NONE", "FAILED"] },
        },
      },
      Report: {
        Enabled: true,
        Bucket: "arn:aws:s3:::s3edge-example-batch-reports-us-east-2",
        Format: "Report_CSV_20180820",
        Prefix: "batch-replication",
        ReportScope: "AllTasks",
      },
    });
    expect(s3Control.commandCalls(DescribeJobCommand)).toHaveLength(0);
    expect(out).toEqual([
      "started S3 Batch Replication job job-42 in us-east-2 (report: s3://s3edge-example-batch-reports-us-east-2/batch-replication/job-job-42/)",
    ]);
  });

  it("sends the job to S3 Control in the primary bucket's region", async () => {
    s3Control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    const regions: string[] = [];
    const base = deps();
    await runReplicateExisting([], { ...base, s3Control: (region) => (regions.push(region), base.s3Control(region)) });
    expect(regions).toEqual(["us-east-2"]);
  });

  it("--dry-run prints the request and sends nothing", async () => {
    expect(await runReplicateExisting(["--dry-run", "--statuses", "failed"], deps())).toBe(0);
    expect(s3Control.calls()).toHaveLength(0);
    expect(out[0]).toBe("CreateJob request (not sent) in us-east-2:");
    const printed = JSON.parse(out.slice(1).join("\n"));
    expect(printed).toMatchObject({
      RoleArn: ROLE_ARN,
      Operation: { S3ReplicateObject: {} },
      ManifestGenerator: { S3JobManifestGenerator: { Filter: { ObjectReplicationStatuses: ["FAILED"] } } },
    });
  });

  it("--wait polls DescribeJob until the job completes, printing each change of progress", async () => {
    s3Control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    s3Control
      .on(DescribeJobCommand)
      .resolvesOnce(job("New"))
      .resolvesOnce(job("Preparing"))
      .resolvesOnce(job("Active", 100, 0, 1000))
      .resolvesOnce(job("Active", 100, 0, 1000))
      .resolvesOnce(job("Active", 900, 0, 1000))
      .resolvesOnce(job("Complete", 1000, 0, 1000));
    expect(await runReplicateExisting(["--wait", "--interval", "5"], deps())).toBe(0);
    const describes = s3Control.commandCalls(DescribeJobCommand);
    expect(describes).toHaveLength(6);
    expect(describes[0].args[0].input).toEqual({ AccountId: ACCOUNT, JobId: "job-42" });
    expect(slept).toEqual([5000, 5000, 5000, 5000, 5000]);
    expect(out.slice(1)).toEqual([
      "job-42: New (tasks not counted yet)",
      "job-42: Preparing (tasks not counted yet)",
      "job-42: Active (100/1000 tasks done, 0 failed)",
      "job-42: Active (900/1000 tasks done, 0 failed)",
      "job-42: Complete (1000/1000 tasks done, 0 failed)",
      "job job-42 complete: 1000 objects replicated",
    ]);
  });

  it("--wait exits 1 with S3's reasons when the job fails", async () => {
    s3Control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    s3Control
      .on(DescribeJobCommand)
      .resolvesOnce(job("Preparing"))
      .resolvesOnce({
        Job: {
          JobId: "job-42",
          Status: "Failed",
          FailureReasons: [{ FailureCode: "AccessDenied", FailureReason: "Unable to generate manifest" }],
        },
      });
    expect(await runReplicateExisting(["--wait"], deps())).toBe(1);
    expect(err).toEqual(["job job-42 ended Failed: AccessDenied Unable to generate manifest"]);
  });

  it("--wait exits 1 when the job completes with failed tasks, pointing at the report", async () => {
    s3Control.on(DescribeJobCommand).resolves(job("Complete", 990, 10, 1000));
    expect(await runReplicateExisting(["--job-id", "job-42", "--wait"], deps())).toBe(1);
    expect(s3Control.commandCalls(CreateJobCommand)).toHaveLength(0);
    expect(err).toEqual(["job job-42 ended Complete: 10 tasks failed; see the completion report"]);
  });

  it("--wait gives up after --timeout, saying the job keeps running", async () => {
    s3Control.on(CreateJobCommand).resolves({ JobId: "job-42" });
    s3Control.on(DescribeJobCommand).resolves(job("Active", 1, 0, 1000));
    expect(await runReplicateExisting(["--wait", "--interval", "10", "--timeout", "25"], deps())).toBe(1);
    expect(s3Control.commandCalls(DescribeJobCommand)).toHaveLength(3);
    expect(err[0]).toMatch(/^job job-42 is still Active after 25 s; it keeps running/);
  });

  it("refuses to run before storage-replication is deployed, or with an old state lacking the role", async () => {
    rmSync(join(dir, "terraform.storage-replication.tfstate"));
    expect(await runReplicateExisting([], deps())).toBe(2);
    expect(err[0]).toMatch(/^storage-replication has no Terraform state: deploy it first/);
    const { batch_replication_role_arn: _, ...older } = OUTPUTS;
    writeState(older);
    expect(await runReplicateExisting([], deps())).toBe(2);
    expect(err[1]).toMatch(/^storage-replication has no output batch_replication_role_arn/);
    expect(s3Control.calls()).toHaveLength(0);
  });

  it("names bad arguments with the usage", async () => {
    expect(await runReplicateExisting(["--statuses", "NONE,PENDING"], deps())).toBe(2);
    expect(err[0]).toBe("--statuses: PENDING not one of NONE, FAILED, COMPLETED, REPLICA");
    expect(await runReplicateExisting(["--interval", "0"], deps())).toBe(2);
    expect(await runReplicateExisting(["--bogus"], deps())).toBe(2);
    expect(err[2]).toMatch(/usage: npm run replicate-existing/);
    expect(await runReplicateExisting(["--job-id", "job-42"], deps())).toBe(2);
    expect(err[3]).toMatch(/^--job-id follows a job started earlier: use it with --wait/);
    expect(s3Control.calls()).toHaveLength(0);
  });
});
