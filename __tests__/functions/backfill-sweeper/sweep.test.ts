/**
 * backfill-sweeper and the jobs table's retry rules, on dynalite with a clock the test controls:
 * stalled jobs are re-driven once and their orphaned uploads aborted (on the S3 stand-in, which
 * implements AbortMultipartUpload); a fanned-out copy waiting behind a backlog is left alone, and
 * a stalled one gets only its missing parts again; transient failures back off, one failure one step.
 * SQS has no local server: it is mocked at the SDK boundary.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { sweep, type SweepDeps } from "../../../functions/backfill-sweeper/sweep";
import { JobStore, type JobRecord } from "../../../functions/shared/backfill-jobs";
import { JobQueue } from "../../../functions/shared/job-queue";
import { startConditionalS3, type ConditionalS3 } from "../../../testing/conditional-s3";
import { jobsTable, localAwsEnv, startDynamoDb, type LocalDynamoDb } from "../../../testing/local-servers";

const TABLE = "backfill-jobs-sweeper";
const STALL_MS = 60_000;
const MINUTE = 60_000;
const sqs = mockClient(SQSClient);
let dynamo: LocalDynamoDb;
let s3: ConditionalS3;
let now = 1_700_000_000_000;
let backlog = 0;

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  s3 = await startConditionalS3(["primary"]);
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  sqs
    .on(GetQueueAttributesCommand)
    .callsFake(async () => ({ Attributes: { ApproximateNumberOfMessages: String(backlog) } }));
});

afterAll(async () => {
  await s3?.close();
});

// A fresh table per test: each sweep sees only its own test's jobs.
beforeEach(async () => {
  sqs.resetHistory();
  backlog = 0;
  dynamo = await startDynamoDb([jobsTable(TABLE)]);
});

afterEach(async () => {
  await dynamo?.close();
});

function store(): JobStore {
  return new JobStore(DynamoDBDocumentClient.from(dynamo.client), TABLE, STALL_MS, () => now);
}

function depsOf(jobs: JobStore): SweepDeps {
  return {
    jobs,
    queue: new JobQueue(new SQSClient({}), "https://sqs.us-east-1.amazonaws.com/123456789012/backfill"),
    s3: s3.client,
    bucket: "primary",
    logger: new Logger({ logLevel: "SILENT" }),
  };
}

const sentMessages = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? ""));

it("re-drives stalled and due jobs once, aborts the upload of a crashed copy, leaves live and finished jobs alone", async () => {
  const jobs = store();
  // A single-worker multipart copy whose worker died: its upload id was recorded when it started.
  const { UploadId } = await s3.client.send(
    new CreateMultipartUploadCommand({ Bucket: "primary", Key: "stuck/crashed.bin" }),
  );
  await jobs.claim("stuck/crashed.bin", '"e1"', 100);
  await jobs.recordUpload("stuck/crashed.bin", UploadId!);
  const released = (await jobs.claim("stuck/released.bin", '"e2"', 10))!;
  await jobs.release(released, "throttled");
  await jobs.claim("finished.bin", '"e3"', 10);
  await jobs.markDone("finished.bin", { outcome: "copied", bytes: 10 });
  now += STALL_MS + 1;
  await jobs.claim("live.bin", '"e4"', 10);

  expect(await sweep(depsOf(jobs))).toEqual({ redriven: 2, abortedUploads: 1, requeuedFanOuts: 0, queued: 0 });
  expect(sentMessages().sort((a, b) => a.key.localeCompare(b.key))).toEqual([
    { type: "copy", key: "stuck/crashed.bin" },
    { type: "copy", key: "stuck/released.bin" },
  ]);
  expect(s3.abortedUploads.has(UploadId!)).toBe(true);
  expect(s3.openUploads.has(UploadId!)).toBe(false);
  const crashed = await jobs.get("stuck/crashed.bin");
  expect(crashed).toMatchObject({ status: "retrying", failures: 1 });
  expect(crashed?.uploadId).toBeUndefined();

  // The re-driven message claims at once; a second sweep finds nothing to do.
  expect(await jobs.claim("stuck/released.bin", '"e2"', 10)).toMatchObject({ status: "in-progress", attempts: 2 });
  sqs.resetHistory();
  expect(await sweep(depsOf(jobs))).toEqual({ redriven: 0, abortedUploads: 0, requeuedFanOuts: 0, queued: 0 });
});

it("leaves a fanned-out copy queued behind a backlog alone, and re-queues only the missing parts of a stalled one", async () => {
  const jobs = store();
  const key = "video/fanned.bin";
  await jobs.claim(key, '"big"', 100);
  await jobs.startFanOut(key, {
    uploadId: "upload-kept",
    partCount: 4,
    partSize: 25,
    overCloudFrontLimit: false,
    write: { mode: "created" },
  });
  const queuedAt = now;
  await jobs.recordPart("upload-kept", { partNumber: 2, etag: '"p2"', size: 25, crc32c: 7 });
  expect(await jobs.countPart(key, "upload-kept", 2)).toBe("counted");

  // `migrate --enqueue` filled the queue: the workers are still on messages sent before the parts.
  backlog = 50_000;
  await jobs.noteQueueProgress(queuedAt - 10 * MINUTE);
  for (const later of [STALL_MS + 1, 10 * STALL_MS]) {
    now = queuedAt + later;
    expect(await sweep(depsOf(jobs))).toEqual({ redriven: 0, abortedUploads: 0, requeuedFanOuts: 0, queued: 1 });
  }
  expect(sentMessages()).toEqual([]);

  // The workers moved well past the parts' messages, yet the job did not move: parts were lost.
  await jobs.noteQueueProgress(queuedAt + STALL_MS + 1);
  expect(await sweep(depsOf(jobs))).toEqual({ redriven: 0, abortedUploads: 0, requeuedFanOuts: 1, queued: 0 });
  expect(sentMessages().map((message) => message.partNumber)).toEqual([1, 3, 4]);
  expect(sentMessages()[0]).toEqual({
    type: "part",
    key,
    uploadId: "upload-kept",
    partNumber: 1,
    partSize: 25,
    size: 100,
    etag: '"big"',
  });
  const job = await jobs.get(key);
  expect(job).toMatchObject({ status: "in-progress", uploadId: "upload-kept", queuedAt: now });
  expect([...(job?.doneParts ?? [])]).toEqual([2]);

  // Once the queue is empty, a fan-out that stops moving is stalled whatever the queue's progress.
  sqs.resetHistory();
  backlog = 0;
  now += STALL_MS + 1;
  expect(await sweep(depsOf(jobs))).toMatchObject({ requeuedFanOuts: 1, queued: 0 });
});

it("backs a transient failure off, growing, resetting after the cool-down; one failure costs one step", async () => {
  const jobs = store();
  const key = "flaky/object.bin";
  const claimAndFail = async () => {
    const job = (await jobs.claim(key, '"f"', 10)) as JobRecord;
    expect(job).toBeDefined();
    return (await jobs.release(job, "503 SlowDown"))! - now;
  };
  expect(await claimAndFail()).toBe(MINUTE);
  // A later miss inside the backoff (or SQS redelivering the same message) cannot claim it.
  now += MINUTE - 1;
  expect(await jobs.claim(key, '"f"', 10)).toBeUndefined();
  now += 1;
  expect(await claimAndFail()).toBe(2 * MINUTE);
  now += 2 * MINUTE;
  expect(await claimAndFail()).toBe(4 * MINUTE);
  expect(await jobs.get(key)).toMatchObject({ status: "retrying", failures: 3, error: "503 SlowDown" });
  // Never given up for good: after a quiet day the streak starts again from the base delay.
  now += jobs.retryPolicy.coolDownMs;
  expect(await claimAndFail()).toBe(MINUTE);

  // A worker that dies mid-copy: the sweeper's take-over and SQS's redelivery of the same message
  // both bring the job back, but only one claim wins and the crash counts once.
  now += MINUTE;
  const crashing = "crash/object.bin";
  await jobs.claim(crashing, '"c"', 10);
  now += STALL_MS + 1;
  // (The flaky job's backoff has run out by now too: the sweeper brings it back as well.)
  expect(await sweep(depsOf(jobs))).toMatchObject({ redriven: 2 });
  expect(
    sentMessages()
      .map((message) => message.key)
      .sort(),
  ).toEqual([crashing, key]);
  expect(await jobs.claim(crashing, '"c"', 10)).toMatchObject({ status: "in-progress", failures: 1, attempts: 2 });
  expect(await jobs.claim(crashing, '"c"', 10)).toBeUndefined();
});

it("keeps a permanent failure failed until the source object changes", async () => {
  const jobs = store();
  await jobs.claim("bad/meta.bin", '"v1"', 10);
  await jobs.markFailed("bad/meta.bin", "metadata-rejected: MetadataTooLarge");
  now += 30 * 24 * 3_600_000;
  expect(await jobs.claim("bad/meta.bin", '"v1"', 10)).toBeUndefined();
  expect(await jobs.get("bad/meta.bin")).toMatchObject({
    status: "failed",
    error: expect.stringContaining("metadata"),
  });
  expect(await jobs.claim("bad/meta.bin", '"v2"', 10)).toMatchObject({ status: "in-progress" });
});
