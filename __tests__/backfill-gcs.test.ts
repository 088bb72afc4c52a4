/**
 * The worker against a GCS lookalike (node:http) that sends what GCS sends: x-goog-hash,
 * x-goog-meta-*, x-goog-stored-content-length. Fan-out of parts across messages, and corrupted
 * transfers rejected in every copy mode.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { BackfillWorker } from "../functions/backfill-worker/worker";
import { JobStore } from "../functions/shared/backfill-jobs";
import { backfillMessageSchema, type BackfillMessage } from "../functions/shared/backfill-messages";
import { crc32cCombine, crc32cOf } from "../functions/shared/copy/checksums";
import { CopyEngine } from "../functions/shared/copy/engine";
import { CopyError } from "../functions/shared/copy/errors";
import { createSourceClient, ObjectSource } from "../functions/shared/copy/source";
import { JobQueue } from "../functions/shared/job-queue";
import {
  bytes,
  startFakeGcs,
  startJobsTable,
  startS3,
  useLocalAwsEnv,
  type FakeGcs,
  type LocalDynamo,
  type LocalS3,
} from "./support/backfill-servers";

const TABLE = "backfill-jobs-gcs";
const sqs = mockClient(SQSClient);
let gcs: FakeGcs;
let s3: LocalS3;
let dynamo: LocalDynamo;
let jobs: JobStore;
let worker: BackfillWorker;

/** Messages the worker queued since the last call. */
function queued(): BackfillMessage[] {
  const messages = sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => backfillMessageSchema.parse(JSON.parse(entry.MessageBody ?? "")));
  sqs.resetHistory();
  return messages;
}

async function destination(key: string): Promise<Buffer | undefined> {
  try {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  useLocalAwsEnv();
  [gcs, s3, dynamo] = await Promise.all([startFakeGcs("legacy"), startS3(["primary"]), startJobsTable(TABLE)]);
  const engine = new CopyEngine(
    new ObjectSource(createSourceClient({ endpoint: gcs.endpoint }), "legacy"),
    s3.client,
    "primary",
    { multipartThreshold: 8192, partSize: 8192, uploadConcurrency: 3 },
  );
  jobs = new JobStore(DynamoDBDocumentClient.from(dynamo.client), TABLE, 60_000);
  worker = new BackfillWorker({
    engine,
    jobs,
    queue: new JobQueue(new SQSClient({}), "https://sqs.us-east-1.amazonaws.com/123456789012/backfill"),
    logger: new Logger({ logLevel: "SILENT" }),
    fanOutThreshold: 40_000,
  });
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

afterAll(async () => {
  await Promise.all([gcs?.close(), s3?.close(), dynamo?.close()]);
});

it("combines CRC32C values of parts into the CRC32C of the whole", () => {
  const whole = bytes(50_001, 3);
  const cuts = [0, 1, 8192, 30_000, 50_001];
  let crc = 0;
  for (let index = 1; index < cuts.length; index++) {
    const part = whole.subarray(cuts[index - 1], cuts[index]);
    crc = crc32cCombine(crc, crc32cOf(part), part.length);
  }
  expect(crc).toBe(crc32cOf(whole));
});

it("maps x-goog-meta-* to user metadata, keeps content headers, verifies with crc32c", async () => {
  const body = bytes(5000, 21);
  gcs.objects.set("fonts/a.woff2", {
    body,
    contentType: "font/woff2",
    cacheControl: "public, max-age=31536000, immutable",
    contentDisposition: "attachment",
    contentLanguage: "fr",
    metadata: { "uploaded-by": "pipeline", revision: "42" },
  });
  await worker.process({ type: "copy", key: "fonts/a.woff2" });
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "fonts/a.woff2" }));
  expect(head).toMatchObject({
    ContentType: "font/woff2",
    CacheControl: "public, max-age=31536000, immutable",
    ContentDisposition: "attachment",
    ContentLanguage: "fr",
    ContentLength: 5000,
  });
  expect(head.Metadata).toEqual({
    "uploaded-by": "pipeline",
    revision: "42",
    "source-etag": expect.any(String),
    "source-crc32c": expect.any(String),
  });
  expect((await destination("fonts/a.woff2"))!.equals(body)).toBe(true);
  expect(await jobs.get("fonts/a.woff2")).toMatchObject({ status: "done", verifiedWith: "crc32c" });
});

it("fans a large object out into part messages, completes it once, whatever the order and repeats", async () => {
  const body = bytes(100_000, 5); // 13 parts of 8 KiB
  gcs.objects.set("video/long.mp4", { body, contentType: "video/mp4", metadata: { title: "long" } });
  s3.created.clear();
  await worker.process({ type: "copy", key: "video/long.mp4" });
  const parts = queued();
  expect(parts).toHaveLength(13);
  expect(parts.every((message) => message.type === "part")).toBe(true);
  expect(await destination("video/long.mp4")).toBeUndefined();

  // Redelivered parts, out of order, several at once: as many workers would see them.
  const deliveries = [...parts.slice(7), parts[0], ...parts.slice(0, 7).reverse(), parts[12], parts[3]];
  await Promise.all(deliveries.slice(0, 8).map((message) => worker.process(message)));
  for (const message of deliveries.slice(8)) await worker.process(message);

  expect(s3.created.get("video/long.mp4")).toBe(1);
  expect((await destination("video/long.mp4"))!.equals(body)).toBe(true);
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "video/long.mp4" }));
  expect(head).toMatchObject({ ContentType: "video/mp4", Metadata: expect.objectContaining({ title: "long" }) });
  expect(await jobs.get("video/long.mp4")).toMatchObject({ status: "done", verifiedWith: "crc32c" });
  expect(queued()).toEqual([]);
});

describe("a corrupted transfer is rejected and leaves no object", () => {
  const corrupt = (length: number, seed: number) => {
    const body = bytes(length, seed);
    const servedBody = Buffer.from(body);
    servedBody[Math.floor(length / 2)] ^= 0xff;
    return { body, servedBody };
  };

  it.each([
    ["a single PUT", 4000],
    ["a multipart copy", 30_000],
  ])("in %s", async (_mode, length) => {
    const key = `corrupt/${length}.bin`;
    gcs.objects.set(key, corrupt(length, length));
    const failure = await worker.process({ type: "copy", key }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CopyError);
    expect((failure as CopyError).reason).toBe("integrity-mismatch");
    expect(await destination(key)).toBeUndefined();
    expect(await jobs.get(key)).toMatchObject({
      status: "retrying",
      error: expect.stringContaining("integrity-mismatch"),
    });
  });

  it("in a fanned-out copy: the upload is aborted and the object copied again from scratch", async () => {
    const key = "corrupt/fanned.bin";
    gcs.objects.set(key, corrupt(50_000, 9));
    await worker.process({ type: "copy", key });
    for (const message of queued()) await worker.process(message);
    expect(await destination(key)).toBeUndefined();
    expect(await jobs.get(key)).toMatchObject({
      status: "retrying",
      error: expect.stringContaining("integrity-mismatch"),
    });
    expect(queued()).toEqual([{ type: "copy", key }]);
  });
});

it("fails a copy whose source changes mid-way instead of mixing versions", async () => {
  const key = "changing.bin";
  gcs.objects.set(key, { body: bytes(50_000, 1) });
  await worker.process({ type: "copy", key });
  const parts = queued();
  gcs.objects.set(key, { body: bytes(50_000, 2) });
  const failure = await worker.process(parts[0]).catch((error: unknown) => error);
  expect((failure as CopyError).reason).toBe("source-changed");
  expect(await destination(key)).toBeUndefined();
});
