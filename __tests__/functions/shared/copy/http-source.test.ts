/**
 * A public HTTPS legacy origin with a path prefix, on a node:http stand-in (Range, strong ETags,
 * If-Match; one object served by a server that ignores Range): the backfill worker copies from it
 * with SOURCE_API=http, verified with the hashes the origin publishes; a missing object is a
 * permanent failure; an object that changes mid-copy is refused; the notify function recognises it.
 */
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { CloudFrontRequest, Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { copyJobFor } from "../../../../functions/backfill-notify/notify";
import { CopyError } from "../../../../functions/shared/copy/errors";
import { HttpObjectSource } from "../../../../functions/shared/copy/http-source";
import { openLegacySource } from "../../../../functions/shared/legacy-source";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runMigrate } from "../../../support/migrate-cli";
import { bytes } from "../../../support/bytes";
import {
  jobsTable,
  localAwsEnv,
  startDynamoDb,
  startS3,
  type LocalDynamoDb,
  type LocalS3,
} from "../../../../testing/local-servers";
import { sqsEvent } from "../../../../testing/aws-events";

const TABLE = "https-jobs";
const PREFIX = "/assets/v1";

interface OriginObject {
  body: Buffer;
  contentType: string;
  /** Answer ranged GETs with the whole body (200), as some servers do. */
  ignoreRange?: boolean;
  /** Publish Content-MD5 (the only hash a plain web server may send). */
  contentMd5?: boolean;
  headers?: Record<string, string>;
}

const objects = new Map<string, OriginObject>([
  ["css/site.css", { body: Buffer.from("body { color: #333 }\n"), contentType: "text/css", contentMd5: true }],
  ["img/a b.jpg", { body: bytes(70_000, 9), contentType: "image/jpeg", headers: { "x-amz-meta-photographer": "ann" } }],
  ["old/ranges.bin", { body: bytes(50_000, 13), contentType: "application/octet-stream", ignoreRange: true }],
]);
const seen: string[] = [];
let origin: Server;
let originUrl: string;
let s3: LocalS3;
let dynamo: LocalDynamoDb;
let worker: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const sqs = mockClient(SQSClient);

const etagOf = (body: Buffer) => `"${createHash("sha1").update(body).digest("hex").slice(0, 20)}"`;

function startOrigin(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://origin").pathname);
    seen.push(`${request.method} ${path} ${request.headers.range ?? ""}`.trim());
    const object = path.startsWith(`${PREFIX}/`) ? objects.get(path.slice(PREFIX.length + 1)) : undefined;
    if (!object) {
      response.writeHead(404, { "content-type": "text/html" });
      response.end(request.method === "HEAD" ? undefined : "<h1>Not Found</h1>");
      return;
    }
    const etag = etagOf(object.body);
    if (request.headers["if-match"] && request.headers["if-match"] !== etag) {
      response.writeHead(412);
      response.end();
      return;
    }
    const range = object.ignoreRange ? null : /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range ? Math.min(Number(range[2]), object.body.length - 1) : object.body.length - 1;
    response.writeHead(range ? 206 : 200, {
      "content-type": object.contentType,
      "content-length": String(end - start + 1),
      etag,
      "last-modified": new Date(0).toUTCString(),
      "accept-ranges": object.ignoreRange ? "none" : "bytes",
      ...(range ? { "content-range": `bytes ${start}-${end}/${object.body.length}` } : {}),
      ...(object.contentMd5 ? { "content-md5": createHash("md5").update(object.body).digest("base64") } : {}),
      ...object.headers,
    });
    response.end(request.method === "HEAD" ? undefined : object.body.subarray(start, end + 1));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [origin, s3, dynamo] = await Promise.all([
    startOrigin(),
    startS3(["primary", "cli-copies"]),
    startDynamoDb([jobsTable(TABLE)]),
  ]);
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    DESTINATION_BUCKET: "primary",
    SOURCE_API: "http",
    SOURCE_ENDPOINT: `${originUrl}${PREFIX}`,
    JOBS_TABLE: TABLE,
    QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/s3edge-test-backfill",
    MULTIPART_THRESHOLD_BYTES: "20000",
    PART_SIZE_BYTES: "16384",
    AWS_LAMBDA_FUNCTION_NAME: "s3edge-test-backfill-worker",
  });
  delete process.env.SOURCE_BUCKET;
  sqs.on(SendMessageCommand).resolves({}).on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  ({ handler: worker } = await import("../../../../functions/backfill-worker/index"));
});

afterAll(async () => {
  await Promise.all([new Promise((resolve) => origin?.close(resolve)), s3?.close(), dynamo?.close()]);
});

const documents = () => DynamoDBDocumentClient.from(dynamo.client);
const job = async (key: string) =>
  (await documents().send(new GetCommand({ TableName: TABLE, Key: { pk: `object#${key}` } }))).Item;

it("the worker copies objects under the path prefix, with their headers and metadata, verified when the origin publishes a hash", async () => {
  const result = await worker(
    sqsEvent([
      { type: "copy", key: "css/site.css" },
      { type: "copy", key: "img/a b.jpg" },
      { type: "copy", key: "old/ranges.bin" },
    ]),
    { awsRequestId: "test" } as Context,
  );
  expect(result.batchItemFailures).toEqual([]);
  for (const [key, object] of objects) {
    const copied = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: key }));
    expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(object.body)).toBe(true);
    expect(copied.ContentType).toBe(object.contentType);
  }
  const photo = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "img/a b.jpg" }));
  expect(photo.Metadata).toMatchObject({ photographer: "ann" });
  expect(await job("css/site.css")).toMatchObject({ status: "done", verifiedWith: "md5" });
  // An ETag of a web server is no MD5: without a published hash the copy is checked by its size only.
  expect(await job("img/a b.jpg")).toMatchObject({ status: "done", verifiedWith: "none" });
  expect(await job("old/ranges.bin")).toMatchObject({ status: "done", bytesCopied: 50_000 });
  // Multipart reads are ranged under the prefix; the server that ignores Range was read whole each time.
  expect(seen).toContain(`GET ${PREFIX}/img/a b.jpg bytes=16384-32767`);
  expect(seen.filter((line) => line.startsWith(`GET ${PREFIX}/old/ranges.bin`))).toHaveLength(4);
});

it("a missing object fails for good with its reason; nothing is written", async () => {
  const result = await worker(sqsEvent([{ type: "copy", key: "gone.png" }]), { awsRequestId: "test" } as Context);
  expect(result.batchItemFailures).toEqual([]);
  expect(await job("gone.png")).toMatchObject({ status: "failed", error: expect.stringContaining("source-not-found") });
  await expect(s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "gone.png" }))).rejects.toMatchObject({
    $metadata: { httpStatusCode: 404 },
  });
});

it("reads a range exactly, refuses a version that changed since HEAD, and cannot list", async () => {
  const source = openLegacySource({ api: "http", endpoint: `${originUrl}${PREFIX}/` });
  const object = await source.head("old/ranges.bin");
  expect(object).toMatchObject({ size: 50_000, hashes: {} });
  const body = objects.get("old/ranges.bin")!.body;
  expect((await source.readRange(object, 30_000, 12_345)).equals(body.subarray(30_000, 42_345))).toBe(true);
  const stale = { key: "img/a b.jpg", etag: '"an-older-version"' };
  await expect(source.readRange(stale, 0, 10)).rejects.toMatchObject({ reason: "source-changed" });
  await expect(source.list().next()).rejects.toThrow(/cannot be listed.*--keys-from/);
  await expect(new HttpObjectSource(`${originUrl}${PREFIX}`).head("nope")).rejects.toBeInstanceOf(CopyError);
});

it("the notify function queues copies for the origin's responses", () => {
  const request = (domainName: string): CloudFrontRequest => ({
    clientIp: "203.0.113.178",
    method: "GET",
    uri: "/img/a%20b.jpg",
    querystring: "",
    headers: {},
    origin: {
      custom: {
        customHeaders: {},
        domainName,
        keepaliveTimeout: 5,
        path: PREFIX,
        port: 443,
        protocol: "https",
        readTimeout: 30,
        sslProtocols: ["TLSv1.2"],
      },
    },
  });
  const response = {
    status: "206",
    statusDescription: "Partial Content",
    headers: { "content-range": [{ key: "Content-Range", value: "bytes 0-99/70000" }] },
  };
  expect(copyJobFor(request("static.acme.test"), response, "static.acme.test")).toEqual({
    type: "copy",
    key: "img/a b.jpg",
    size: 70_000,
  });
  expect(copyJobFor(request("other.acme.test"), response, "static.acme.test")).toBeUndefined();
});

it("npm run migrate copies the keys a file names from the origin, and names the ones it cannot find", async () => {
  const keys = join(mkdtempSync(join(tmpdir(), "keys-")), "keys.txt");
  writeFileSync(keys, "css/site.css\n/img/a b.jpg\n\nold/ranges.bin\nmissing.txt\n");
  const run = await runMigrate(
    ["--source-url", `${originUrl}${PREFIX}`, "--keys-from", keys, "--bucket", "cli-copies"],
    { AWS_ENDPOINT_URL_S3: s3.endpoint },
  );
  expect(run.summary).toMatchObject({ copied: 3, failed: 1 });
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("failed: missing.txt: source-not-found");
  for (const [key, object] of objects) {
    const copied = await s3.client.send(new GetObjectCommand({ Bucket: "cli-copies", Key: key }));
    expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(object.body)).toBe(true);
  }
  const listing = await runMigrate(["--source-url", originUrl, "--bucket", "cli-copies"], {});
  expect(listing.code).toBe(2);
  expect(listing.stderr).toContain("--source-url needs --keys-from");
});
