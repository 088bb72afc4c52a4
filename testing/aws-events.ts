/**
 * Event shapes shared by the tests and benches: EventBridge events as AWS documents them for S3,
 * SQS batches as the backfill worker receives them
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) and HTTP API payload 2.0
 * requests (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, SQSEvent } from "aws-lambda";
import { PARTITION_KEY, SORT_KEY } from "../functions/object-stats/table";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-2";

let sequence = 0;
const nextId = () => `17a3c5e9-0000-4000-8000-${String(++sequence).padStart(12, "0")}`;

export interface CreatedOptions {
  readonly id?: string;
  readonly bucket?: string;
  readonly reason?: string;
  /** The version S3 created; null for a bucket that never had versioning. */
  readonly versionId?: string | null;
}

/** An "Object Created" event; `key` is given decoded and sent URL-encoded like S3 does. */
export function objectCreated(key: string, size: number, options: CreatedOptions = {}) {
  const bucket = options.bucket ?? "media-bucket";
  const versionId = options.versionId === undefined ? "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e" : options.versionId;
  return {
    version: "0",
    id: options.id ?? nextId(),
    "detail-type": "Object Created",
    source: "aws.s3",
    account: ACCOUNT,
    time: "2026-11-21T12:00:00Z",
    region: REGION,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: "0",
      bucket: { name: bucket },
      object: {
        key: encodeS3Key(key),
        size,
        etag: "b1946ac92492d2347c6235b4d2611184",
        ...(versionId === null ? {} : { "version-id": versionId }),
        sequencer: "617f08299329d189",
      },
      "request-id": "N4N7GDK58NMKJ12R",
      requester: ACCOUNT,
      "source-ip-address": "1.2.3.4",
      reason: options.reason ?? "PutObject",
    },
  };
}

export interface DeletedOptions {
  readonly id?: string;
  readonly bucket?: string;
  readonly deletionType?: "Delete Marker Created" | "Permanently Deleted";
  /** Absent for an unversioned bucket's deletion. */
  readonly versionId?: string | null;
  readonly reason?: "DeleteObject" | "Lifecycle Expiration";
}

/** An "Object Deleted" event: by default a delete marker in a versioned bucket. */
export function objectDeleted(key: string, options: DeletedOptions = {}) {
  const bucket = options.bucket ?? "media-bucket";
  const versionId = options.versionId === undefined ? "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF" : options.versionId;
  return {
    version: "0",
    id: options.id ?? nextId(),
    "detail-type": "Object Deleted",
    source: "aws.s3",
    account: ACCOUNT,
    time: "2026-11-21T12:05:00Z",
    region: REGION,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: "0",
      bucket: { name: bucket },
      object: {
        key: encodeS3Key(key),
        etag: "d41d8cd98f00b204e9800998ecf8427e",
        ...(versionId === null ? {} : { "version-id": versionId }),
        sequencer: "617f08299329d189",
      },
      "request-id": "0BH729840619AG5K",
      requester: ACCOUNT,
      "source-ip-address": "1.2.3.4",
      reason: options.reason ?? "DeleteObject",
      "deletion-type": options.deletionType ?? "Delete Marker Created",
    },
  };
}

export interface RestoredOptions {
  readonly id?: string;
  readonly bucket?: string;
  readonly versionId?: string;
}

/** An "Object Restore Completed" event: an archived object is readable again (a temporary copy). */
export function objectRestoreCompleted(key: string, size: number, options: RestoredOptions = {}) {
  const bucket = options.bucket ?? "media-bucket";
  return {
    version: "0",
    id: options.id ?? nextId(),
    "detail-type": "Object Restore Completed",
    source: "aws.s3",
    account: ACCOUNT,
    time: "2026-11-21T18:00:00Z",
    region: REGION,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: "0",
      bucket: { name: bucket },
      object: {
        key: encodeS3Key(key),
        size,
        etag: "b1946ac92492d2347c6235b4d2611184",
        "version-id": options.versionId ?? "KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3",
      },
      "request-id": "189F19CB7FB1B6A4",
      requester: "s3.amazonaws.com",
      "restore-expiry-time": "2026-11-28T00:00:00Z",
      "source-storage-class": "GLACIER",
    },
  };
}

/** The scheduled event EventBridge sends for a `rate(...)` rule. */
export function scheduledEvent(time: string, id = nextId()) {
  return {
    version: "0",
    id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/object-stats-summary`],
    detail: {},
  };
}

/** S3 encodes keys in events like an HTML form: spaces as `+`, the rest percent-encoded, `/` kept. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}

/** An HTTP API (payload format 2.0) request as the route `GET /count` delivers it. */
export function httpRequest(
  method: string,
  path: string,
  query?: Record<string, string>,
  routeKey = method === "GET" && path === "/count" ? "GET /count" : "$default",
): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(query ?? {}).toString();
  return {
    version: "2.0",
    routeKey,
    rawPath: path,
    rawQueryString,
    headers: { host: "abc123.execute-api.us-east-2.amazonaws.com", "user-agent": "curl/8.5.0" },
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-2.amazonaws.com",
      domainPrefix: "abc123",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "1.2.3.4", userAgent: "curl/8.5.0" },
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      routeKey,
      stage: "$default",
      time: "21/Nov/2026:12:00:00 +0000",
      timeEpoch: 1795262400000,
    },
    isBase64Encoded: false,
  };
}

/** The counters table with the key schema the Terraform gives it (dynalite has no TTL to set). */
export function objectStatsTable(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: "S" },
      { AttributeName: SORT_KEY, AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: "HASH" },
      { AttributeName: SORT_KEY, KeyType: "RANGE" },
    ],
  };
}

/**
 * An SQS event as Lambda's event source mapping delivers it to the backfill worker, one record per
 * body (a string is sent as is, anything else as its JSON).
 */
export function sqsEvent(bodies: readonly (string | object)[]): SQSEvent {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `message-${index}-${Math.random()}`,
      receiptHandle: "handle",
      body: typeof body === "string" ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(Date.now()),
        SenderId: "AIDAEXAMPLE",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:s3edge-test-backfill",
      awsRegion: "us-east-1",
    })),
  };
}
