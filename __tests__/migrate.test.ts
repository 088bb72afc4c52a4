/**
 * `npm run migrate` as a user runs it (a child process), between two s3rver instances: one plays
 * GCS through its S3-compatible API, the other is the destination bucket.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { bytes, startS3, useLocalAwsEnv, type LocalS3 } from "./support/backfill-servers";

const ROOT = join(__dirname, "..");
const OBJECTS = 40;
const keyOf = (index: number) => `assets/${String(index).padStart(3, "0")}/file name ${index}.bin`;
let gcs: LocalS3;
let s3: LocalS3;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: Record<string, number | boolean>;
}

function migrate(args: string[], extraEnv: NodeJS.ProcessEnv = {}, killWhen?: () => Promise<boolean>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "scripts/migrate.ts", "--source-endpoint", gcs.endpoint, ...args], {
      cwd: ROOT,
      // Its own process group, so that a kill reaches npx's children too (the CLI itself).
      detached: true,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        SOURCE_ACCESS_KEY_ID: "S3RVER",
        SOURCE_SECRET_ACCESS_KEY: "S3RVER",
        ...extraEnv,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    let poller: NodeJS.Timeout | undefined;
    if (killWhen) {
      poller = setInterval(() => {
        void killWhen().then((kill) => {
          if (kill) {
            clearInterval(poller);
            process.kill(-child.pid!, "SIGKILL");
          }
        });
      }, 20);
    }
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(poller);
      const last = stdout.trim().split("\n").pop() ?? "";
      let summary = {};
      try {
        summary = JSON.parse(last);
      } catch {
        summary = {};
      }
      resolve({ code, stdout, stderr, summary });
    });
  });
}

async function keysIn(bucket: string): Promise<string[]> {
  const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((entry) => entry.Key!);
}

beforeAll(async () => {
  useLocalAwsEnv();
  [gcs, s3] = await Promise.all([startS3(["legacy"]), startS3(["dest", "resumed", "dry"])]);
  for (let index = 0; index < OBJECTS; index++) {
    await gcs.client.send(
      new PutObjectCommand({
        Bucket: "legacy",
        Key: keyOf(index),
        Body: bytes(40_000 + index, index + 1),
        ContentType: "application/x-test",
        CacheControl: "max-age=60",
        Metadata: { index: String(index) },
      }),
    );
  }
  await gcs.client.send(new PutObjectCommand({ Bucket: "legacy", Key: "other/outside-prefix.txt", Body: "x" }));
});

afterAll(async () => {
  await Promise.all([gcs?.close(), s3?.close()]);
});

it("copies a prefix, byte for byte with metadata, and prints a JSON summary last", async () => {
  const run = await migrate([
    "--source-bucket",
    "legacy",
    "--bucket",
    "dest",
    "--prefix",
    "assets/",
    "--concurrency",
    "4",
  ]);
  expect(run.code).toBe(0);
  expect(run.summary).toMatchObject({ copied: OBJECTS, skipped: 0, failed: 0, bytes: OBJECTS * 40_000 + 780 });
  expect(typeof run.summary.seconds).toBe("number");
  expect(run.stderr).toMatch(/objects 40\/40 \(copied 40, skipped 0, failed 0\)/);
  expect((await keysIn("dest")).sort()).toEqual(Array.from({ length: OBJECTS }, (_, index) => keyOf(index)).sort());
  const copy = await s3.client.send(new GetObjectCommand({ Bucket: "dest", Key: keyOf(7) }));
  expect(Buffer.from(await copy.Body!.transformToByteArray()).equals(bytes(40_007, 8))).toBe(true);
  expect(copy).toMatchObject({ ContentType: "application/x-test", CacheControl: "max-age=60" });
  expect(copy.Metadata).toMatchObject({ index: "7" });

  const again = await migrate(["--source-bucket", "legacy", "--bucket", "dest", "--prefix", "assets/"]);
  expect(again.summary).toMatchObject({ copied: 0, skipped: OBJECTS, failed: 0, bytes: 0 });
});

it("resumes after being killed mid-way without copying anything twice", async () => {
  s3.created.clear();
  const first = await migrate(
    ["--source-bucket", "legacy", "--bucket", "resumed", "--prefix", "assets/", "--concurrency", "1"],
    {},
    async () => s3.created.size >= 8,
  );
  expect(first.code).not.toBe(0);
  const present = (await keysIn("resumed")).length;
  expect(present).toBeGreaterThanOrEqual(8);
  expect(present).toBeLessThan(OBJECTS);

  const second = await migrate(["--source-bucket", "legacy", "--bucket", "resumed", "--prefix", "assets/"]);
  expect(second.code).toBe(0);
  expect(second.summary).toMatchObject({ copied: OBJECTS - present, skipped: present, failed: 0 });
  expect([...s3.created.values()].every((count) => count === 1)).toBe(true);
  expect(s3.created.size).toBe(OBJECTS);
});

it("lists what it would copy in a dry run, writing nothing", async () => {
  const run = await migrate(["--source-bucket", "legacy", "--bucket", "dry", "--dry-run"]);
  expect(run.code).toBe(0);
  expect(run.summary).toMatchObject({ copied: 0, skipped: 0, failed: 0, dryRun: true, toCopy: OBJECTS + 1 });
  expect(await keysIn("dry")).toEqual([]);
});

it("names each failed key with its reason and exits non-zero", async () => {
  const run = await migrate(["--source-bucket", "legacy", "--bucket", "no-such-bucket", "--prefix", "assets/000"]);
  expect(run.code).toBe(1);
  expect(run.summary).toMatchObject({ copied: 0, failed: 1 });
  expect(run.stderr).toContain(`failed: ${keyOf(0)}: `);
});

it("rejects bad usage with exit code 2", async () => {
  const run = await migrate(["--bucket", "dest"]);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain("--source-bucket is required");
});

it("--enqueue sends copy jobs to the backfill queue instead of copying", async () => {
  const received: { QueueUrl: string; Entries: { Id: string; MessageBody: string }[] }[] = [];
  // A stand-in for SQS's JSON protocol (SendMessageBatch), with the MD5s the SDK checks.
  const sqs: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const input = JSON.parse(body);
      received.push(input);
      response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
      response.end(
        JSON.stringify({
          Successful: input.Entries.map((entry: { Id: string; MessageBody: string }) => ({
            Id: entry.Id,
            MessageId: `m-${entry.Id}`,
            MD5OfMessageBody: createHash("md5").update(entry.MessageBody).digest("hex"),
          })),
          Failed: [],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => sqs.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(sqs.address() as AddressInfo).port}`;
  try {
    const queueUrl = `${endpoint}/123456789012/s3edge-backfill`;
    const run = await migrate(
      ["--source-bucket", "legacy", "--prefix", "assets/", "--enqueue", "--queue-url", queueUrl],
      {
        AWS_ENDPOINT_URL_SQS: endpoint,
      },
    );
    expect(run.code).toBe(0);
    expect(run.summary).toMatchObject({ copied: 0, enqueued: OBJECTS });
    const jobs = received.flatMap((batch) => batch.Entries.map((entry) => JSON.parse(entry.MessageBody)));
    expect(jobs).toHaveLength(OBJECTS);
    expect(jobs[0]).toEqual({ type: "copy", key: keyOf(0), size: 40_000, etag: expect.any(String) });
    expect(received.every((batch) => batch.QueueUrl === queueUrl && batch.Entries.length <= 10)).toBe(true);
  } finally {
    await new Promise((resolve) => sqs.close(resolve));
  }
});
