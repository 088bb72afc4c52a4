/**
 * backfill-sweeper: stalled jobs (dynalite) are re-driven once and their orphaned uploads aborted.
 * s3rver does not implement AbortMultipartUpload, so S3 is mocked at the SDK boundary here.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { AbortMultipartUploadCommand, S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { sweep } from "../functions/backfill-sweeper/sweep";
import { JobStore } from "../functions/shared/backfill-jobs";
import { JobQueue } from "../functions/shared/job-queue";
import { startJobsTable, useLocalAwsEnv, type LocalDynamo } from "./support/backfill-servers";

const TABLE = "backfill-jobs-sweeper";
const STALL_MS = 60_000;
const sqs = mockClient(SQSClient);
const s3 = new S3Client({ region: "us-east-1" });
const s3Mock = mockClient(s3);
let dynamo: LocalDynamo;

beforeAll(async () => {
  useLocalAwsEnv();
  dynamo = await startJobsTable(TABLE);
  s3Mock.on(AbortMultipartUploadCommand).resolves({});
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

afterAll(async () => {
  await dynamo?.close();
});

it("re-drives stalled jobs once, aborts their uploads, and leaves live and finished jobs alone", async () => {
  let now = 1_700_000_000_000;
  const jobs = new JobStore(DynamoDBDocumentClient.from(dynamo.client), TABLE, STALL_MS, () => now);
  await jobs.claim("stuck/fanned.bin", '"e1"', 100);
  await jobs.startFanOut("stuck/fanned.bin", {
    uploadId: "upload-1",
    partCount: 4,
    partSize: 25,
    overCloudFrontLimit: false,
  });
  await jobs.claim("stuck/released.bin", '"e2"', 10);
  await jobs.release("stuck/released.bin", "throttled");
  await jobs.claim("finished.bin", '"e3"', 10);
  await jobs.markDone("finished.bin", { outcome: "copied", bytes: 10 });
  now += STALL_MS + 1;
  await jobs.claim("live.bin", '"e4"', 10);

  const deps = {
    jobs,
    queue: new JobQueue(new SQSClient({}), "https://sqs.us-east-1.amazonaws.com/123456789012/backfill"),
    s3,
    bucket: "primary",
    logger: new Logger({ logLevel: "SILENT" }),
  };
  expect(await sweep(deps)).toEqual({ redriven: 2, abortedUploads: 1 });
  const sent = sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? ""));
  expect(sent.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
    { type: "copy", key: "stuck/fanned.bin" },
    { type: "copy", key: "stuck/released.bin" },
  ]);
  expect(await jobs.get("stuck/fanned.bin")).toMatchObject({ status: "retrying" });
  expect((await jobs.get("stuck/fanned.bin"))?.uploadId).toBeUndefined();
  expect(s3Mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
    { Bucket: "primary", Key: "stuck/fanned.bin", UploadId: "upload-1" },
  ]);

  // The re-driven message can claim the job at once; a second sweep finds nothing to do.
  expect(await jobs.claim("stuck/released.bin", '"e2"', 10)).toMatchObject({ status: "in-progress", attempts: 2 });
  sqs.resetHistory();
  expect(await sweep(deps)).toEqual({ redriven: 0, abortedUploads: 0 });
});
