/**
 * The bulk CLI's SDK-free GET and PUT (functions/shared/s3-http.ts, over undici) against real
 * stand-ins: SigV4 checked by the strict S3-compatible store (path-style and virtual-hosted, part
 * uploads' query signed), SDK-shaped errors, the client's retry strategy (a node:http front that
 * fails the first attempts), and metadata read back as the SDK reads it. Then the copy engine on
 * it: conditional PUTs and multipart copies (one GET of the source) through the conditional
 * stand-in, bytes verified. Last, SequentialReader on a node:http origin that can break a response.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { createServer, get as httpGet, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CopyEngine } from "../../../../functions/shared/copy/engine";
import { isNotFound, writeError, CopyError } from "../../../../functions/shared/copy/errors";
import { S3Http, S3HttpError } from "../../../../functions/shared/s3-http";
import {
  createSourceClient,
  describeHeaders,
  ObjectSource,
  SequentialReader,
} from "../../../../functions/shared/copy/source";
import { MIGRATION_WRITE_METADATA, MigrationWrite } from "../../../../functions/shared/migration-write";
import { startConditionalS3, type ConditionalS3 } from "../../../../testing/conditional-s3";
import { forwardRequest } from "../../../../testing/regional-s3";
import { localS3Client, startS3, S3RVER_CREDENTIALS, type LocalS3 } from "../../../../testing/local-servers";
import {
  routeStoreHostsToLoopback,
  startS3CompatibleStore,
  type S3CompatibleStore,
} from "../../../../testing/s3-compatible-store";
import { bytes } from "../../../support/bytes";

const REGION = "eu-central-1";
const KEYS = { accessKeyId: "STOREKEY", secretAccessKey: "store-secret" };

const storeClient = (endpoint: string, addressing: "path" | "virtual-hosted", secretAccessKey = KEYS.secretAccessKey) =>
  new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: addressing === "path",
    credentials: { ...KEYS, secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
  });

const read = async (response: { body: NodeJS.ReadableStream }) => {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe("S3Http against a store that verifies SigV4", () => {
  let store: S3CompatibleStore;
  let undoRouting: () => void;

  beforeAll(async () => {
    undoRouting = routeStoreHostsToLoopback();
    store = await startS3CompatibleStore({ buckets: ["assets"], region: REGION, credentials: KEYS });
  });
  afterAll(async () => {
    await store.close();
    undoRouting();
  });

  it.each(["path", "virtual-hosted"] as const)(
    "PUTs and GETs a key that needs encoding, %s addressing, signed",
    async (addressing) => {
      const http = new S3Http(storeClient(store.endpoint, addressing));
      const key = `dir/${addressing} a+b (1)*~ é.txt`;
      const body = Buffer.from(`hello ${addressing}`);
      const before = store.requests.length;
      await http.put("assets", key, { "content-type": "text/plain", "x-amz-meta-origin": "test" }, body);
      const response = await http.get("assets", key, { range: "bytes=0-4" });
      expect(response.status).toBe(206);
      expect((await read(response)).toString()).toBe("hello");
      const seen = store.requests.slice(before);
      expect(seen.map((request) => [request.method, request.addressing, request.path, request.status])).toEqual([
        ["PUT", addressing, `/assets/${key}`, 200],
        ["GET", addressing, `/assets/${key}`, 206],
      ]);
      expect(seen.every((request) => request.region === REGION)).toBe(true);
    },
  );

  it("signs a part upload's query (partNumber, uploadId)", async () => {
    const client = storeClient(store.endpoint, "path");
    const http = new S3Http(client);
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "assets", Key: "multi.bin" }));
    const part = bytes(6 * 1024 ** 2, 3);
    const headers = await http.put("assets", "multi.bin", {}, part, { partNumber: "1", uploadId: UploadId! });
    expect(headers.etag).toBe(`"${createHash("md5").update(part).digest("hex")}"`);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: "assets",
        Key: "multi.bin",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: headers.etag as string }] },
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: "assets", Key: "multi.bin" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(part)).toBe(true);
  });

  it("throws the store's refusal as the SDK would (name, status), and does not retry it", async () => {
    const http = new S3Http(storeClient(store.endpoint, "path", "wrong-secret"));
    const before = store.requests.length;
    const error = (await http.get("assets", "dir/anything").catch((caught: unknown) => caught)) as S3HttpError;
    expect(error).toBeInstanceOf(S3HttpError);
    expect(error.name).toBe("SignatureDoesNotMatch");
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.$fault).toBe("client");
    expect(store.requests.length - before).toBe(1);
  });

  it("sends anonymous requests unsigned when told to (a public bucket)", async () => {
    const http = new S3Http(storeClient(store.endpoint, "path"), { sign: false });
    const error = (await http.get("assets", "x").catch((caught: unknown) => caught)) as S3HttpError;
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(["AccessDenied", 403]);
  });
});

describe("S3Http against s3rver", () => {
  let s3: LocalS3;
  let flaky: Server;
  let flakyEndpoint: string;
  /** Answers this many requests 503 SlowDown (then 500) before forwarding to s3rver. */
  let failNext = 0;
  let failStatus = 503;
  let received = 0;
  let lastHeaders: Record<string, unknown> = {};

  beforeAll(async () => {
    s3 = await startS3(["b"]);
    const upstream = new URL(s3.endpoint);
    flaky = createServer((request, response) => {
      received++;
      lastHeaders = request.headers;
      if (failNext > 0) {
        failNext--;
        request.resume();
        response.writeHead(failStatus, { "content-type": "application/xml", "x-amz-request-id": "req-1" });
        const code = { 503: "SlowDown", 412: "PreconditionFailed" }[failStatus] ?? "InvalidRequest";
        response.end(`<Error><Code>${code}</Code><Message>no</Message></Error>`);
        return;
      }
      forwardRequest(upstream, request, response);
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
    flakyEndpoint = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => flaky.close(() => resolve()));
    await s3.close();
  });
  beforeEach(() => {
    failNext = 0;
    failStatus = 503;
    received = 0;
  });

  it("answers a missing key with an error the engine reads as not found", async () => {
    const http = new S3Http(localS3Client(s3.endpoint));
    const error = (await http.get("b", "missing").catch((caught: unknown) => caught)) as S3HttpError;
    expect(error.name).toBe("NoSuchKey");
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(isNotFound(error)).toBe(true);
  });

  it("retries throttling and server errors with the client's retry strategy", async () => {
    const http = new S3Http(localS3Client(flakyEndpoint, { maxAttempts: 3 }));
    await s3.put("b", "retried", "payload");
    failNext = 2;
    const response = await http.get("b", "retried");
    expect((await read(response)).toString()).toBe("payload");
    expect(received).toBe(3);
  });

  it("gives up after maxAttempts with the last error, its attempts counted", async () => {
    const http = new S3Http(localS3Client(flakyEndpoint, { maxAttempts: 2 }));
    failNext = 5;
    const error = (await http.get("b", "retried").catch((caught: unknown) => caught)) as S3HttpError;
    expect([error.name, error.$metadata.httpStatusCode, error.$metadata.attempts]).toEqual(["SlowDown", 503, 2]);
    expect(error.$metadata.requestId).toBe("req-1");
    expect(received).toBe(2);
  });

  it("does not retry a client error", async () => {
    const http = new S3Http(localS3Client(flakyEndpoint));
    failNext = 5;
    failStatus = 400;
    const error = (await http.get("b", "retried").catch((caught: unknown) => caught)) as S3HttpError;
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(["InvalidRequest", 400]);
    expect(received).toBe(1);
  });

  it("keeps headers and metadata: describeHeaders of its GET equals the SDK's HEAD", async () => {
    const client = localS3Client(s3.endpoint);
    await client.send(
      new PutObjectCommand({
        Bucket: "b",
        Key: "described.txt",
        Body: "twelve bytes",
        ContentType: "text/plain; charset=utf-8",
        CacheControl: "max-age=60",
        ContentDisposition: "inline",
        ContentLanguage: "de",
        Metadata: { origin: "sdk", "two-words": "a b" },
      }),
    );
    const sdk = await new ObjectSource(
      createSourceClient({ endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS }),
      "b",
    ).head("described.txt");
    const response = await new S3Http(client).get("b", "described.txt");
    response.body.resume();
    expect(describeHeaders("described.txt", response.headers)).toEqual(sdk);
    expect(sdk.metadata).toEqual({ origin: "sdk", "two-words": "a b" });
    expect(sdk.size).toBe(12);
  });

  it("serves ObjectSource's GET and ranged reads, If-Match pinning the version", async () => {
    const client = createSourceClient({ endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
    const source = new ObjectSource(client, "b", new S3Http(client));
    const body = bytes(100_000, 5);
    await s3.put("b", "ranged.bin", body);
    const fetched = await source.get("ranged.bin", body.length);
    expect(fetched?.body.equals(body)).toBe(true);
    expect(await source.get("ranged.bin", body.length - 1)).toBeUndefined();
    const object = fetched!.object;
    expect((await source.readRange(object, 1000, 5000)).equals(body.subarray(1000, 6000))).toBe(true);
    // s3rver ignores If-Match on GET: the front sees it sent, and answers 412 as S3 would.
    const fronted = createSourceClient({ endpoint: flakyEndpoint, credentials: S3RVER_CREDENTIALS });
    const pinned = new ObjectSource(fronted, "b", new S3Http(fronted));
    expect((await pinned.readRange(object, 0, 10)).equals(body.subarray(0, 10))).toBe(true);
    expect([lastHeaders.range, lastHeaders["if-match"]]).toEqual(["bytes=0-9", object.etag]);
    failNext = 1;
    failStatus = 412;
    await expect(pinned.readRange(object, 0, 10)).rejects.toMatchObject({ reason: "source-changed" });
    await expect(source.get("gone.bin", 10)).rejects.toMatchObject({ reason: "source-not-found" });
  });
});

describe("CopyEngine writing through S3Http", () => {
  let source: LocalS3;
  let destination: ConditionalS3;
  let engine: CopyEngine;

  beforeAll(async () => {
    source = await startS3(["legacy"]);
    destination = await startConditionalS3(["target"]);
    const sourceClient = createSourceClient({ endpoint: source.endpoint, credentials: S3RVER_CREDENTIALS });
    const destinationClient = localS3Client(destination.endpoint);
    engine = new CopyEngine(
      new ObjectSource(sourceClient, "legacy", new S3Http(sourceClient)),
      destinationClient,
      "target",
      {
        multipartThreshold: 5 * 1024 ** 2,
        partSize: 5 * 1024 ** 2,
        http: new S3Http(destinationClient),
        readSequentially: true,
      },
    );
  });
  afterAll(async () => {
    await destination.close();
    await source.close();
  });

  it("copies a small object with one conditional PUT, metadata kept, and refuses to overwrite another's", async () => {
    await source.client.send(
      new PutObjectCommand({
        Bucket: "legacy",
        Key: "small.txt",
        Body: "small body",
        ContentType: "text/plain",
        Metadata: { origin: "legacy" },
      }),
    );
    const result = await engine.migrateListed({ key: "small.txt", size: 10 }, { kind: "absent" });
    expect(result).toMatchObject({ outcome: "copied", copy: { mode: "single", verifiedWith: "md5" } });
    expect(destination.conditionalWrites).toContain("PUT small.txt if-none-match → 200");
    expect(destination.writtenMetadata.get("small.txt")).toMatchObject({
      origin: "legacy",
      [MIGRATION_WRITE_METADATA]: MigrationWrite.created,
    });
    const got = await destination.client.send(new GetObjectCommand({ Bucket: "target", Key: "small.txt" }));
    expect([await got.Body!.transformToString(), got.ContentType]).toEqual(["small body", "text/plain"]);

    await destination.direct.put("target", "owned.txt", "the owner's");
    await source.put("legacy", "owned.txt", "legacy bytes");
    const raced = await engine.migrateListed({ key: "owned.txt", size: 12 }, { kind: "absent" });
    expect(raced.outcome).toBe("newer-in-s3");
  });

  it("copies a multipart object part by part, verified against the source MD5", async () => {
    const body = bytes(12 * 1024 ** 2, 11);
    await source.put("legacy", "big.bin", body);
    const result = await engine.migrateListed({ key: "big.bin", size: body.length }, { kind: "absent" });
    expect(result).toMatchObject({ outcome: "copied", copy: { mode: "multipart", verifiedWith: "md5" } });
    const got = await destination.client.send(new GetObjectCommand({ Bucket: "target", Key: "big.bin" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it("maps S3Http's refusals as it maps the SDK's", () => {
    const refused = new S3HttpError("PreconditionFailed", "At least one of the pre-conditions failed", 412);
    expect(writeError(refused, "k")).toBeInstanceOf(CopyError);
    expect((writeError(refused, "k") as CopyError).reason).toBe("newer-in-s3");
    expect((writeError(new S3HttpError("NoSuchUpload", "gone", 404), "k") as CopyError).reason).toBe("upload-gone");
  });
});

describe("SequentialReader", () => {
  const object = { key: "seq.bin", etag: '"v1"', size: 1_000_003 };
  const content = bytes(object.size, 21);
  let server: Server;
  let origin: string;
  /** Cuts the next response off after this many bytes (once). */
  let cutAfter: number | undefined;
  const ranges: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "") ?? [];
      ranges.push(`${first}-${last}`);
      const slice = content.subarray(Number(first), Number(last) + 1);
      response.writeHead(206, { "content-length": String(slice.length) });
      if (cutAfter !== undefined) {
        const cut = cutAfter;
        cutAfter = undefined;
        response.write(slice.subarray(0, cut), () => response.destroy());
        return;
      }
      // Uneven writes: chunk boundaries fall anywhere within parts.
      for (let offset = 0; offset < slice.length; offset += 77_777)
        response.write(slice.subarray(offset, offset + 77_777));
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    ranges.length = 0;
    cutAfter = undefined;
  });

  const source = {
    openRange: (_object: unknown, start: number, length: number) =>
      new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(`${origin}/seq.bin`, { headers: { range: `bytes=${start}-${start + length - 1}` } }, resolve).on(
          "error",
          reject,
        ),
      ),
  };

  it("reads the parts of an object in order from one GET, whatever the chunk boundaries", async () => {
    const reader = new SequentialReader(source, object);
    const partSize = 300_001;
    const parts: Buffer[] = [];
    for (let start = 0; start < object.size; start += partSize) {
      const length = Math.min(partSize, object.size - start);
      parts.push(Buffer.from(await reader.read(start, Buffer.alloc(length))));
    }
    reader.close();
    expect(Buffer.concat(parts).equals(content)).toBe(true);
    expect(ranges).toEqual([`0-${object.size - 1}`]);
  });

  it("fails a part whose response broke, and reads it again from a new GET at its start", async () => {
    const reader = new SequentialReader(source, object);
    const first = await reader.read(0, Buffer.alloc(400_000));
    expect(first.equals(content.subarray(0, 400_000))).toBe(true);
    reader.close();
    cutAfter = 100_000;
    const broken = new SequentialReader(source, object);
    // A reset connection (or a short body): an error withRetries retries (no HTTP status).
    await expect(broken.read(0, Buffer.alloc(400_000))).rejects.toThrow();
    const again = await broken.read(0, Buffer.alloc(400_000));
    expect(again.equals(content.subarray(0, 400_000))).toBe(true);
    const rest = await broken.read(400_000, Buffer.alloc(object.size - 400_000));
    expect(rest.equals(content.subarray(400_000))).toBe(true);
    expect(ranges).toEqual([`0-${object.size - 1}`, `0-${object.size - 1}`, `0-${object.size - 1}`]);
  });
});
