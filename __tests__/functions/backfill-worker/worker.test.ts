/**
 * The worker against a GCS lookalike (node:http) that sends what GCS sends: x-goog-hash,
 * x-goog-meta-*, x-goog-stored-content-length, and an S3 stand-in that honours conditional writes
 * (s3rver behind startConditionalS3). Fan-out of parts across messages, corrupted transfers
 * rejected in every copy mode, every failure kind, the owner's writes never overwritten (the race
 * included), metadata S3 can hold, and memory bounded per invocation.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { BackfillWorker } from "../../../functions/backfill-worker/worker";
import { JobStore } from "../../../functions/shared/backfill-jobs";
import { backfillMessageSchema, type BackfillMessage } from "../../../functions/shared/backfill-messages";
import { Crc32c } from "@aws-crypto/crc32c";
import { crc32cCombine, crc32cOf } from "../../../functions/shared/copy/checksums";
import { MemoryBudget } from "../../../functions/shared/copy/budget";
import { CopyEngine, partLayout } from "../../../functions/shared/copy/engine";
import { MIGRATION_WRITE_METADATA } from "../../../functions/shared/migration-write";
import { createSourceClient, ObjectSource } from "../../../functions/shared/copy/source";
import { JobQueue } from "../../../functions/shared/job-queue";
import { bytes } from "../../support/bytes";
import { startConditionalS3, type ConditionalS3 } from "../../../testing/conditional-s3";
import { startFakeGcs, type FakeGcs } from "../../../testing/fake-gcs";
import { jobsTable, localAwsEnv, startDynamoDb, type LocalDynamoDb } from "../../../testing/local-servers";

const TABLE = "backfill-jobs-gcs";
const sqs = mockClient(SQSClient);
let gcs: FakeGcs;
let s3: ConditionalS3;
let engine: CopyEngine;
const warnings: { key: string; field: string; reason: string }[] = [];
/** The invocation's buffer budget: 3 parts of 8 KiB, whatever the batch runs in parallel. */
const memory = new MemoryBudget(3 * 8192);
let dynamo: LocalDynamoDb;
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
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [gcs, s3, dynamo] = await Promise.all([
    startFakeGcs("legacy"),
    startConditionalS3(["primary"]),
    startDynamoDb([jobsTable(TABLE)]),
  ]);
  engine = new CopyEngine(
    new ObjectSource(createSourceClient({ endpoint: gcs.endpoint, maxAttempts: 1 }), "legacy"),
    s3.client,
    "primary",
    {
      multipartThreshold: 8192,
      partSize: 8192,
      uploadConcurrency: 3,
      memory,
      onDroppedMetadata: (key, dropped) => warnings.push({ key, ...dropped }),
    },
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

it("combines CRC32C values of parts into the CRC32C of the whole", async () => {
  const whole = bytes(50_001, 3);
  const cuts = [0, 1, 8192, 30_000, 50_001];
  let crc = 0;
  for (let index = 1; index < cuts.length; index++) {
    const part = whole.subarray(cuts[index - 1], cuts[index]);
    crc = crc32cCombine(crc, await crc32cOf(part), part.length);
  }
  expect(crc).toBe(await crc32cOf(whole));
  // The WebAssembly CRC32C agrees with an independent implementation (RFC 3720's check value too).
  expect(crc).toBe(new Crc32c().update(whole).digest() >>> 0);
  expect(await crc32cOf(Buffer.from("123456789"))).toBe(0xe3069283);
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
    [MIGRATION_WRITE_METADATA]: "created",
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
    // Recorded and acknowledged: the job's backoff, not SQS's redelivery, brings it back.
    await worker.process({ type: "copy", key });
    expect(await destination(key)).toBeUndefined();
    expect(await jobs.get(key)).toMatchObject({
      status: "retrying",
      failures: 1,
      retryAt: expect.any(Number),
      error: expect.stringContaining("integrity-mismatch"),
    });
  });

  it("in a fanned-out copy: the upload is aborted and the copy backs off before starting from scratch", async () => {
    const key = "corrupt/fanned.bin";
    gcs.objects.set(key, corrupt(50_000, 9));
    await worker.process({ type: "copy", key });
    const parts = queued();
    const uploadId = (parts[0] as { uploadId: string }).uploadId;
    for (const message of parts) await worker.process(message);
    expect(await destination(key)).toBeUndefined();
    expect(s3.abortedUploads.has(uploadId)).toBe(true);
    expect(await jobs.get(key)).toMatchObject({
      status: "retrying",
      failures: 1,
      error: expect.stringContaining("integrity-mismatch"),
    });
    expect(queued()).toEqual([]);
  });

  it("with only an MD5 published (the whole-object MD5 is the only check)", async () => {
    const key = "corrupt/md5-only.bin";
    gcs.objects.set(key, { ...corrupt(30_000, 4), hashes: "md5" });
    await worker.process({ type: "copy", key });
    expect(await destination(key)).toBeUndefined();
    expect(await jobs.get(key)).toMatchObject({ status: "retrying", error: expect.stringContaining("md5") });
  });
});

it("fails a copy whose source changes mid-way instead of mixing versions", async () => {
  const key = "changing.bin";
  gcs.objects.set(key, { body: bytes(50_000, 1) });
  await worker.process({ type: "copy", key });
  const parts = queued();
  gcs.objects.set(key, { body: bytes(50_000, 2) });
  await worker.process(parts[0]);
  expect(await destination(key)).toBeUndefined();
  expect(await jobs.get(key)).toMatchObject({ status: "retrying", error: expect.stringContaining("source-changed") });
});

describe("the migration never overwrites what it did not write", () => {
  const owner = Buffer.from("the owner's newer bytes");

  it.each([
    ["PUT", 4000],
    ["CompleteMultipartUpload of a multipart copy", 30_000],
    ["CompleteMultipartUpload of a fanned-out copy", 50_000],
  ])("an owner write landing between the HEAD and the %s wins", async (_write, length) => {
    const key = `race/${length}.bin`;
    gcs.objects.set(key, { body: bytes(length, 31) });
    s3.beforeConditionalWrite = async ({ key: written }) => {
      if (written !== key) return;
      s3.beforeConditionalWrite = undefined;
      await s3.direct.client.send(new PutObjectCommand({ Bucket: "primary", Key: key, Body: owner }));
    };
    await worker.process({ type: "copy", key });
    for (const message of queued()) await worker.process(message);
    expect((await destination(key))!.equals(owner)).toBe(true);
    expect(s3.conditionalWrites).toContain(`${length > 8192 ? "POST" : "PUT"} ${key} if-none-match → 412`);
    expect(await jobs.get(key)).toMatchObject({ status: "done", outcome: "newer-in-s3" });
    expect([...s3.openUploads.values()]).not.toContain(key);
  });

  it("leaves an object the owner put there first alone, writing nothing", async () => {
    const key = "owner/first.txt";
    gcs.objects.set(key, { body: bytes(3000, 2) });
    await s3.direct.client.send(new PutObjectCommand({ Bucket: "primary", Key: key, Body: owner }));
    const writes = s3.conditionalWrites.length;
    await worker.process({ type: "copy", key });
    expect(s3.conditionalWrites.length).toBe(writes);
    expect((await destination(key))!.equals(owner)).toBe(true);
    expect(await jobs.get(key)).toMatchObject({ status: "done", outcome: "newer-in-s3" });
  });

  it.each([
    ["a single PUT", 4000],
    ["a multipart copy", 30_000],
    ["a fanned-out copy", 50_000],
  ])("replaces its own copy, with If-Match, after a same-size change at the source (%s)", async (_mode, length) => {
    const key = `changed/${length}.bin`;
    gcs.objects.set(key, { body: bytes(length, 1) });
    await worker.process({ type: "copy", key });
    for (const message of queued()) await worker.process(message);
    const first = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
    expect(first.Metadata?.[MIGRATION_WRITE_METADATA]).toBe("created");

    // Same size, other bytes: "already copied" must look further than the size.
    const changed = bytes(length, 2);
    gcs.objects.set(key, { body: changed });
    await worker.process({ type: "copy", key });
    for (const message of queued()) await worker.process(message);
    expect((await destination(key))!.equals(changed)).toBe(true);
    const second = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
    expect(second.Metadata?.[MIGRATION_WRITE_METADATA]).toBe("replaced");
    expect(s3.conditionalWrites).toContain(`${length > 8192 ? "POST" : "PUT"} ${key} if-match=${first.ETag} → 200`);
    expect(await jobs.get(key)).toMatchObject({ status: "done", outcome: "replaced" });
  });

  it("looks again after a 409 ConditionalRequestConflict and copies", async () => {
    const key = "conflict/once.bin";
    gcs.objects.set(key, { body: bytes(2000, 3) });
    s3.conflictOnce.add(key);
    await worker.process({ type: "copy", key });
    expect(s3.conditionalWrites.filter((line) => line.startsWith(`PUT ${key}`))).toEqual([
      `PUT ${key} if-none-match → 409`,
      `PUT ${key} if-none-match → 200`,
    ]);
    expect(await jobs.get(key)).toMatchObject({ status: "done", outcome: "copied" });
  });
});

describe("each failure kind is recorded as what it is", () => {
  it("too-large (over 5 TiB) is permanent and never retried", async () => {
    gcs.objects.set("huge.bin", { body: bytes(10, 1), advertisedSize: 5 * 1024 ** 4 + 1 });
    await worker.process({ type: "copy", key: "huge.bin" });
    expect(await jobs.get("huge.bin")).toMatchObject({ status: "failed", error: expect.stringContaining("too-large") });
    // A later miss costs one HEAD of the source: nothing is read or written.
    await worker.process({ type: "copy", key: "huge.bin" });
    expect(gcs.requests.filter((line) => line.startsWith("GET /legacy/huge.bin"))).toEqual([]);
    expect(await jobs.get("huge.bin")).toMatchObject({ status: "failed" });
  });

  it("a short read is transient: retried in place, then backed off", async () => {
    gcs.objects.set("short.bin", { body: bytes(20_000, 1), shortBy: 1 });
    await worker.process({ type: "copy", key: "short.bin" });
    expect(await destination("short.bin")).toBeUndefined();
    expect(await jobs.get("short.bin")).toMatchObject({
      status: "retrying",
      failures: 1,
      error: expect.stringContaining("short-read"),
    });
    const ranged = gcs.requests.filter((line) => line.startsWith("GET /legacy/short.bin bytes=0-"));
    expect(ranged.length).toBeGreaterThan(1);
  });

  it("flags an object over 30 GB and cuts it into at most 10,000 parts", async () => {
    const size = 31e9;
    gcs.objects.set("video/over-30gb.bin", { body: bytes(10, 1), advertisedSize: size });
    await worker.process({ type: "copy", key: "video/over-30gb.bin" });
    const parts = queued();
    const layout = partLayout(size, 8192);
    expect(parts).toHaveLength(layout.partCount);
    expect(layout.partCount).toBeLessThanOrEqual(10_000);
    expect(s3.writtenMetadata.get("video/over-30gb.bin")).toMatchObject({
      "cloudfront-uncacheable": "true",
      [MIGRATION_WRITE_METADATA]: "created",
    });
    const job = await jobs.get("video/over-30gb.bin");
    expect(job).toMatchObject({ status: "in-progress", overCloudFrontLimit: true, partCount: layout.partCount });
    await engine.abortUpload("video/over-30gb.bin", job!.uploadId!);
  });

  it.each([
    [80e9, 8 * 1024 ** 2],
    [100e9, 8 * 1024 ** 2],
    [5 * 1024 ** 4, 8 * 1024 ** 2],
    [5 * 1024 ** 4, 8192],
  ])("lays %d bytes out in whole-MiB parts, at most 10,000, covering every byte", (size, partSize) => {
    const layout = partLayout(size, partSize);
    expect(layout.partCount).toBeLessThanOrEqual(10_000);
    expect(layout.partSize * layout.partCount).toBeGreaterThanOrEqual(size);
    expect(layout.partSize * (layout.partCount - 1)).toBeLessThan(size);
    if (layout.partSize !== partSize) expect(layout.partSize % 1024 ** 2).toBe(0);
  });
});

it("keeps the metadata S3 can hold (non-ASCII as RFC 2047) and drops what cannot fit, naming it", async () => {
  const key = "meta/gcs-8k.txt";
  gcs.objects.set(key, {
    body: bytes(100, 1),
    metadata: { title: "crème brûlée ☕", big: "x".repeat(3000), author: "ana" },
  });
  warnings.length = 0;
  await worker.process({ type: "copy", key });
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
  expect(head.Metadata).toMatchObject({
    title: `=?UTF-8?B?${Buffer.from("crème brûlée ☕").toString("base64")}?=`,
    author: "ana",
  });
  expect(head.Metadata?.big).toBeUndefined();
  expect(warnings).toEqual([{ key, field: "big", reason: "over-2KB" }]);
  expect(await jobs.get(key)).toMatchObject({ status: "done", outcome: "copied" });
});

it("holds at most the invocation's buffer budget while a batch copies in parallel", async () => {
  const keys = Array.from({ length: 5 }, (_, index) => `batch/${index}.bin`);
  keys.forEach((key, index) => gcs.objects.set(key, { body: bytes(39_000, 50 + index) }));
  memory.peakBytes = 0;
  await Promise.all(keys.map((key) => worker.process({ type: "copy", key })));
  for (const [index, key] of keys.entries()) {
    expect((await destination(key))!.equals(bytes(39_000, 50 + index))).toBe(true);
  }
  expect(memory.peakBytes).toBeGreaterThan(8192);
  expect(memory.peakBytes).toBeLessThanOrEqual(memory.limitBytes);
});

it("a fanned-out copy whose upload is gone records a transient failure and writes nothing", async () => {
  const key = "video/upload-gone.bin";
  gcs.objects.set(key, { body: bytes(50_000, 77) });
  await worker.process({ type: "copy", key });
  const parts = queued();
  for (const message of parts.slice(0, 3)) await worker.process(message);
  const uploadId = (parts[0] as { uploadId: string }).uploadId;
  expect((await jobs.get(key))?.doneParts?.size).toBe(3);
  await engine.abortUpload(key, uploadId); // a lifecycle rule, or an operator, removed it
  await worker.process(parts[3]);
  expect(await destination(key)).toBeUndefined();
  expect(await jobs.get(key)).toMatchObject({
    status: "retrying",
    failures: 1,
    error: expect.stringContaining("upload-gone"),
  });
  // The remaining parts of the abandoned upload are ignored.
  for (const message of parts.slice(4)) await worker.process(message);
  expect(await jobs.get(key)).toMatchObject({ status: "retrying" });
});
