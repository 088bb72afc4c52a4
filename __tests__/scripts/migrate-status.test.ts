/**
 * npm run migrate:status's core against stand-ins: the jobs table in dynalite filled by the job
 * store as the worker fills it, SQS and CloudWatch at the SDK boundary, the legacy store and the
 * primary bucket in s3rver for the inventory's share; the JSON report and its text, with real numbers.
 */
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobStore } from "../../functions/shared/backfill-jobs";
import { CopyError } from "../../functions/shared/copy/errors";
import { ObjectSource } from "../../functions/shared/copy/source";
import { openLegacySource } from "../../functions/shared/legacy-source";
import { failureReason, formatMigration, inventoryShare, migrationReport } from "../../scripts/status/migration";
import {
  jobsTable,
  localAwsEnv,
  startDynamoDb,
  startS3,
  type LocalDynamoDb,
  type LocalS3,
} from "../../testing/local-servers";
import { PROJECT_ROOT } from "../../config/paths";

const TABLE = "acme-backfill-jobs";
const QUEUE_BASE = "https://sqs.eu-west-1.amazonaws.com/123456789012";
const NOW = Date.parse("2026-12-02T12:00:00Z");
const OUTPUTS = {
  "storage-replication": {
    primary_bucket_name: "primary",
    backfill_jobs_table_name: TABLE,
    backfill_queue_url: `${QUEUE_BASE}/acme-backfill`,
    backfill_dead_letter_queue_url: `${QUEUE_BASE}/acme-backfill-dlq`,
  },
};

const sqs = mockClient(SQSClient);
const cloudWatch = mockClient(CloudWatchClient);
let dynamo: LocalDynamoDb;
let s3: LocalS3;
const metricQueries: GetMetricDataCommandInput[] = [];

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [dynamo, s3] = await Promise.all([startDynamoDb([jobsTable(TABLE)]), startS3(["legacy", "primary"])]);
  const documents = DynamoDBDocumentClient.from(dynamo.client);
  let clock = NOW - 30 * 60_000;
  const jobs = new JobStore(documents, TABLE, 15 * 60_000, () => clock);
  // Three copies done (one replaced an earlier copy, one was there already), as the worker records them.
  for (const [key, bytes, outcome] of [
    ["a.jpg", 1_000_000, "copied"],
    ["b.jpg", 2_500_000, "replaced"],
    ["c.jpg", 0, "skipped"],
  ] as const) {
    await jobs.claim(key, `"${key}"`, bytes);
    await jobs.markDone(key, { outcome, bytes, verifiedWith: "md5" });
  }
  // Two copies running (sizes from their HEADs).
  await jobs.claim("video/big.mp4", '"v"', 5_000_000_000);
  await jobs.claim("d.jpg", '"d"', 40_000);
  // Two transient failures backing off a minute: one whose backoff ran out, one that waits 30 s more.
  const first = await jobs.claim("e.jpg", '"e"', 10);
  await jobs.release(first!, "e.jpg: short-read: range 0+10 returned 4 bytes");
  const second = await jobs.claim("f.jpg", '"f"', 10);
  clock = NOW - 30_000;
  await jobs.release(second!, "SlowDown");
  // Permanent failures, recorded with the copy error's message.
  for (const [key, reason] of [
    ["gone-1.png", "source-not-found"],
    ["gone-2.png", "source-not-found"],
    ["huge.bin", "too-large"],
  ] as const) {
    await jobs.markFailed(key, new CopyError(reason, key, "details: with a colon").message);
  }
  await jobs.markFailed("odd", "something unforeseen");

  // The legacy inventory: 5 objects, 3 of them (and one owner's object) in the primary bucket.
  for (const [key, size] of [
    ["a.jpg", 100],
    ["b.jpg", 200],
    ["c.jpg", 300],
    ["z/é.txt", 400],
    ["z/ü.txt", 1000],
  ] as const) {
    await s3.client.send(new PutObjectCommand({ Bucket: "legacy", Key: key, Body: Buffer.alloc(size, 1) }));
  }
  for (const key of ["a.jpg", "c.jpg", "owner-only.txt", "z/é.txt"]) {
    await s3.client.send(new PutObjectCommand({ Bucket: "primary", Key: key, Body: "x" }));
  }
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), s3?.close()]);
});

beforeEach(() => {
  sqs.reset();
  cloudWatch.reset();
  metricQueries.length = 0;
  sqs
    .on(GetQueueAttributesCommand, { QueueUrl: `${QUEUE_BASE}/acme-backfill` })
    .resolves({
      Attributes: {
        ApproximateNumberOfMessages: "1520",
        ApproximateNumberOfMessagesNotVisible: "40",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    })
    .on(GetQueueAttributesCommand, { QueueUrl: `${QUEUE_BASE}/acme-backfill-dlq` })
    .resolves({ Attributes: { ApproximateNumberOfMessages: "3", ApproximateNumberOfMessagesNotVisible: "0" } });
  cloudWatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    metricQueries.push(input);
    const ids = (input.MetricDataQueries ?? []).map((query) => query.Id);
    if (ids.includes("age")) return { MetricDataResults: [{ Id: "age", Values: [754, 700, 650] }] };
    // Two 14-day periods: the window may straddle two.
    return {
      MetricDataResults: [
        { Id: "objects", Values: [120_000, 3_456] },
        { Id: "bytes", Values: [900_000_000_000, 12_345_678_901] },
      ],
    };
  });
});

const clients = () => ({
  documents: DynamoDBDocumentClient.from(dynamo.client),
  sqs: new SQSClient({ region: "eu-west-1" }),
  cloudWatch: new CloudWatchClient({ region: "eu-west-1" }),
  now: () => NOW,
});
const inventory = () => ({
  source: openLegacySource(
    { api: "s3", endpoint: s3.endpoint, bucket: "legacy", region: "auto", addressing: "path" },
    {
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    },
  ),
  destination: new ObjectSource(s3.client, "primary"),
});

it("reports copies, work in progress, retries, failures by reason, the queues and the inventory's share (JSON)", async () => {
  const report = await migrationReport(clients(), { namePrefix: "acme", outputs: OUTPUTS, inventory: inventory() });
  expect(report).toEqual({
    jobsTable: TABLE,
    copied: {
      recent: { objects: 123_456, bytes: 912_345_678_901, days: 14 },
      lastHour: { objects: 2, bytes: 3_500_000, outcomes: { copied: 1, replaced: 1, skipped: 1 } },
    },
    inProgress: { objects: 2, bytes: 5_000_040_000 },
    retrying: { objects: 2, due: 1, nextRetryAt: "2026-12-02T12:00:30.000Z" },
    failed: { objects: 4, byReason: { "source-not-found": 2, "too-large": 1, other: 1 } },
    queue: { name: "acme-backfill", waiting: 1520, inFlight: 40, delayed: 0, oldestMessageAgeSeconds: 754 },
    deadLetterQueue: { name: "acme-backfill-dlq", waiting: 3 },
    inventory: {
      source: "legacy",
      destination: "primary",
      legacy: { objects: 5, bytes: 2000 },
      inS3: { objects: 3, bytes: 800 },
      objectShare: 0.6,
      byteShare: 0.4,
    },
  });
  // The worker's own figures (its function name is the service dimension), and the backfill queue's age.
  const [totals, age] = metricQueries;
  expect(totals.MetricDataQueries?.map((query) => query.MetricStat?.Metric)).toEqual([
    {
      Namespace: "s3-edge",
      MetricName: "ObjectsCopied",
      Dimensions: [{ Name: "service", Value: "acme-backfill-worker" }],
    },
    {
      Namespace: "s3-edge",
      MetricName: "BytesCopied",
      Dimensions: [{ Name: "service", Value: "acme-backfill-worker" }],
    },
  ]);
  expect(totals.StartTime).toEqual(new Date(NOW - 14 * 86_400_000));
  expect(age.MetricDataQueries?.[0].MetricStat).toMatchObject({
    Metric: {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: "acme-backfill" }],
    },
    Stat: "Maximum",
  });
});

it("prints the same report as text", async () => {
  const report = await migrationReport(clients(), { namePrefix: "acme", outputs: OUTPUTS, inventory: inventory() });
  expect(formatMigration(report!).split("\n")).toEqual([
    `migration (jobs table ${TABLE}):`,
    "  copied             123,456 objects, 912.3 GB in the last 14 days; 2 objects, 3.5 MB in the last 1 hour (copied 1, replaced 1, skipped 1)",
    "  in progress        2 objects, 5.0 GB",
    "  retrying           2 (1 due now, next backoff ends 2026-12-02T12:00:30.000Z)",
    "  failed             4: source-not-found 2, other 1, too-large 1",
    "  queue              acme-backfill: 1,520 waiting, 40 in flight, 0 delayed, oldest 754 s",
    "  dead-letter queue  acme-backfill-dlq: 3 waiting  <- jobs that failed 5 receives wait here",
    "  legacy inventory   3 of 5 objects (60.0%), 800 B of 2.0 kB (40.0%) of legacy are in primary",
  ]);
});

it("says what it cannot know: no CloudWatch data, no queue outputs, no inventory asked for", async () => {
  cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "objects", Values: [] }] });
  const outputs = { "storage-replication": { backfill_jobs_table_name: TABLE } };
  const report = await migrationReport(clients(), { namePrefix: "acme", outputs });
  expect(report?.copied.recent).toEqual({ objects: 0, bytes: 0, days: 14 });
  expect(report?.queue).toBeUndefined();
  expect(report?.inventory).toBeUndefined();
  expect(
    await migrationReport(clients(), { namePrefix: "acme", outputs: { "storage-replication": {} } }),
  ).toBeUndefined();
});

it("compares the inventories in key order, under a prefix too", async () => {
  expect(await inventoryShare({ ...inventory(), prefix: "z/" })).toMatchObject({
    prefix: "z/",
    legacy: { objects: 2, bytes: 1400 },
    inS3: { objects: 1, bytes: 400 },
  });
  expect(await inventoryShare({ ...inventory(), prefix: "none/" })).toMatchObject({ objectShare: 1, byteShare: 1 });
});

it("reads the reason out of recorded errors, keys with colons included", () => {
  expect(failureReason("a: too-large: b.bin: source-not-found: x")).toBe("source-not-found");
  expect(failureReason(new CopyError("metadata-rejected", "k: v", "refused").message)).toBe("metadata-rejected");
  expect(failureReason(undefined)).toBe("other");
});

it("npm run migrate:status refuses bad usage (2) and says when nothing is deployed (1)", () => {
  const dir = mkdtempSync(join(tmpdir(), "migrate-status-"));
  try {
    const run = (args: string[], config: object) => {
      writeFileSync(join(dir, "config.json"), JSON.stringify(config));
      // The command `npm run migrate:status` runs (tsx), without npx's start-up.
      return spawnSync(process.execPath, ["--import", "tsx", "scripts/migrate-status.ts", ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, S3EDGE_CONFIG: join(dir, "config.json") },
        encoding: "utf8",
      });
    };
    const usage = run(["--prefix", "a/"], {});
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("go with --source-bucket");
    const undeployed = run(["--json"], { backend: { type: "local", directory: dir } });
    expect(undeployed.status).toBe(1);
    expect(undeployed.stderr).toContain("nothing deployed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
