/**
 * The copy engine's bulk path (what `npm run migrate` runs): decisions from the two buckets'
 * listings instead of a HEAD per key, one GET and one conditional PUT per small object, parts of
 * a large one read and written in parallel. Against the GCS lookalike (x-goog-hash) and s3rver
 * behind the stand-in that honours conditional writes.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/client-s3";
import type { DeserializeMiddleware } from "@aws-sdk/types";
import { createHash } from "node:crypto";
import { MemoryBudget } from "../../../../functions/shared/copy/budget";
import { CopyEngine } from "../../../../functions/shared/copy/engine";
import { CopyError } from "../../../../functions/shared/copy/errors";
import { DestinationListing, sameListedBytes } from "../../../../functions/shared/copy/listing";
import { createSourceClient, ObjectSource, type SourceListing } from "../../../../functions/shared/copy/source";
import { MIGRATION_WRITE_METADATA } from "../../../../functions/shared/migration-write";
import { bytes } from "../../../support/bytes";
import { startConditionalS3, type ConditionalS3 } from "../../../../testing/conditional-s3";
import { startFakeGcs, type FakeGcs } from "../../../../testing/fake-gcs";
import { localAwsEnv } from "../../../../testing/local-servers";

const PART = 8192;
const WORKERS = 4;
let gcs: FakeGcs;
let s3: ConditionalS3;
let source: ObjectSource;
let engine: CopyEngine;
const memory = new MemoryBudget(WORKERS * PART);

async function destination(key: string): Promise<Buffer | undefined> {
  try {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch {
    return undefined;
  }
}

const listed = (key: string, body: Buffer): SourceListing => ({
  key,
  size: body.length,
  etag: `"${createHash("md5").update(body).digest("hex")}"`,
});

/** Requests the GCS lookalike sees while `work` runs. */
async function sourceRequests(work: () => Promise<unknown>): Promise<string[]> {
  const before = gcs.requests.length;
  await work();
  return gcs.requests.slice(before);
}

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [gcs, s3] = await Promise.all([startFakeGcs("legacy"), startConditionalS3(["primary"])]);
  source = new ObjectSource(createSourceClient({ endpoint: gcs.endpoint, maxAttempts: 1 }), "legacy");
  engine = new CopyEngine(source, s3.client, "primary", {
    multipartThreshold: PART,
    partSize: PART,
    uploadConcurrency: WORKERS,
    memory,
  });
});

afterAll(async () => {
  await Promise.all([gcs?.close(), s3?.close()]);
});

afterEach(() => {
  jest.restoreAllMocks();
  s3.beforeConditionalWrite = undefined;
});

describe("decisions from the listings", () => {
  it("copies a small key the destination does not list with one GET and one If-None-Match PUT, metadata kept", async () => {
    const key = "listed/new.txt";
    const body = bytes(3000, 1);
    gcs.objects.set(key, { body, contentType: "text/plain", cacheControl: "max-age=60", metadata: { owner: "web" } });
    let result;
    const requests = await sourceRequests(async () => {
      result = await engine.migrateListed(listed(key, body), { kind: "absent" });
    });
    expect(result).toMatchObject({ outcome: "copied", copy: { mode: "single", verifiedWith: "crc32c" } });
    expect(requests).toEqual([`GET /legacy/${key}`]);
    expect(s3.conditionalWrites).toContain(`PUT ${key} if-none-match → 200`);
    expect((await destination(key))!.equals(body)).toBe(true);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
    expect(head).toMatchObject({ ContentType: "text/plain", CacheControl: "max-age=60" });
    expect(head.Metadata).toMatchObject({ owner: "web", [MIGRATION_WRITE_METADATA]: "created" });
  });

  it("skips a key listed with the source's size and ETag without a single request", async () => {
    const key = "listed/same.txt";
    const body = bytes(2000, 2);
    gcs.objects.set(key, { body });
    const writes = s3.conditionalWrites.length;
    let result;
    const requests = await sourceRequests(async () => {
      result = await engine.migrateListed(listed(key, body), { kind: "present", entry: listed(key, body) });
    });
    expect(result).toEqual({ outcome: "skipped" });
    expect(requests).toEqual([]);
    expect(s3.conditionalWrites.length).toBe(writes);
  });

  it("leaves alone an object the owner wrote after the listing said the key was free", async () => {
    const key = "listed/raced.txt";
    const owner = Buffer.from("the owner's bytes");
    gcs.objects.set(key, { body: bytes(2500, 3) });
    s3.beforeConditionalWrite = async ({ key: written }) => {
      if (written !== key) return;
      s3.beforeConditionalWrite = undefined;
      await s3.direct.client.send(new PutObjectCommand({ Bucket: "primary", Key: key, Body: owner }));
    };
    const result = await engine.migrateListed(listed(key, bytes(2500, 3)), { kind: "absent" });
    expect(result).toEqual({ outcome: "newer-in-s3" });
    expect(s3.conditionalWrites).toContain(`PUT ${key} if-none-match → 412`);
    expect((await destination(key))!.equals(owner)).toBe(true);
  });

  it("looks with HEADs at a key listed with other bytes: its own stale copy is replaced with If-Match", async () => {
    const key = "listed/changed.bin";
    const first = bytes(4000, 4);
    gcs.objects.set(key, { body: first });
    await engine.migrateListed(listed(key, first), { kind: "absent" });
    const copy = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
    const changed = bytes(4000, 5);
    gcs.objects.set(key, { body: changed });
    const inDestination = { key, size: 4000, etag: copy.ETag };
    expect(sameListedBytes(listed(key, changed), inDestination)).toBe(false);
    const requests = await sourceRequests(async () => {
      expect(await engine.migrateListed(listed(key, changed), { kind: "present", entry: inDestination })).toMatchObject(
        {
          outcome: "replaced",
        },
      );
    });
    expect(requests[0]).toBe(`HEAD /legacy/${key}`);
    expect(s3.conditionalWrites).toContain(`PUT ${key} if-match=${copy.ETag} → 200`);
    expect((await destination(key))!.equals(changed)).toBe(true);
  });

  it("copies a key that grew past its listed size the ranged way, never buffering more than the budget", async () => {
    const key = "listed/grown.bin";
    const body = bytes(5 * PART + 17, 6);
    gcs.objects.set(key, { body });
    const result = await engine.migrateListed({ key, size: 100 }, { kind: "absent" });
    expect(result).toMatchObject({ outcome: "copied", copy: { mode: "multipart", verifiedWith: "crc32c" } });
    expect((await destination(key))!.equals(body)).toBe(true);
    expect(memory.peakBytes).toBeLessThanOrEqual(memory.limitBytes);
  });

  /** HeadObject requests the engine sends the destination while `work` runs. */
  async function destinationHeads(work: () => Promise<unknown>): Promise<number> {
    const send = jest.spyOn(s3.client, "send");
    try {
      await work();
      return send.mock.calls.filter(([command]) => command instanceof HeadObjectCommand).length;
    } finally {
      send.mockRestore();
    }
  }

  it("copies a large key the destination does not list without a HEAD of it, completed under If-None-Match", async () => {
    const key = "listed/large-new.bin";
    const body = bytes(3 * PART + 11, 13);
    gcs.objects.set(key, { body, contentType: "application/x-large", metadata: { owner: "web" } });
    let result;
    const heads = await destinationHeads(async () => {
      result = await engine.migrateListed(listed(key, body), { kind: "absent" });
    });
    expect(result).toMatchObject({ outcome: "copied", copy: { mode: "multipart", verifiedWith: "crc32c" } });
    expect(heads).toBe(0);
    expect(s3.conditionalWrites).toContain(`POST ${key} if-none-match → 200`);
    expect((await destination(key))!.equals(body)).toBe(true);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: key }));
    expect(head.ContentType).toBe("application/x-large");
    expect(head.Metadata).toMatchObject({ owner: "web", [MIGRATION_WRITE_METADATA]: "created" });
  });

  it("leaves alone a large object the owner wrote after the listing said the key was free, aborting its upload", async () => {
    const key = "listed/large-raced.bin";
    const owner = Buffer.from("the owner's large bytes");
    const body = bytes(2 * PART + 3, 14);
    gcs.objects.set(key, { body });
    s3.beforeConditionalWrite = async ({ key: written }) => {
      if (written !== key) return;
      s3.beforeConditionalWrite = undefined;
      await s3.direct.client.send(new PutObjectCommand({ Bucket: "primary", Key: key, Body: owner }));
    };
    const aborted = s3.abortedUploads.size;
    const result = await engine.migrateListed(listed(key, body), { kind: "absent" });
    expect(result).toEqual({ outcome: "newer-in-s3" });
    expect(s3.conditionalWrites).toContain(`POST ${key} if-none-match → 412`);
    expect((await destination(key))!.equals(owner)).toBe(true);
    expect([...s3.openUploads.values()]).not.toContain(key);
    expect(s3.abortedUploads.size).toBe(aborted + 1);
  });

  it("rejects a small key whose bytes do not match the source's checksums, writing nothing", async () => {
    const key = "listed/corrupt.txt";
    const body = bytes(3000, 7);
    const servedBody = Buffer.from(body);
    servedBody[1500] ^= 0xff;
    gcs.objects.set(key, { body, servedBody });
    await expect(engine.migrateListed(listed(key, body), { kind: "absent" })).rejects.toMatchObject({
      reason: "integrity-mismatch",
    });
    expect(await destination(key)).toBeUndefined();
  });
});

describe("parts read and written in parallel", () => {
  /** Delays each ranged read by a varying time, so that parts finish out of order; counts reads at once. */
  function slowReads(failPart?: number) {
    const original = source.readRange.bind(source);
    const seen = { inFlight: 0, most: 0, reads: 0 };
    jest.spyOn(source, "readRange").mockImplementation(async (object, start, length) => {
      seen.reads++;
      seen.most = Math.max(seen.most, ++seen.inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5 + ((start / PART) % 3) * 15));
        if (failPart !== undefined && start / PART + 1 === failPart) {
          throw new CopyError("integrity-mismatch", object.key, "not retried: fails the part");
        }
        return await original(object, start, length);
      } finally {
        seen.inFlight--;
      }
    });
    return seen;
  }

  it.each(["both", "md5"] as const)(
    "copies with up to uploadConcurrency parts at once, verified (%s published)",
    async (hashes) => {
      const key = `parallel/${hashes}.bin`;
      const body = bytes(12 * PART + 5, 8);
      gcs.objects.set(key, { body, hashes });
      const reads = slowReads();
      const result = await engine.migrate(await engine.inspect(key));
      expect(result).toMatchObject({
        outcome: "copied",
        copy: { mode: "multipart", verifiedWith: hashes === "md5" ? "md5" : "crc32c" },
      });
      expect(reads.most).toBe(WORKERS);
      expect((await destination(key))!.equals(body)).toBe(true);
      expect(memory.peakBytes).toBeLessThanOrEqual(WORKERS * PART);
    },
  );

  it("sends parts and PUTs with their CRC32C and signs UNSIGNED-PAYLOAD instead of hashing the bytes again", async () => {
    const sent: string[] = [];
    const record: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => (args) => {
      const request = args.request as {
        method: string;
        headers: Record<string, string>;
        query?: Record<string, string>;
      };
      if (request.method === "PUT") {
        sent.push(
          `${request.query?.partNumber ? "part" : "put"} ${request.headers["x-amz-content-sha256"]} ${Boolean(request.headers["x-amz-checksum-crc32c"])}`,
        );
      }
      return next(args);
    };
    s3.client.middlewareStack.add(record, { step: "deserialize", name: "recordSentHeaders" });
    try {
      gcs.objects.set("signed/small.bin", { body: bytes(1000, 11) });
      gcs.objects.set("signed/large.bin", { body: bytes(2 * PART, 12) });
      await engine.migrate(await engine.inspect("signed/small.bin"));
      await engine.migrate(await engine.inspect("signed/large.bin"));
    } finally {
      s3.client.middlewareStack.remove("recordSentHeaders");
    }
    expect(sent.sort()).toEqual([
      "part UNSIGNED-PAYLOAD true",
      "part UNSIGNED-PAYLOAD true",
      "put UNSIGNED-PAYLOAD true",
    ]);
  });

  it.each(["both", "md5"] as const)(
    "aborts the upload when the parts' bytes do not match (%s published): no object, no open upload",
    async (hashes) => {
      const key = `parallel/corrupt-${hashes}.bin`;
      const body = bytes(12 * PART, 9);
      const servedBody = Buffer.from(body);
      servedBody[7 * PART + 3] ^= 0x01;
      gcs.objects.set(key, { body, servedBody, hashes });
      slowReads();
      const aborted = s3.abortedUploads.size;
      await expect(engine.migrate(await engine.inspect(key))).rejects.toMatchObject({
        reason: "integrity-mismatch",
        message: expect.stringContaining(hashes === "md5" ? "md5" : "crc32c"),
      });
      expect(await destination(key)).toBeUndefined();
      expect([...s3.openUploads.values()]).not.toContain(key);
      expect(s3.abortedUploads.size).toBe(aborted + 1);
    },
  );

  it("stops taking parts after one fails and aborts the upload", async () => {
    const key = "parallel/failing.bin";
    gcs.objects.set(key, { body: bytes(20 * PART, 10) });
    const reads = slowReads(3);
    await expect(engine.migrate(await engine.inspect(key))).rejects.toBeInstanceOf(CopyError);
    expect(reads.reads).toBeLessThan(20);
    expect([...s3.openUploads.values()]).not.toContain(key);
    expect(await destination(key)).toBeUndefined();
  });
});

describe("DestinationListing", () => {
  async function* pages(...listings: string[][]): AsyncGenerator<SourceListing[]> {
    for (const keys of listings) yield keys.map((key) => ({ key, size: 1, etag: `"${key}"` }));
  }

  it("walks the destination's pages alongside keys asked in listing order", async () => {
    const listing = new DestinationListing(pages(["a", "c"], ["e", "é"], ["😀"]));
    expect(await listing.lookup("a")).toMatchObject({ kind: "present", entry: { key: "a" } });
    expect(await listing.lookup("b")).toEqual({ kind: "absent" });
    expect(await listing.lookup("d")).toEqual({ kind: "absent" });
    expect(await listing.lookup("é")).toMatchObject({ kind: "present" });
    // UTF-8 byte order, as S3 and GCS list: U+FFFD sorts before an astral character here, not after it.
    expect(await listing.lookup("\ufffd")).toEqual({ kind: "absent" });
    expect(await listing.lookup("😀")).toMatchObject({ kind: "present" });
    expect(await listing.lookup("😀z")).toEqual({ kind: "absent" });
  });

  it("cannot tell for a key asked out of order, or once the listing failed", async () => {
    const outOfOrder = new DestinationListing(pages(["a", "b"]));
    expect(await outOfOrder.lookup("b")).toMatchObject({ kind: "present" });
    expect(await outOfOrder.lookup("a")).toEqual({ kind: "unknown" });

    const failures: unknown[] = [];
    async function* failing(): AsyncGenerator<SourceListing[]> {
      yield [{ key: "a", size: 1 }];
      throw new Error("AccessDenied");
    }
    const broken = new DestinationListing(failing(), (error) => failures.push(error));
    expect(await broken.lookup("a")).toMatchObject({ kind: "present" });
    expect(await broken.lookup("b")).toEqual({ kind: "unknown" });
    expect(await broken.lookup("c")).toEqual({ kind: "unknown" });
    expect(failures).toHaveLength(1);
  });

  it("asks for the next page while the current one is in use, holding at most two", async () => {
    const asked: number[] = [];
    async function* counted(): AsyncGenerator<SourceListing[]> {
      for (let page = 1; page <= 3; page++) {
        asked.push(page);
        yield [{ key: `k${page}`, size: 1 }];
      }
    }
    const listing = new DestinationListing(counted());
    expect(asked).toEqual([1]);
    expect(await listing.lookup("k1")).toMatchObject({ kind: "present" });
    expect(asked).toEqual([1, 2]);
    expect(await listing.lookup("k2")).toMatchObject({ kind: "present" });
    expect(asked).toEqual([1, 2, 3]);
    expect(await listing.lookup("k4")).toEqual({ kind: "absent" });
  });

  it("tells the same bytes by size and ETag only", () => {
    const entry = { key: "k", size: 3, etag: '"abc"' };
    expect(sameListedBytes(entry, { ...entry, etag: "abc" })).toBe(true);
    expect(sameListedBytes(entry, { ...entry, size: 4 })).toBe(false);
    expect(sameListedBytes({ key: "k", size: 3 }, entry)).toBe(false);
  });
});
