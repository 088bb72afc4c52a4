/**
 * A node:http server that speaks like GCS's XML API for one bucket: x-goog-hash, x-goog-meta-*,
 * x-goog-stored-content-length, Range, If-Match, one page of ListObjectsV2; and on demand the
 * failures a legacy store shows (corrupted bytes, short reads, a hash missing).
 */
import { Crc32c } from "@aws-crypto/crc32c";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32cToBase64 } from "../functions/shared/copy/checksums";

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
