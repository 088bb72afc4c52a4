/**
 * Local stand-ins for the backfill tests: s3rver buckets (S3, and GCS through its S3-compatible
 * API), dynalite with the jobs table of the backfill contract, and a node:http server that speaks
 * like GCS's XML API (x-goog-hash, x-goog-meta-*, x-goog-stored-content-length, Range, If-Match).
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  JOBS_PARTITION_KEY,
  JOBS_STATUS_ATTRIBUTE,
  JOBS_STATUS_INDEX,
  JOBS_UPDATED_AT_ATTRIBUTE,
} from "../../functions/shared/backfill-jobs-table";
import { Crc32c } from "@aws-crypto/crc32c";
import { crc32cToBase64 } from "../../functions/shared/copy/checksums";
import { benchClient, S3RVER_CREDENTIALS } from "../../testing/s3-servers";

/** Credentials for s3rver (it accepts any signature: signing is proven only by __tests__/functions/gcs-signer/sign.test.ts's verifier). */
export { S3RVER_CREDENTIALS };

/** Standard SDK variables for clients talking to local servers (s3rver needs checksums only when required). */
export function useLocalAwsEnv(): void {
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
    AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
    POWERTOOLS_LOG_LEVEL: "SILENT",
  });
}

/** The part of s3rver's API the tests use (the package ships no types). */
interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(
    event: "event",
    listener: (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => void,
  ): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rverServer = require("s3rver") as new (options: object) => S3rver;

export interface LocalS3 {
  readonly endpoint: string;
  readonly server: S3rver;
  /** A client with the standard configuration for this server. */
  readonly client: S3Client;
  /** `ObjectCreated:*` events per key (PUTs and completed multipart uploads). */
  readonly created: Map<string, number>;
  close(): Promise<void>;
}

export async function startS3(buckets: readonly string[]): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rverServer({ port: 0, address: "127.0.0.1", silent: true, directory });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const created = new Map<string, number>();
  server.on("event", (event) => {
    for (const record of event.Records) {
      if (!record.eventName.startsWith("ObjectCreated")) continue;
      const key = decodeURIComponent(record.s3.object.key);
      created.set(key, (created.get(key) ?? 0) + 1);
    }
  });
  const client = benchClient(endpoint);
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    server,
    client,
    created,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/** dynalite with the jobs table as the backfill contract defines it (dynalite has no TTL, so none is set). */
export async function startJobsTable(table: string): Promise<LocalDynamo> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require("dynalite") as (options: object) => Server;
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: S3RVER_CREDENTIALS });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: JOBS_PARTITION_KEY, AttributeType: "S" },
        { AttributeName: JOBS_STATUS_ATTRIBUTE, AttributeType: "S" },
        { AttributeName: JOBS_UPDATED_AT_ATTRIBUTE, AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: JOBS_PARTITION_KEY, KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: JOBS_STATUS_INDEX,
          KeySchema: [
            { AttributeName: JOBS_STATUS_ATTRIBUTE, KeyType: "HASH" },
            { AttributeName: JOBS_UPDATED_AT_ATTRIBUTE, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface FakeGcsObject {
  readonly body: Buffer;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly metadata?: Record<string, string>;
  /** Serve these bytes instead of `body` while advertising `body`'s hashes (a corrupted transfer). */
  readonly servedBody?: Buffer;
  /** Which hashes `x-goog-hash` publishes. @default "both" */
  readonly hashes?: "both" | "crc32c" | "md5";
  /** Advertise this size (HEAD) instead of the body's: objects too large to hold in a test. */
  readonly advertisedSize?: number;
  /** Answer each ranged GET with this many bytes fewer than asked (a connection cut short). */
  readonly shortBy?: number;
}

export interface FakeGcs {
  readonly endpoint: string;
  readonly objects: Map<string, FakeGcsObject>;
  /** Requests seen, as `METHOD /bucket/key range`. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Hashes of a fake GCS object, computed once per object (large bodies are served many times). */
const fakeHashes = new WeakMap<FakeGcsObject, { etag: string; crc32c: string; md5: string }>();
function hashesOf(object: FakeGcsObject) {
  let hashes = fakeHashes.get(object);
  if (!hashes) {
    const md5 = createHash("md5").update(object.body);
    hashes = {
      etag: `"${md5.copy().digest("hex")}"`,
      md5: md5.digest("base64"),
      // An implementation independent of the engine's (WebAssembly) one.
      crc32c: crc32cToBase64(new Crc32c().update(object.body).digest()),
    };
    fakeHashes.set(object, hashes);
  }
  return hashes;
}

/** A GCS XML API lookalike for one bucket (path-style), serving HEAD and GET with Range and If-Match. */
export async function startFakeGcs(bucket: string): Promise<FakeGcs> {
  const objects = new Map<string, FakeGcsObject>();
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const prefix = `/${bucket}/`;
    const key = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : "";
    requests.push(`${request.method} ${url.pathname} ${request.headers.range ?? ""}`.trim());
    if ((url.pathname === `/${bucket}` || url.pathname === prefix) && url.searchParams.get("list-type") === "2") {
      // One page of ListObjectsV2 (the CLI's listing), keys under the prefix in order.
      const wanted = url.searchParams.get("prefix") ?? "";
      const entries = [...objects.entries()].filter(([name]) => name.startsWith(wanted)).sort();
      const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
      response.writeHead(200, { "content-type": "application/xml" });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><IsTruncated>false</IsTruncated>` +
          entries
            .map(
              ([name, entry]) =>
                `<Contents><Key>${escape(name)}</Key><Size>${entry.advertisedSize ?? entry.body.length}</Size></Contents>`,
            )
            .join("") +
          "</ListBucketResult>",
      );
      return;
    }
    const object = objects.get(key);
    if (!object) {
      response.writeHead(404, { "content-type": "application/xml" });
      response.end(request.method === "HEAD" ? undefined : "<Error><Code>NoSuchKey</Code></Error>");
      return;
    }
    const { etag, crc32c, md5 } = hashesOf(object);
    if (request.headers["if-match"] && request.headers["if-match"] !== etag) {
      response.writeHead(412);
      response.end();
      return;
    }
    const served = object.servedBody ?? object.body;
    const size = object.advertisedSize ?? served.length;
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = Math.max(start - 1, (range ? Math.min(Number(range[2]), size - 1) : size - 1) - (object.shortBy ?? 0));
    const hashes = [object.hashes !== "md5" ? `crc32c=${crc32c}` : "", object.hashes !== "crc32c" ? `md5=${md5}` : ""];
    const headers: Record<string, string> = {
      etag,
      "last-modified": new Date(0).toUTCString(),
      "content-length": String(end - start + 1),
      "x-goog-hash": hashes.filter(Boolean).join(","),
      "x-goog-stored-content-length": String(size),
      "x-goog-stored-content-encoding": "identity",
      "accept-ranges": "bytes",
    };
    if (object.contentType) headers["content-type"] = object.contentType;
    if (object.cacheControl) headers["cache-control"] = object.cacheControl;
    if (object.contentDisposition) headers["content-disposition"] = object.contentDisposition;
    if (object.contentLanguage) headers["content-language"] = object.contentLanguage;
    // Raw UTF-8 bytes on the wire (node writes header strings as latin1, one byte per character).
    for (const [name, value] of Object.entries(object.metadata ?? {})) {
      headers[`x-goog-meta-${name}`] = Buffer.from(value, "utf8").toString("latin1");
    }
    if (range) headers["content-range"] = `bytes ${start}-${end}/${size}`;
    response.writeHead(range ? 206 : 200, headers);
    response.end(request.method === "HEAD" ? undefined : served.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Deterministic pseudo-random bytes (a fixed seed keeps failures reproducible). */
export function bytes(length: number, seed = 1): Buffer {
  const buffer = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    buffer[index] = state & 0xff;
  }
  return buffer;
}

/** What the conditional stand-in does to one write before it is applied. */
export interface ConditionalS3 extends LocalS3 {
  /** s3rver itself, for writes that bypass the stand-in (an owner writing at any moment). */
  readonly direct: LocalS3;
  /**
   * Runs after a conditional write arrived and before its condition is evaluated: a test's hook to
   * land an owner write between the migration's HEAD and its PUT (or CompleteMultipartUpload).
   */
  beforeConditionalWrite?: (request: { bucket: string; key: string; method: string }) => Promise<void>;
  /** Keys whose next conditional write is answered 409 ConditionalRequestConflict (S3's concurrent-write answer). */
  readonly conflictOnce: Set<string>;
  /** Conditional writes seen, as `METHOD key if-none-match|if-match=<etag> → status`. */
  readonly conditionalWrites: string[];
  /** Multipart uploads created and neither completed nor aborted, by upload id → key. */
  readonly openUploads: Map<string, string>;
  /** Uploads aborted, by upload id. */
  readonly abortedUploads: Set<string>;
  /** `x-amz-meta-*` headers of each CreateMultipartUpload and PutObject, by key (last write). */
  readonly writtenMetadata: Map<string, Record<string, string>>;
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

/**
 * s3rver behind a small proxy that adds what S3 does and s3rver does not: conditional writes
 * (`If-None-Match: *` and `If-Match: <etag>` on PutObject and CompleteMultipartUpload, 412
 * PreconditionFailed, 404 NoSuchKey for If-Match on a missing key, 409 ConditionalRequestConflict
 * on demand) and AbortMultipartUpload (204; later parts and completion get 404 NoSuchUpload).
 * Writes to one key are serialised, so a condition is evaluated and applied atomically as on S3.
 */
export async function startConditionalS3(buckets: readonly string[]): Promise<ConditionalS3> {
  const direct = await startS3(buckets);
  const upstream = new URL(direct.endpoint);
  const locks = new Map<string, Promise<void>>();
  const state = {
    conflictOnce: new Set<string>(),
    conditionalWrites: [] as string[],
    openUploads: new Map<string, string>(),
    abortedUploads: new Set<string>(),
    writtenMetadata: new Map<string, Record<string, string>>(),
  };
  let stand: ConditionalS3;

  const forward = (request: IncomingMessage, response: ServerResponse, body: Buffer, onBody?: (text: string) => void) =>
    new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("end", () => {
            const text = Buffer.concat(chunks);
            if (onBody && (answer.statusCode ?? 500) < 300) onBody(text.toString());
            response.writeHead(answer.statusCode ?? 500, answer.headers);
            response.end(text);
            resolve();
          });
          answer.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });

  const currentEtag = async (bucket: string, key: string): Promise<string | undefined> => {
    try {
      return (await direct.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const [, bucket = "", ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const uploadId = url.searchParams.get("uploadId");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const send = (status: number, code?: string, message = "") => {
      response.writeHead(status, code ? { "content-type": "application/xml" } : {});
      response.end(code ? errorXml(code, message) : undefined);
    };
    const metadataOf = () =>
      Object.fromEntries(
        Object.entries(request.headers)
          .filter(([name]) => name.startsWith("x-amz-meta-"))
          .map(([name, value]) => [name.slice("x-amz-meta-".length), String(value)]),
      );

    if (key && uploadId && state.abortedUploads.has(uploadId) && request.method !== "DELETE") {
      return send(404, "NoSuchUpload", "The specified upload does not exist.");
    }
    if (key && uploadId && request.method === "DELETE") {
      state.openUploads.delete(uploadId);
      state.abortedUploads.add(uploadId);
      return send(204);
    }
    if (key && request.method === "POST" && url.searchParams.has("uploads")) {
      state.writtenMetadata.set(key, metadataOf());
      return forward(request, response, body, (text) => {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1];
        if (id) state.openUploads.set(id, key);
      });
    }
    const isObjectWrite =
      key &&
      ((request.method === "PUT" && !uploadId && !url.searchParams.has("tagging")) ||
        (request.method === "POST" && uploadId));
    if (!isObjectWrite) return forward(request, response, body);

    // One write per key at a time: check-then-write is atomic, as S3 makes it.
    const lockKey = `${bucket}/${key}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    locks.set(
      lockKey,
      previous.then(() => mine),
    );
    await previous;
    try {
      const ifNoneMatch = request.headers["if-none-match"];
      const ifMatch = request.headers["if-match"];
      if (ifNoneMatch || ifMatch) {
        await stand.beforeConditionalWrite?.({ bucket, key, method: request.method ?? "" });
        const label = `${request.method} ${key} ${ifNoneMatch ? "if-none-match" : `if-match=${ifMatch}`}`;
        const record = (status: number) => state.conditionalWrites.push(`${label} → ${status}`);
        if (state.conflictOnce.delete(key)) {
          record(409);
          return send(409, "ConditionalRequestConflict", "A conflicting operation occurred. Retry the request.");
        }
        const etag = await currentEtag(bucket, key);
        if (ifNoneMatch && ifNoneMatch !== "*") {
          record(501);
          return send(501, "NotImplemented", "If-None-Match accepts only *");
        }
        if (ifNoneMatch && etag !== undefined) {
          record(412);
          return send(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        }
        if (ifMatch && etag === undefined) {
          record(404);
          return send(404, "NoSuchKey", "The specified key does not exist.");
        }
        if (ifMatch && ifMatch.replace(/"/g, "") !== etag!.replace(/"/g, "")) {
          record(412);
          return send(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        }
        record(200);
      }
      if (request.method === "PUT") state.writtenMetadata.set(key, metadataOf());
      await forward(request, response, body, () => {
        if (uploadId) state.openUploads.delete(uploadId);
      });
    } finally {
      unlock();
      if (locks.get(lockKey) === mine) locks.delete(lockKey);
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send500(response, error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = benchClient(endpoint);
  stand = {
    endpoint,
    server: direct.server,
    client,
    created: direct.created,
    direct,
    ...state,
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await direct.close();
    },
  };
  return stand;
}

function send500(response: ServerResponse, error: unknown): void {
  response.writeHead(500, { "content-type": "application/xml" });
  response.end(errorXml("InternalError", (error as Error).message));
}
