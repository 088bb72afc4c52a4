/**
 * `npm run migrate` as a user runs it (a child process), between two s3rver instances: one plays
 * GCS through its S3-compatible API, the other is the destination bucket behind the stand-in that
 * honours conditional writes. A GCS lookalike (x-goog-hash) serves the guarantees' cases: corrupted
 * bytes, every failure kind, metadata S3 cannot hold.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MIGRATION_WRITE_METADATA } from "../../functions/shared/migration-write";
import { bytes } from "../support/bytes";
import { startConditionalS3, type ConditionalS3 } from "../../testing/conditional-s3";
import { startFakeGcs, type FakeGcs } from "../../testing/fake-gcs";
import { localAwsEnv, startS3, type LocalS3 } from "../../testing/local-servers";
import { PROJECT_ROOT } from "../../config/paths";

const ROOT = PROJECT_ROOT;
const OBJECTS = 40;
const keyOf = (index: number) => `assets/${String(index).padStart(3, "0")}/file name ${index}.bin`;
let gcs: LocalS3;
let s3: ConditionalS3;
let fakeGcs: FakeGcs;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: Record<string, number | boolean>;
}

function migrate(args: string[], extraEnv: NodeJS.ProcessEnv = {}, killWhen?: () => Promise<boolean>): Promise<Run> {
  return new Promise((resolve, reject) => {
    // As `npm run migrate` starts it (package.json): from the bundle scripts/launch.cjs keeps fresh.
    const child = spawn(
      process.execPath,
      ["scripts/launch.cjs", "scripts/migrate.ts", "--source-endpoint", gcs.endpoint, ...args],
      {
        cwd: ROOT,
        // Its own process group, so that a kill reaches the whole command.
        detached: true,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          SOURCE_ACCESS_KEY_ID: "S3RVER",
          SOURCE_SECRET_ACCESS_KEY: "S3RVER",
          ...extraEnv,
        },
      },
    );
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
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [gcs, s3, fakeGcs] = await Promise.all([
    startS3(["legacy"]),
    startConditionalS3(["dest", "resumed", "dry", "guarded", "checked"]),
    startFakeGcs("hashed"),
  ]);
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
  await Promise.all([gcs?.close(), s3?.close(), fakeGcs?.close()]);
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
  // A PUT in flight when the first run was killed may still land after the count above: the
  // second run skips at least what was there, copies the rest, and nothing is written twice.
  const { copied, skipped, failed } = second.summary as { copied: number; skipped: number; failed: number };
  expect(failed).toBe(0);
  expect(skipped).toBeGreaterThanOrEqual(present);
  expect(copied + skipped).toBe(OBJECTS);
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
  expect(run.stderr).toContain("--source-bucket is required (or --source-url for an HTTP origin)");
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

describe("never overwrites what the migration did not write", () => {
  const args = ["--source-bucket", "legacy", "--bucket", "guarded", "--prefix", "assets/00"];
  const owner = Buffer.from("uploaded by the owner straight to S3");

  it("counts a key the owner wrote as newerInS3, keeps it, and exits 0", async () => {
    await s3.direct.client.send(new PutObjectCommand({ Bucket: "guarded", Key: keyOf(1), Body: owner }));
    const run = await migrate(args);
    expect(run.code).toBe(0);
    expect(run.summary).toMatchObject({ copied: 9, newerInS3: 1, failed: 0 });
    expect(run.stderr).toContain(`newer in S3, left as it is: ${keyOf(1)}`);
    const kept = await s3.client.send(new GetObjectCommand({ Bucket: "guarded", Key: keyOf(1) }));
    expect(Buffer.from(await kept.Body!.transformToByteArray()).equals(owner)).toBe(true);
    const copy = await s3.client.send(new HeadObjectCommand({ Bucket: "guarded", Key: keyOf(2) }));
    expect(copy.Metadata?.[MIGRATION_WRITE_METADATA]).toBe("created");
  });

  it("loses the race to an owner write between its HEAD and its PUT", async () => {
    const key = keyOf(3);
    await gcs.client.send(new PutObjectCommand({ Bucket: "legacy", Key: key, Body: bytes(40_003, 99) }));
    s3.beforeConditionalWrite = async ({ key: written }) => {
      if (written !== key) return;
      s3.beforeConditionalWrite = undefined;
      await s3.direct.client.send(new PutObjectCommand({ Bucket: "guarded", Key: key, Body: owner }));
    };
    try {
      const run = await migrate([...args, "--concurrency", "1"]);
      expect(run.code).toBe(0);
      expect(run.summary).toMatchObject({ replaced: 0, newerInS3: 2, failed: 0 });
      expect(s3.conditionalWrites).toContain(`PUT ${key} if-match=${JSON.stringify(md5Hex(bytes(40_003, 4)))} → 412`);
    } finally {
      await gcs.client.send(
        new PutObjectCommand({ Bucket: "legacy", Key: key, Body: bytes(40_003, 4), Metadata: { index: "3" } }),
      );
    }
    const kept = await s3.client.send(new GetObjectCommand({ Bucket: "guarded", Key: key }));
    expect(Buffer.from(await kept.Body!.transformToByteArray()).equals(owner)).toBe(true);
  });

  it("replaces its own copy after a same-size change at the source", async () => {
    const key = keyOf(5);
    const changed = bytes(40_005, 1234);
    await gcs.client.send(new PutObjectCommand({ Bucket: "legacy", Key: key, Body: changed }));
    try {
      const run = await migrate(args);
      expect(run.code).toBe(0);
      expect(run.summary).toMatchObject({ replaced: 1, skipped: 7, newerInS3: 2, failed: 0 });
    } finally {
      await gcs.client.send(
        new PutObjectCommand({ Bucket: "legacy", Key: key, Body: bytes(40_005, 6), Metadata: { index: "5" } }),
      );
    }
    const copy = await s3.client.send(new GetObjectCommand({ Bucket: "guarded", Key: key }));
    expect(Buffer.from(await copy.Body!.transformToByteArray()).equals(changed)).toBe(true);
    expect(copy.Metadata?.[MIGRATION_WRITE_METADATA]).toBe("replaced");
  });
});

function md5Hex(body: Buffer): string {
  return createHash("md5").update(body).digest("hex");
}

describe("each guarantee of the copy engine, through the CLI", () => {
  const corrupt = (length: number, seed: number) => {
    const body = bytes(length, seed);
    const servedBody = Buffer.from(body);
    servedBody[Math.floor(length / 2)] ^= 0xff;
    return { body, servedBody };
  };
  const run = (prefix: string) =>
    migrate([
      "--source-bucket",
      "hashed",
      "--source-endpoint",
      fakeGcs.endpoint,
      "--bucket",
      "checked",
      "--prefix",
      prefix,
    ]);

  it("verifies with the source's hashes: crc32c, md5 alone, in one PUT and in parts", async () => {
    fakeGcs.objects.set("good/both.bin", { body: bytes(17 * 1024 ** 2, 1) });
    fakeGcs.objects.set("good/md5.bin", { body: bytes(3000, 2), hashes: "md5" });
    fakeGcs.objects.set("bad/crc32c.bin", { ...corrupt(3000, 3), hashes: "crc32c" });
    fakeGcs.objects.set("bad/md5.bin", { ...corrupt(3000, 4), hashes: "md5" });
    fakeGcs.objects.set("bad/multipart-md5.bin", { ...corrupt(17 * 1024 ** 2, 5), hashes: "md5" });
    const good = await run("good/");
    expect(good.code).toBe(0);
    expect(good.summary).toMatchObject({ copied: 2, failed: 0 });
    const bad = await run("bad/");
    expect(bad.code).toBe(1);
    expect(bad.summary).toMatchObject({ copied: 0, failed: 3 });
    for (const key of ["bad/crc32c.bin", "bad/md5.bin", "bad/multipart-md5.bin"]) {
      expect(bad.stderr).toMatch(new RegExp(`failed: ${key}: integrity-mismatch`));
    }
    expect(bad.stderr).toMatch(/md5 of copied bytes/);
    expect(await keysIn("checked")).toEqual(["good/both.bin", "good/md5.bin"]);
  }, 180_000);

  it("names too-large and short-read failures, and writes nothing for them", async () => {
    fakeGcs.objects.set("fail/huge.bin", { body: bytes(10, 1), advertisedSize: 5 * 1024 ** 4 + 1 });
    fakeGcs.objects.set("fail/short.bin", { body: bytes(5000, 1), shortBy: 1 });
    const result = await run("fail/");
    expect(result.code).toBe(1);
    expect(result.summary).toMatchObject({ failed: 2 });
    expect(result.stderr).toContain("failed: fail/huge.bin: too-large");
    expect(result.stderr).toContain("failed: fail/short.bin: short-read");
    expect((await keysIn("checked")).filter((key) => key.startsWith("fail/"))).toEqual([]);
  });

  it("copies metadata S3 can hold and warns, naming key and field, about what it drops", async () => {
    fakeGcs.objects.set("meta/doc.txt", {
      body: bytes(100, 1),
      metadata: { title: "naïve café", huge: "y".repeat(2500) },
    });
    const result = await run("meta/");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: meta/doc.txt: metadata field "huge" not copied (over-2KB)');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "checked", Key: "meta/doc.txt" }));
    expect(head.Metadata?.title).toBe(`=?UTF-8?B?${Buffer.from("naïve café").toString("base64")}?=`);
  });
});
