/**
 * An S3-compatible legacy store (OSS, R2, Wasabi, MinIO...) on a strict local stand-in that checks
 * SigV4 signatures and their region, in both addressings: the backfill worker reads it with the
 * key from Secrets Manager (a secret named by ARN, in another region), the copy engine copies from
 * it path-style too, the edge signer's requests are accepted with the store's region and refused
 * with GCS's, and the notify function recognises the store's responses.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { CloudFrontRequest, Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { request as httpRequest } from "node:http";
import { copyJobFor } from "../../../functions/backfill-notify/notify";
import { signForGcs } from "../../../functions/gcs-signer/sign";
import { CopyEngine } from "../../../functions/shared/copy/engine";
import { openLegacySource } from "../../../functions/shared/legacy-source";
import { runMigrate } from "../../support/migrate-cli";
import { bytes } from "../../support/bytes";
import {
  jobsTable,
  localAwsEnv,
  startDynamoDb,
  startS3,
  type LocalDynamoDb,
  type LocalS3,
} from "../../../testing/local-servers";
import {
  routeStoreHostsToLoopback,
  startS3CompatibleStore,
  STORE_HOST,
  type S3CompatibleStore,
} from "../../../testing/s3-compatible-store";
import { sqsEvent } from "../../../testing/aws-events";

const STORE_REGION = "eu-central-1";
const STORE_KEY = { accessKeyId: "LTAI5tLEGACYREADER", secretAccessKey: "legacy-reader-secret" };
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/oss-reader-AbCdEf";
const TABLE = "legacy-jobs";
const SMALL = bytes(3000, 3);
const LARGE = bytes(70_000, 5); // 5 parts of 16 KB above the 20 KB multipart threshold

const secrets = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
let store: S3CompatibleStore;
let s3: LocalS3;
let dynamo: LocalDynamoDb;
let undoRouting: () => void;
let worker: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  undoRouting = routeStoreHostsToLoopback();
  [store, s3, dynamo] = await Promise.all([
    startS3CompatibleStore({ buckets: ["legacy"], region: STORE_REGION, credentials: STORE_KEY }),
    startS3(["primary", "path-copies", "cli-copies"]),
    startDynamoDb([jobsTable(TABLE)]),
  ]);
  await store.backend.client.send(
    new PutObjectCommand({
      Bucket: "legacy",
      Key: "img/cat 1.png",
      Body: SMALL,
      ContentType: "image/png",
      CacheControl: "public, max-age=600",
      Metadata: { owner: "alice" },
    }),
  );
  await store.backend.client.send(
    new PutObjectCommand({ Bucket: "legacy", Key: "video/big.bin", Body: LARGE, ContentType: "video/mp4" }),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    DESTINATION_BUCKET: "primary",
    SOURCE_API: "s3",
    SOURCE_ENDPOINT: store.endpoint,
    SOURCE_BUCKET: "legacy",
    SOURCE_REGION: STORE_REGION,
    SOURCE_ADDRESSING: "virtual-hosted",
    SOURCE_CREDENTIALS_SECRET_ID: SECRET_ARN,
    SOURCE_CREDENTIALS_SECRET_REGION: "eu-west-1",
    JOBS_TABLE: TABLE,
    QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/s3edge-test-backfill",
    MULTIPART_THRESHOLD_BYTES: "20000",
    PART_SIZE_BYTES: "16384",
    AWS_LAMBDA_FUNCTION_NAME: "s3edge-test-backfill-worker",
  });
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify(STORE_KEY) });
  sqs.on(SendMessageCommand).resolves({}).on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  ({ handler: worker } = await import("../../../functions/backfill-worker/index"));
});

afterAll(async () => {
  undoRouting?.();
  await Promise.all([store?.close(), s3?.close(), dynamo?.close()]);
});

beforeEach(() => {
  store.requests.length = 0;
});

async function destinationBytes(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

it("the worker copies from a private store, virtual-hosted, signed in the store's region with the key from the secret", async () => {
  const result = await worker(
    sqsEvent([
      { type: "copy", key: "img/cat 1.png" },
      { type: "copy", key: "video/big.bin" },
    ]),
    { awsRequestId: "test" } as Context,
  );
  expect(result.batchItemFailures).toEqual([]);

  expect((await destinationBytes("img/cat 1.png")).equals(SMALL)).toBe(true);
  expect((await destinationBytes("video/big.bin")).equals(LARGE)).toBe(true);
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "img/cat 1.png" }));
  expect(head).toMatchObject({ ContentType: "image/png", CacheControl: "public, max-age=600" });
  expect(head.Metadata).toMatchObject({ owner: "alice" });

  const documents = DynamoDBDocumentClient.from(dynamo.client);
  for (const key of ["img/cat 1.png", "video/big.bin"]) {
    const { Item } = await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: `object#${key}` } }));
    expect(Item).toMatchObject({ status: "done", outcome: "copied", verifiedWith: "md5" });
  }
  // HEAD + one GET for the small object, HEAD + 5 ranged GETs for the large one: all virtual-hosted, all accepted.
  expect(store.requests.length).toBeGreaterThanOrEqual(8);
  expect(store.requests.every((request) => request.addressing === "virtual-hosted")).toBe(true);
  expect(store.requests.every((request) => request.region === STORE_REGION && request.status < 300)).toBe(true);
  expect(secrets.commandCalls(GetSecretValueCommand, { SecretId: SECRET_ARN })).toHaveLength(1);
  expect(await secrets.call(0).thisValue.config.region()).toBe("eu-west-1");
});

it("the copy engine copies from the store path-style", async () => {
  const source = openLegacySource(
    { api: "s3", endpoint: store.endpoint, bucket: "legacy", region: STORE_REGION, addressing: "path" },
    { credentials: STORE_KEY },
  );
  const engine = new CopyEngine(source, s3.client, "path-copies", { multipartThreshold: 20_000, partSize: 16_384 });
  const object = await engine.inspect("video/big.bin");
  expect(object).toMatchObject({ size: LARGE.length, headers: { contentType: "video/mp4" } });
  const { outcome, copy } = await engine.migrate(object);
  expect(outcome).toBe("copied");
  expect(copy).toMatchObject({ bytes: LARGE.length, verifiedWith: "md5" });
  const copied = await s3.client.send(new GetObjectCommand({ Bucket: "path-copies", Key: "video/big.bin" }));
  expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(LARGE)).toBe(true);
  expect(store.requests.length).toBeGreaterThan(1);
  expect(store.requests.every((request) => request.addressing === "path" && request.path.startsWith("/legacy/"))).toBe(
    true,
  );
  expect(store.requests.every((request) => request.region === STORE_REGION && request.status < 300)).toBe(true);
});

it("a store refuses reads signed for another region, and reads without a key", async () => {
  for (const [region, credentials] of [
    ["auto", STORE_KEY],
    [STORE_REGION, undefined],
  ] as const) {
    const source = openLegacySource(
      { api: "s3", endpoint: store.endpoint, bucket: "legacy", region, addressing: "virtual-hosted" },
      { credentials },
    );
    await expect(source.head("img/cat 1.png")).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
  }
  expect(store.requests.map((request) => request.status)).toEqual([403, 403]);
});

/** What CloudFront sends to the store's origin after the signer ran (origin path + URI, the function's headers). */
function sendAsCloudFront(request: CloudFrontRequest): Promise<{ status: number; body: Buffer }> {
  const origin = request.origin!.custom!;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, values]) => [name, values.map((entry) => entry.value).join(",")]),
  );
  headers.host = `${origin.domainName}:${origin.port}`;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: "127.0.0.1", port: origin.port, method: request.method, path: `${origin.path}${request.uri}`, headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

function originRequest(domainName: string, path: string, uri: string): CloudFrontRequest {
  return {
    clientIp: "203.0.113.178",
    method: "GET",
    uri,
    querystring: "",
    headers: { "user-agent": [{ key: "User-Agent", value: "Amazon CloudFront" }] },
    origin: {
      custom: {
        customHeaders: {},
        domainName,
        keepaliveTimeout: 5,
        path,
        port: store.port,
        protocol: "http",
        readTimeout: 30,
        sslProtocols: ["TLSv1.2"],
      },
    },
  };
}

it.each([
  ["virtual-hosted", `legacy.${STORE_HOST}`, ""],
  ["path-style", STORE_HOST, "/legacy"],
])(
  "the edge signer's %s requests are served in the store's region and refused in GCS's",
  async (_name, domain, path) => {
    const request = originRequest(domain, path, "/img/cat%201.png");
    const served = await sendAsCloudFront(await signForGcs(request, STORE_KEY, STORE_REGION));
    expect(served.status).toBe(200);
    expect(served.body.equals(SMALL)).toBe(true);
    expect((await sendAsCloudFront(await signForGcs(request, STORE_KEY, "auto"))).status).toBe(403);
    expect(store.requests.map((entry) => entry.addressing)).toEqual(
      path ? ["path", "path"] : ["virtual-hosted", "virtual-hosted"],
    );
  },
);

it("the notify function queues copies for the store's responses only", () => {
  const domain = `legacy.oss-eu-central-1.aliyuncs.com`;
  const response = {
    status: "200",
    statusDescription: "OK",
    headers: { "content-length": [{ key: "Content-Length", value: "3000" }], etag: [{ key: "ETag", value: '"e1"' }] },
  };
  expect(copyJobFor(originRequest(domain, "", "/img/cat%201.png"), response, domain)).toEqual({
    type: "copy",
    key: "img/cat 1.png",
    size: 3000,
    etag: '"e1"',
  });
  expect(
    copyJobFor(originRequest("storage.googleapis.com", "/legacy", "/img/a.png"), response, domain),
  ).toBeUndefined();
});

it("npm run migrate copies the store path-style with its region and key, and fails every read signed for another region", async () => {
  const base = ["--source-endpoint", `http://127.0.0.1:${store.port}`, "--source-bucket", "legacy"];
  const env = {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    SOURCE_ACCESS_KEY_ID: STORE_KEY.accessKeyId,
    SOURCE_SECRET_ACCESS_KEY: STORE_KEY.secretAccessKey,
  };
  const run = await runMigrate([...base, "--source-region", STORE_REGION, "--bucket", "cli-copies"], env);
  expect(run.code).toBe(0);
  expect(run.summary).toMatchObject({ copied: 2, failed: 0, bytes: SMALL.length + LARGE.length });
  const copied = await s3.client.send(new GetObjectCommand({ Bucket: "cli-copies", Key: "img/cat 1.png" }));
  expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(SMALL)).toBe(true);
  expect(store.requests.some((request) => request.method === "GET" && request.path === "/legacy/")).toBe(true);

  const wrong = await runMigrate([...base, "--bucket", "cli-copies"], env);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/migration stopped: .*region 'auto' is wrong/);
});
