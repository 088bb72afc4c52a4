/**
 * npm run status against stand-ins: Terraform state files written here (local backend) or stored
 * in s3rver (S3 backend), the jobs table in dynalite, CloudWatch and SQS mocked at the SDK boundary.
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { migrationStatus } from "../../scripts/status/migration";
import {
  deploymentStatus,
  formatStatus,
  stateReader,
  StatusError,
  type StatusDependencies,
} from "../../scripts/status/report";
import {
  jobsTable,
  localAwsEnv,
  startDynamoDb,
  startS3,
  type LocalDynamoDb,
  type LocalS3,
} from "../../testing/local-servers";
import { PROJECT_ROOT } from "../../config/paths";

const cloudWatch = mockClient(CloudWatchClient);
const sqs = mockClient(SQSClient);
const TABLE = "s3edge-example-backfill-jobs";
const QUEUE_BASE = "https://sqs.us-east-2.amazonaws.com/123456789012";

let dir: string;
let dynamo: LocalDynamoDb;
let s3: LocalS3;

/** A state file as Terraform writes it (version 4), with only the outputs filled in. */
function state(outputs: Record<string, unknown>): string {
  return JSON.stringify({
    version: 4,
    terraform_version: "1.11.0",
    serial: 3,
    lineage: "0b6c3f1e-1111-2222-3333-444455556666",
    outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value, type: "string" }])),
    resources: [],
  });
}

const STATES: Record<string, Record<string, unknown>> = {
  "storage-replication": {
    primary_bucket_name: "s3edge-example-primary-us-east-2",
    backfill_queue_url: `${QUEUE_BASE}/s3edge-example-backfill`,
    backfill_jobs_table_name: TABLE,
  },
  cdn: { distribution_domain_name: "d111111abcdef8.cloudfront.net", distribution_id: "E2EXAMPLE" },
  image: { primary_distribution_domain_name: "d222222abcdef8.cloudfront.net" },
  "object-stats": { count_url: "https://abc123.execute-api.us-east-2.amazonaws.com/count" },
  operations: {
    dashboard_url:
      "https://us-east-2.console.aws.amazon.com/cloudwatch/home?region=us-east-2#dashboards/dashboard/s3edge-example",
  },
};

function deps(config = parseConfig({ backend: { type: "local", directory: dir } })): StatusDependencies {
  return {
    readState: stateReader(config.backend, "/"),
    cloudWatch: (region) => new CloudWatchClient({ region }),
    sqs: (region) => new SQSClient({ region }),
    migration: migrationStatus({
      documents: DynamoDBDocumentClient.from(dynamo.client),
      sqs: new SQSClient({ region: "us-east-2" }),
      cloudWatch: new CloudWatchClient({ region: "us-east-2" }),
    }),
  };
}

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [dynamo, s3] = await Promise.all([startDynamoDb([jobsTable(TABLE)]), startS3(["state-bucket"])]);
  const documents = DynamoDBDocumentClient.from(dynamo.client);
  const job = (key: string, status: string) =>
    documents.send(new PutCommand({ TableName: TABLE, Item: { pk: `object#${key}`, status, updatedAt: Date.now() } }));
  await Promise.all([job("a", "done"), job("b", "done"), job("c", "in-progress"), job("d", "failed")]);
});
afterAll(async () => {
  await Promise.all([dynamo?.close(), s3?.close()]);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "s3-edge-status-"));
  cloudWatch.reset();
  sqs.reset();
  cloudWatch.on(DescribeAlarmsCommand, {}).callsFake((input: { AlarmNamePrefix?: string }, getClient) => {
    expect(input.AlarmNamePrefix).toBe("s3edge-example");
    return getClient()
      .config.region()
      .then((region: string) =>
        region === "us-east-1"
          ? { MetricAlarms: [{ AlarmName: "s3edge-example-content-5xx-rate", StateValue: "OK" }] }
          : {
              MetricAlarms: [
                {
                  AlarmName: "s3edge-example-backfill-dlq-not-empty",
                  StateValue: "ALARM",
                  StateReason: "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).",
                },
                { AlarmName: "s3edge-example-backfill-worker-errors", StateValue: "OK" },
              ],
            },
      );
  });
  cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
  sqs.on(ListQueuesCommand).resolves({
    QueueUrls: [`${QUEUE_BASE}/s3edge-example-backfill`, `${QUEUE_BASE}/s3edge-example-backfill-dlq`],
  });
  sqs
    .on(GetQueueAttributesCommand, { QueueUrl: `${QUEUE_BASE}/s3edge-example-backfill` })
    .resolves({ Attributes: { ApproximateNumberOfMessages: "120", ApproximateNumberOfMessagesNotVisible: "8" } })
    .on(GetQueueAttributesCommand, { QueueUrl: `${QUEUE_BASE}/s3edge-example-backfill-dlq` })
    .resolves({ Attributes: { ApproximateNumberOfMessages: "3", ApproximateNumberOfMessagesNotVisible: "0" } });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writeStates = (only?: readonly string[]) => {
  for (const [stack, outputs] of Object.entries(STATES)) {
    if (!only || only.includes(stack)) writeFileSync(join(dir, `terraform.${stack}.tfstate`), state(outputs));
  }
};

describe("npm run status", () => {
  it("reports endpoints from the state files, alarm states, queue depths and the migration's job counts", async () => {
    writeStates();
    const report = await deploymentStatus(parseConfig({ backend: { type: "local", directory: dir } }), deps());
    expect(report).toEqual({
      deployment: "s3edge-example",
      primaryRegion: "us-east-2",
      stacks: ["storage-replication", "image", "cdn", "object-stats", "operations"],
      endpoints: {
        content: "https://d111111abcdef8.cloudfront.net",
        images: "https://d222222abcdef8.cloudfront.net",
        "GET /count": "https://abc123.execute-api.us-east-2.amazonaws.com/count",
        dashboard: STATES.operations.dashboard_url,
        "content (custom domain)": "https://cdn.example.com",
        "images (custom domain)": "https://img.example.com",
      },
      alarms: [
        {
          name: "s3edge-example-backfill-dlq-not-empty",
          region: "us-east-2",
          state: "ALARM",
          reason: "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).",
        },
        { name: "s3edge-example-backfill-worker-errors", region: "us-east-2", state: "OK" },
        { name: "s3edge-example-content-5xx-rate", region: "us-east-1", state: "OK" },
      ],
      queues: [
        { name: "s3edge-example-backfill", deadLetter: false, visible: 120, inFlight: 8 },
        { name: "s3edge-example-backfill-dlq", deadLetter: true, visible: 3, inFlight: 0 },
      ],
      migration: {
        jobsTable: TABLE,
        copied: { lastHour: { objects: 2, bytes: 0, outcomes: { copied: 2 } } },
        inProgress: { objects: 1, bytes: 0 },
        retrying: { objects: 0, due: 0 },
        failed: { objects: 1, byReason: { other: 1 } },
        queue: { name: "s3edge-example-backfill", waiting: 120, inFlight: 8, delayed: 0 },
      },
    });
    const text = formatStatus(report);
    expect(text).toContain("alarms: 3 (1 in ALARM)");
    expect(text).toMatch(/ALARM\s+s3edge-example-backfill-dlq-not-empty \(us-east-2\): Threshold Crossed/);
    expect(text).toMatch(/s3edge-example-backfill-dlq\s+3 \/ 0 {2}<- failed messages wait here/);
  });

  it("leaves the migration out when no legacy origin is configured", async () => {
    writeStates(["storage-replication"]);
    const config = parseConfig({ backend: { type: "local", directory: dir }, legacyOrigin: null });
    const report = await deploymentStatus(config, deps(config));
    expect(report.migration).toBeUndefined();
    expect(report.endpoints).toEqual({});
  });

  it("reads the state from the S3 backend", async () => {
    const input: S3EdgeConfigInput = {
      backend: { type: "s3", bucket: "state-bucket", region: "us-east-1", keyPrefix: "prod" },
    };
    const config = parseConfig(input);
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "state-bucket",
        Key: "prod/storage-replication.tfstate",
        Body: state(STATES["storage-replication"]),
      }),
    );
    await s3.client.send(
      new PutObjectCommand({ Bucket: "state-bucket", Key: "prod/cdn.tfstate", Body: state(STATES.cdn) }),
    );
    const report = await deploymentStatus(config, {
      ...deps(config),
      readState: stateReader(config.backend, "/", s3.client),
    });
    expect(report.stacks).toEqual(["storage-replication", "cdn"]);
    expect(report.endpoints.content).toBe("https://d111111abcdef8.cloudfront.net");
  });

  it("says nothing is deployed, with exit code 1, when there is no state", async () => {
    const failure = deploymentStatus(parseConfig({ backend: { type: "local", directory: dir } }), deps());
    await expect(failure).rejects.toThrow(StatusError);
    await expect(failure).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("nothing deployed"),
    });
  });

  it("says the credentials are missing, with exit code 2", async () => {
    writeStates(["storage-replication"]);
    cloudWatch
      .on(DescribeAlarmsCommand)
      .rejects(
        Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }),
      );
    await expect(
      deploymentStatus(parseConfig({ backend: { type: "local", directory: dir } }), deps()),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining("no usable AWS credentials") });
  });

  it("exits 1 with the message from the command line when nothing is deployed", () => {
    const configFile = join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify({ backend: { type: "local", directory: dir } }));
    const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), "scripts/status.ts", "--json"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, S3EDGE_CONFIG: configFile },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('nothing deployed for "s3edge-example"');
    expect(result.stdout).toBe("");
  });
});
