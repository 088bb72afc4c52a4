/**
 * Back-to-origin end to end on local servers: CloudFront origin-response events → backfill-notify
 * → (SQS captured at the SDK boundary) → backfill-worker → the S3 bucket (s3rver), with the jobs
 * table on dynalite and one s3rver playing GCS through its S3-compatible API.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { CloudFrontResponseEvent, Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { BACKFILL_METRICS, METRICS_NAMESPACE } from "../../../functions/shared/metrics";
import { captureEmf, dimensionSets, figures } from "../../support/emf";
import { bytes } from "../../support/bytes";
import {
  jobsTable,
  localAwsEnv,
  startDynamoDb,
  startS3,
  type LocalDynamoDb,
  type LocalS3,
} from "../../../testing/local-servers";
import { sqsEvent } from "../../../testing/aws-events";

const LEGACY_DOMAIN = "storage.googleapis.com";
const TABLE = "backfill-jobs";
const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/s3edge-test-backfill";
const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:us-east-1.s3edge-backfill-notify:7";
Object.assign(globalThis, {
  __BACKFILL_QUEUE_NAME__: "s3edge-test-backfill",
  __BACKFILL_QUEUE_REGION__: "us-east-1",
  __LEGACY_ORIGIN_DOMAIN__: LEGACY_DOMAIN,
});

const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
const context = { invokedFunctionArn: FUNCTION_ARN, awsRequestId: "test" } as Context;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;
let notify: Handler<CloudFrontResponseEvent, unknown>;
let worker: Handler<SQSEvent, SQSBatchResponse>;
let gcs: LocalS3;
let s3: LocalS3;
let dynamo: LocalDynamoDb;

/** An origin-response event as CloudFront sends it (Records[0].cf.{config,request,response}). */
function originResponse(options: {
  uri: string;
  status: string;
  origin: "gcs" | "s3";
  headers?: Record<string, string>;
}): CloudFrontResponseEvent {
  const origin =
    options.origin === "gcs"
      ? {
          custom: {
            customHeaders: {},
            domainName: LEGACY_DOMAIN,
            keepaliveTimeout: 5,
            path: "/legacy-bucket",
            port: 443,
            protocol: "https" as const,
            readTimeout: 30,
            sslProtocols: ["TLSv1.2"],
          },
        }
      : {
          s3: {
            authMethod: "origin-access-identity" as const,
            customHeaders: {},
            domainName: "s3edge-primary.s3.us-east-1.amazonaws.com",
            path: "",
            region: "us-east-1",
          },
        };
  const headers = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), [{ key: name, value }]]),
  );
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: "d111111abcdef8.cloudfront.net",
            distributionId: "EDFDVBD6EXAMPLE",
            eventType: "origin-response",
            requestId: "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
          },
          request: {
            clientIp: "203.0.113.178",
            headers: { host: [{ key: "Host", value: "d111111abcdef8.cloudfront.net" }] },
            method: "GET",
            origin,
            querystring: "",
            uri: options.uri,
          },
          response: { headers, status: options.status, statusDescription: "OK" },
        },
      },
    ],
  } as CloudFrontResponseEvent;
}

/** Bodies sent to SQS since the last call (SendMessage and SendMessageBatch). */
function takeSentMessages(): string[] {
  const bodies = sqs.calls().flatMap((call) => {
    const input = call.args[0].input as { MessageBody?: string; Entries?: { MessageBody: string }[] };
    return input.Entries ? input.Entries.map((entry) => entry.MessageBody) : [input.MessageBody ?? ""];
  });
  sqs.resetHistory();
  return bodies;
}

const SMALL = bytes(3000, 7);
const LARGE = bytes(70_000, 11); // 5 parts of 16 KB above the 20 KB multipart threshold

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  [gcs, s3, dynamo] = await Promise.all([
    startS3(["legacy-bucket"]),
    startS3(["primary"]),
    startDynamoDb([jobsTable(TABLE)]),
  ]);
  await gcs.client.send(
    new PutObjectCommand({
      Bucket: "legacy-bucket",
      Key: "images/cat.png",
      Body: SMALL,
      ContentType: "image/png",
      CacheControl: "public, max-age=86400",
      ContentDisposition: 'inline; filename="cat.png"',
      ContentLanguage: "en",
      Metadata: { owner: "alice", campaign: "spring" },
    }),
  );
  await gcs.client.send(
    new PutObjectCommand({
      Bucket: "legacy-bucket",
      Key: "docs/a b+c.txt",
      Body: "plain text",
      ContentType: "text/plain",
    }),
  );
  await gcs.client.send(
    new PutObjectCommand({
      Bucket: "legacy-bucket",
      Key: "video/big.bin",
      Body: LARGE,
      ContentType: "application/octet-stream",
      ContentEncoding: "identity",
      Metadata: { origin: "gcs" },
    }),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    DESTINATION_BUCKET: "primary",
    SOURCE_BUCKET: "legacy-bucket",
    SOURCE_ENDPOINT: gcs.endpoint,
    SOURCE_CREDENTIALS_SECRET_ID: "s3edge/gcs-hmac",
    JOBS_TABLE: TABLE,
    QUEUE_URL,
    MULTIPART_THRESHOLD_BYTES: "20000",
    PART_SIZE_BYTES: "16384",
    AWS_LAMBDA_FUNCTION_NAME: "s3edge-test-backfill-worker",
  });
  // The worker signs its reads of the private "GCS" with the key from Secrets Manager. s3rver accepts
  // any signature, so this proves the key is fetched and used, not that the signature is right:
  // signing is proven by the independent verifier in __tests__/functions/gcs-signer/sign.test.ts.
  secrets.on(GetSecretValueCommand, { SecretId: "s3edge/gcs-hmac" }).resolves({
    SecretString: JSON.stringify({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }),
  });
  sqs.on(SendMessageCommand).resolves({ MessageId: "sent" });
  ({ handler: notify } = await import("../../../functions/backfill-notify/index"));
  ({ handler: worker } = await import("../../../functions/backfill-worker/index"));
});

afterAll(async () => {
  await Promise.all([gcs?.close(), s3?.close(), dynamo?.close()]);
});

describe("backfill-notify", () => {
  it("asks for a copy after GCS served a miss, and returns the response unchanged", async () => {
    const event = originResponse({
      uri: "/docs/a%20b%2Bc.txt",
      status: "200",
      origin: "gcs",
      headers: {
        ETag: '"abc"',
        "Content-Length": "10",
        "Content-Type": "text/plain",
        "Last-Modified": "Tue, 01 Apr 2025 10:00:00 GMT",
      },
    });
    const response = event.Records[0].cf.response;
    expect(await notify(event, context)).toBe(response);
    expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(takeSentMessages().map((body) => JSON.parse(body))).toEqual([
      {
        type: "copy",
        key: "docs/a b+c.txt",
        size: 10,
        etag: '"abc"',
        contentType: "text/plain",
        lastModified: "Tue, 01 Apr 2025 10:00:00 GMT",
      },
    ]);
  });

  it("takes the whole size from a 206's Content-Range and sends on 304", async () => {
    await notify(
      originResponse({
        uri: "/video/big.bin",
        status: "206",
        origin: "gcs",
        headers: { "Content-Range": "bytes 0-99/70000" },
      }),
      context,
    );
    await notify(originResponse({ uri: "/images/cat.png", status: "304", origin: "gcs" }), context);
    expect(takeSentMessages().map((body) => JSON.parse(body))).toEqual([
      { type: "copy", key: "video/big.bin", size: 70000 },
      { type: "copy", key: "images/cat.png" },
    ]);
  });

  it.each([
    ["an S3 response", originResponse({ uri: "/images/cat.png", status: "200", origin: "s3" })],
    ["a GCS 404", originResponse({ uri: "/missing.png", status: "404", origin: "gcs" })],
    ["a GCS 500", originResponse({ uri: "/images/cat.png", status: "500", origin: "gcs" })],
    ["an empty key", originResponse({ uri: "/", status: "200", origin: "gcs" })],
    ["a .. segment", originResponse({ uri: "/images/../secret", status: "200", origin: "gcs" })],
    ["an encoded .. segment", originResponse({ uri: "/images/%2E%2E/secret", status: "200", origin: "gcs" })],
    ["a malformed escape", originResponse({ uri: "/images/%E0%A4%A", status: "200", origin: "gcs" })],
  ])("sends nothing for %s", async (_label, event) => {
    expect(await notify(event, context)).toBe(event.Records[0].cf.response);
    expect(takeSentMessages()).toEqual([]);
  });

  it("returns the response when SQS fails or does not answer in time", async () => {
    sqs
      .on(SendMessageCommand)
      .rejectsOnce(new Error("throttled"))
      .callsFakeOnce(() => new Promise(() => undefined));
    for (let attempt = 0; attempt < 2; attempt++) {
      const event = originResponse({ uri: "/images/cat.png", status: "200", origin: "gcs" });
      expect(await notify(event, context)).toBe(event.Records[0].cf.response);
    }
    sqs.resetHistory();
    sqs.on(SendMessageCommand).resolves({ MessageId: "sent" });
  });
});

describe("backfill-worker", () => {
  const notifyMiss = async (uri: string) => {
    await notify(originResponse({ uri, status: "200", origin: "gcs" }), context);
  };
  const jobOf = async (key: string) =>
    (
      await DynamoDBDocumentClient.from(dynamo.client).send(
        new GetCommand({ TableName: TABLE, Key: { pk: `object#${key}` }, ConsistentRead: true }),
      )
    ).Item;

  it("copies what viewers missed, byte for byte with its metadata, once per key", async () => {
    // Many edges report the same misses at once; the same messages also come again later.
    for (const uri of [
      "/images/cat.png",
      "/images/cat.png",
      "/docs/a%20b%2Bc.txt",
      "/video/big.bin",
      "/images/cat.png",
    ]) {
      await notifyMiss(uri);
    }
    const messages = takeSentMessages();
    expect(messages).toHaveLength(5);
    expect(await worker(sqsEvent(messages), context)).toEqual({ batchItemFailures: [] });
    expect(await worker(sqsEvent(messages), context)).toEqual({ batchItemFailures: [] });

    expect(Object.fromEntries(s3.created)).toEqual({ "images/cat.png": 1, "docs/a b+c.txt": 1, "video/big.bin": 1 });
    const cat = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: "images/cat.png" }));
    expect(Buffer.from(await cat.Body!.transformToByteArray()).equals(SMALL)).toBe(true);
    expect(cat).toMatchObject({
      ContentType: "image/png",
      CacheControl: "public, max-age=86400",
      ContentDisposition: 'inline; filename="cat.png"',
      ContentLanguage: "en",
      Metadata: expect.objectContaining({ owner: "alice", campaign: "spring", "source-etag": expect.any(String) }),
    });
    const big = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: "video/big.bin" }));
    expect(Buffer.from(await big.Body!.transformToByteArray()).equals(LARGE)).toBe(true);
    expect(big).toMatchObject({
      ContentType: "application/octet-stream",
      Metadata: expect.objectContaining({ origin: "gcs" }),
    });
    const text = await s3.client.send(new GetObjectCommand({ Bucket: "primary", Key: "docs/a b+c.txt" }));
    expect(await text.Body!.transformToString()).toBe("plain text");

    expect(await jobOf("video/big.bin")).toMatchObject({ status: "done", outcome: "copied", verifiedWith: "md5" });
    expect(await jobOf("images/cat.png")).toMatchObject({ status: "done", verifiedWith: "md5" });
    // The workers note how far they have read the queue (the sweeper's backlog test).
    const progress = await DynamoDBDocumentClient.from(dynamo.client).send(
      new GetCommand({ TableName: TABLE, Key: { pk: "queue#progress" }, ConsistentRead: true }),
    );
    expect(progress.Item?.sentAt).toEqual(expect.any(Number));
    // The secret was read once for the container, however many objects were read.
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("skips a key whose object is already in the bucket", async () => {
    await gcs.client.send(new PutObjectCommand({ Bucket: "legacy-bucket", Key: "already.txt", Body: "same" }));
    await s3.client.send(new PutObjectCommand({ Bucket: "primary", Key: "already.txt", Body: "same" }));
    s3.created.clear();
    expect(await worker(sqsEvent([JSON.stringify({ type: "copy", key: "already.txt" })]), context)).toEqual({
      batchItemFailures: [],
    });
    expect(s3.created.size).toBe(0);
    expect(await jobOf("already.txt")).toMatchObject({ status: "done", outcome: "skipped" });
  });

  it("records a key missing at GCS as a permanent failure, without retrying it", async () => {
    expect(await worker(sqsEvent([JSON.stringify({ type: "copy", key: "gone.png" })]), context)).toEqual({
      batchItemFailures: [],
    });
    expect(await jobOf("gone.png")).toMatchObject({
      status: "failed",
      error: expect.stringContaining("source-not-found"),
    });
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: "primary", Key: "gone.png" }))).rejects.toThrow();
  });

  it("reports a malformed message as that message's failure only", async () => {
    const event = sqsEvent(["{not json", JSON.stringify({ type: "copy", key: "images/cat.png" })]);
    expect(await worker(event, context)).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }],
    });
  });
});

describe("backfill-worker figures", () => {
  it("prints copies, bytes, skips and failures by reason as EMF under the function's name", async () => {
    await gcs.client.send(new PutObjectCommand({ Bucket: "legacy-bucket", Key: "figures/new.txt", Body: "12345" }));
    await gcs.client.send(new PutObjectCommand({ Bucket: "legacy-bucket", Key: "figures/same.txt", Body: "same" }));
    await s3.client.send(new PutObjectCommand({ Bucket: "primary", Key: "figures/same.txt", Body: "same" }));
    const jobs = ["figures/new.txt", "figures/same.txt", "figures/gone.txt"].map((key) =>
      JSON.stringify({ type: "copy", key }),
    );
    const lines = await captureEmf(() => worker(sqsEvent(jobs), context));

    expect(figures(lines)).toMatchObject({
      [BACKFILL_METRICS.copied]: 1,
      [BACKFILL_METRICS.bytesCopied]: 5,
      [BACKFILL_METRICS.skipped]: 1,
      [BACKFILL_METRICS.failed]: 1,
      [BACKFILL_METRICS.failedByReason]: 1,
    });
    expect(figures(lines)[BACKFILL_METRICS.copySeconds]).toBeGreaterThanOrEqual(0);
    expect(dimensionSets(lines)).toEqual(
      expect.arrayContaining([
        { namespace: METRICS_NAMESPACE, dimensions: { service: "s3edge-test-backfill-worker" } },
        {
          namespace: METRICS_NAMESPACE,
          dimensions: { service: "s3edge-test-backfill-worker", reason: "source-not-found" },
        },
      ]),
    );
    expect(dimensionSets(lines)).toHaveLength(2);
  });
});
