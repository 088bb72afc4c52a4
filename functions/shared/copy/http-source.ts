import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { withBackoff } from "../backoff";
import { parseGoogHash, type ObjectHashes } from "./checksums";
import { CopyError } from "./errors";
import { DEFAULT_RETRY } from "./retry";
import { utf8HeaderValue, type ObjectReader, type SourceListing, type SourceObject } from "./source";

/** How long one request to the origin may take before it is abandoned (and retried). */
export const HTTP_SOURCE_TIMEOUT_MS = 60_000;

/** A non-2xx answer of the origin, shaped like the SDK's errors so that the retry rules apply alike. */
export class OriginHttpError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(url: string, status: number) {
    super(`${url} answered ${status}`);
    this.name = "OriginHttpError";
    this.$metadata = { httpStatusCode: status };
  }
}

/** The object's key as a URL path: each segment percent-encoded, slashes kept. */
export function keyPath(key: string): string {
  return key
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

/** A strong ETag (`"..."`): the only kind `If-Match` may compare (RFC 9110 13.1.1). */
const isStrongEtag = (etag: string) => /^"[^"]*"$/.test(etag);

/**
 * Hashes an HTTP origin publishes: GCS's `x-goog-hash` (a GCS bucket served through a CDN), else
 * `Content-MD5`. An ETag is not taken for an MD5 here: web servers derive ETags as they like.
 */
function hashesOf(headers: IncomingHttpHeaders): ObjectHashes {
  const googHash = header(headers, "x-goog-hash");
  if (googHash) return parseGoogHash(googHash);
  const md5 = header(headers, "content-md5");
  return md5 && /^[A-Za-z0-9+/]{22}==$/.test(md5) ? { md5 } : {};
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * One request with node's HTTP client, which (unlike fetch) never decodes Content-Encoding: a
 * gzip-stored object's ranges are ranges of its stored bytes, as its size and hashes are.
 */
function send(url: string, method: "GET" | "HEAD", headers: Record<string, string>, timeoutMs: number) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = (url.startsWith("https:") ? httpsRequest : httpRequest)(url, { method, headers }, resolve);
    outgoing.setTimeout(timeoutMs, () =>
      outgoing.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)),
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/**
 * Reads objects of a public HTTP(S) origin: `<baseUrl>/<key>` by HEAD and ranged GET. Sizes come
 * from Content-Length, bytes are pinned to the version HEAD saw with `If-Match` (strong ETags),
 * and an origin that ignores Range is read from the start with the bytes before the range skipped,
 * so memory stays one range whatever the origin does. Origins cannot be listed.
 */
export class HttpObjectSource implements ObjectReader {
  private readonly base: string;

  constructor(
    /** `https://host` or `https://host/prefix` (no trailing slash needed). */
    baseUrl: string,
    private readonly timeoutMs = HTTP_SOURCE_TIMEOUT_MS,
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
  }

  get name(): string {
    return this.base;
  }

  private url(key: string): string {
    return `${this.base}/${keyPath(key)}`;
  }

  async head(key: string): Promise<SourceObject> {
    const url = this.url(key);
    const headers = await withBackoff(
      async () => {
        const answer = await send(url, "HEAD", { "accept-encoding": "identity" }, this.timeoutMs);
        answer.resume();
        const status = answer.statusCode ?? 0;
        if (status === 404 || status === 410) {
          throw new CopyError("source-not-found", key, `not found at ${url} (${status})`);
        }
        if (status < 200 || status > 299) throw new OriginHttpError(url, status);
        return answer.headers;
      },
      { ...DEFAULT_RETRY, retryable: isRetryable },
    );
    const length = header(headers, "x-goog-stored-content-length") ?? header(headers, "content-length");
    if (length === undefined || !/^\d+$/.test(length)) {
      throw new OriginHttpError(`${url} (HEAD without Content-Length)`, 502);
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      const prefix = ["x-goog-meta-", "x-amz-meta-"].find((candidate) => name.startsWith(candidate));
      if (prefix && typeof value === "string") metadata[name.slice(prefix.length)] = utf8HeaderValue(value);
    }
    const lastModified = header(headers, "last-modified");
    return {
      key,
      size: Number(length),
      etag: header(headers, "etag") ?? "",
      lastModified: lastModified ? new Date(lastModified) : undefined,
      headers: {
        contentType: header(headers, "content-type"),
        cacheControl: header(headers, "cache-control"),
        contentEncoding: header(headers, "content-encoding"),
        contentDisposition: header(headers, "content-disposition"),
        contentLanguage: header(headers, "content-language"),
      },
      metadata,
      hashes: hashesOf(headers),
    };
  }

  async readRange(
    object: Pick<SourceObject, "key" | "etag">,
    start: number,
    length: number,
    into?: Buffer,
  ): Promise<Buffer> {
    const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (length === 0) return buffer;
    const url = this.url(object.key);
    const headers: Record<string, string> = {
      range: `bytes=${start}-${start + length - 1}`,
      "accept-encoding": "identity",
    };
    if (isStrongEtag(object.etag)) headers["if-match"] = object.etag;
    const response = await send(url, "GET", headers, this.timeoutMs);
    const status = response.statusCode ?? 0;
    const refuse = (error: Error) => {
      response.destroy();
      return error;
    };
    if (status === 412) throw refuse(new CopyError("source-changed", object.key, "the source changed during the copy"));
    if (status === 404 || status === 410) {
      throw refuse(new CopyError("source-not-found", object.key, `not found at ${url} (${status})`));
    }
    if (status !== 206 && status !== 200) throw refuse(new OriginHttpError(url, status));
    const servedEtag = header(response.headers, "etag");
    if (object.etag && servedEtag && servedEtag !== object.etag) {
      throw refuse(new CopyError("source-changed", object.key, "the source changed during the copy"));
    }
    // 206 starts at `start`; a 200 (Range ignored) starts at 0 and the bytes before `start` are skipped.
    let skip = status === 200 ? start : 0;
    if (status === 206) {
      const first = /^bytes (\d+)-/.exec(header(response.headers, "content-range") ?? "")?.[1];
      if (Number(first) !== start) {
        throw refuse(
          new CopyError("short-read", object.key, `asked for bytes from ${start}, got ${first ?? "no Content-Range"}`),
        );
      }
    }
    let filled = 0;
    try {
      for await (const value of response) {
        let chunk = value as Buffer;
        if (skip > 0) {
          const dropped = Math.min(skip, chunk.length);
          skip -= dropped;
          chunk = chunk.subarray(dropped);
        }
        const wanted = Math.min(chunk.length, length - filled);
        chunk.copy(buffer, filled, 0, wanted);
        filled += wanted;
        if (filled === length) break;
      }
    } catch (error) {
      throw new CopyError("short-read", object.key, `the connection broke: ${(error as Error).message}`);
    } finally {
      response.destroy();
    }
    if (filled !== length) {
      throw new CopyError("short-read", object.key, `range ${start}+${length} returned ${filled} bytes`);
    }
    return buffer;
  }

  // An async generator that throws at once: the listing API of the other sources, with the reason.
  // eslint-disable-next-line require-yield
  async *list(): AsyncGenerator<SourceListing[]> {
    throw new Error(
      `${this.base} is an HTTP origin, which cannot be listed: name the keys (npm run migrate -- --keys-from FILE)`,
    );
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof CopyError) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
