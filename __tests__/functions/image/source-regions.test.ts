/**
 * Source buckets in other regions: the engine reads each through a client of its region (from
 * config), proven against a stand-in that answers S3's PermanentRedirect to requests signed for
 * the wrong region. And a stalled S3 body is ended by the SDK client's timeouts; the read asks for no
 * checksum (source.ts says why) and refuses a body cut short of its Content-Length.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Logger } from "@aws-lambda-powertools/logger";
import sharp from "sharp";
import { ImageService, servicePropsFromEnv } from "../../../functions/image/service";
import { S3_SOCKET_TIMEOUT_MS, S3Source, s3Client } from "../../../functions/image/source";
import { jpeg } from "../../fixtures/image/generate";
import { localAwsEnv, startS3, type LocalS3 } from "../../../testing/local-servers";
import { startRegionalS3, type RegionalS3 } from "../../../testing/regional-s3";

const logger = new Logger({ serviceName: "image-regions-test", logLevel: "SILENT" });
const savedEnv = { ...process.env };
let s3: LocalS3;
let regional: RegionalS3;

beforeAll(async () => {
  s3 = await startS3(["images", "far-photos"]);
  await s3.put("images", "cat.jpg", await jpeg(120, 80));
  await s3.put("far-photos", "dog.jpg", await jpeg(200, 100));
  regional = await startRegionalS3(s3, { images: "us-east-1", "far-photos": "eu-west-1" });
  Object.assign(process.env, {
    ...localAwsEnv(regional.endpoint),
    SOURCE_BUCKET: "images",
    SOURCE_BUCKETS: "images,far-photos",
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await regional?.close();
  await s3?.close();
});

beforeEach(() => regional.requests.splice(0));

const request = (bucket: string, key: string) => ({
  method: "GET",
  path: `/${key}`,
  query: "x-oss-process=image/resize,w_50",
  headers: { "x-s3edge-source-bucket": bucket },
  requestId: "test",
});

test("the stand-in answers a request signed for the wrong region as S3 does", async () => {
  const client = new S3Client({}); // one client, in the function's region: the engine before per-region clients
  const error = await client.send(new GetObjectCommand({ Bucket: "far-photos", Key: "dog.jpg" })).catch((e) => e);
  expect(error).toMatchObject({ name: "PermanentRedirect", $metadata: { httpStatusCode: 301 } });
  expect(regional.requests).toEqual([{ bucket: "far-photos", signedFor: "us-east-1", status: 301 }]);
  const service = new ImageService({ ...servicePropsFromEnv(process.env, logger), source: new S3Source(client) });
  expect((await service.handle(request("far-photos", "dog.jpg"))).status).toBe(500);
  client.destroy();
});

test("with the region from config, each bucket is read through its own region's client: no redirect", async () => {
  const service = new ImageService(
    servicePropsFromEnv({ ...process.env, SOURCE_BUCKET_REGIONS: "far-photos=eu-west-1" }, logger),
  );
  const far = await service.handle(request("far-photos", "dog.jpg"));
  const near = await service.handle(request("images", "cat.jpg"));
  expect([far.status, near.status]).toEqual([200, 200]);
  expect((await sharp(far.body).metadata()).height).toBe(25);
  expect(regional.requests).toEqual([
    { bucket: "far-photos", signedFor: "eu-west-1", status: 200 },
    { bucket: "images", signedFor: "us-east-1", status: 200 },
  ]);
});

test("a bucket whose region is missing from config is still read, after one redirect", async () => {
  const service = new ImageService(servicePropsFromEnv(process.env, logger));
  const far = await service.handle(request("far-photos", "dog.jpg"));
  expect(far.status).toBe(200);
  expect(regional.requests).toEqual([
    { bucket: "far-photos", signedFor: "us-east-1", status: 301 },
    { bucket: "far-photos", signedFor: "eu-west-1", status: 200 },
  ]);
});

test("a stalled object body is ended by the client's socket timeout, not held forever", async () => {
  // Answers GetObject with its headers and a first chunk, then sends nothing more.
  const stalling: Server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "image/jpeg", "content-length": "1000" });
    response.write(Buffer.alloc(10));
  });
  await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
  const client = s3Client("us-east-1", { endpoint, forcePathStyle: true });
  const started = Date.now();
  try {
    await expect(new S3Source(client).get("images", "cat.jpg", 1_000_000)).rejects.toThrow();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(S3_SOCKET_TIMEOUT_MS - 500);
    expect(elapsed).toBeLessThan(S3_SOCKET_TIMEOUT_MS + 5_000);
  } finally {
    client.destroy();
    stalling.closeAllConnections();
    await new Promise<void>((resolve) => stalling.close(() => resolve()));
  }
}, 20_000);

/** A stand-in for GetObject answering every request with `answer`; records the request headers. */
async function standIn(answer: (response: ServerResponse) => void) {
  const headers: Array<Record<string, string | string[] | undefined>> = [];
  const server: Server = createServer((request, response) => {
    headers.push(request.headers);
    request.resume();
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = s3Client("us-east-1", { endpoint, forcePathStyle: true });
  return {
    headers,
    source: new S3Source(client),
    close: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("the source asks S3 for no checksum and returns the body whole", async () => {
  const body = await jpeg(300, 200);
  const savedChecksumSetting = process.env.AWS_RESPONSE_CHECKSUM_VALIDATION;
  // The client's own setting decides, not the local servers' variable (localAwsEnv).
  delete process.env.AWS_RESPONSE_CHECKSUM_VALIDATION;
  const stub = await standIn((response) => {
    response.writeHead(200, { "content-type": "image/jpeg", "content-length": String(body.length) });
    response.end(body);
  });
  try {
    expect((await stub.source.get("images", "cat.jpg", 1_000_000)).equals(body)).toBe(true);
    // Without x-amz-checksum-mode S3 sends no checksum, and the SDK recomputes none.
    expect(stub.headers[0]["x-amz-checksum-mode"]).toBeUndefined();
  } finally {
    process.env.AWS_RESPONSE_CHECKSUM_VALIDATION = savedChecksumSetting;
    await stub.close();
  }
});

test("a body cut short of its Content-Length is refused", async () => {
  const stub = await standIn((response) => {
    response.writeHead(200, { "content-type": "image/jpeg", "content-length": "100000" });
    response.write(Buffer.alloc(1000), () => response.socket?.destroy());
  });
  try {
    await expect(stub.source.get("images", "cat.jpg", 1_000_000)).rejects.toThrow();
  } finally {
    await stub.close();
  }
});

test("a body without Content-Length is read whole, and refused past the size limit", async () => {
  const body = await jpeg(300, 200);
  const stub = await standIn((response) => {
    response.writeHead(200, { "content-type": "image/jpeg" });
    // Chunked, in pieces: the buffer grows as they arrive.
    for (let at = 0; at < body.length; at += 1000) response.write(body.subarray(at, at + 1000));
    response.end();
  });
  try {
    expect((await stub.source.get("images", "cat.jpg", 1_000_000)).equals(body)).toBe(true);
    await expect(stub.source.get("images", "cat.jpg", body.length - 1)).rejects.toMatchObject({
      code: "ImageTooLarge",
    });
  } finally {
    await stub.close();
  }
});
