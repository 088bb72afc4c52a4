/** s3rver with S3's conditional writes and AbortMultipartUpload, for the migration's race tests. */
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { localS3Client, startS3, type LocalS3 } from "./local-servers";

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
  const client = localS3Client(endpoint);
  stand = {
    endpoint,
    client,
    created: direct.created,
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
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
