import {
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { md5FromEtag, parseGoogHash, type ObjectHashes } from "./checksums";
import { CopyError, isNotFound } from "./errors";
import { listBucket } from "./listing";
import type { S3Http } from "../s3-http";
import { DEFAULT_SOURCE_ENDPOINT, GCS_SIGNING_REGION } from "../gcs";
import type { SourceAddressing } from "../legacy-source";

/** Headers copied from the source object to the destination as they are. */
export interface ContentHeaders {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
}

/** One object of the source as its HEAD describes it. */
export interface SourceObject {
  readonly key: string;
  /** Stored size (`x-goog-stored-content-length` when GCS sends it, else Content-Length). */
  readonly size: number;
  /** The source's ETag, quotes included. */
  readonly etag: string;
  readonly lastModified?: Date;
  readonly headers: ContentHeaders;
  /** User metadata, names lower-case without prefix (`x-goog-meta-*` and `x-amz-meta-*`). */
  readonly metadata: Readonly<Record<string, string>>;
  /** From `x-goog-hash`; without it (S3-compatible sources), the MD5 a single-part ETag is. */
  readonly hashes: ObjectHashes;
}

export interface SourceListing {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
}

type RawHeaders = Record<string, string>;
const RAW_HEADERS = Symbol("rawHeaders");

/**
 * What the copy engine reads objects from: a bucket behind an S3 API (`ObjectSource`) or a plain
 * HTTP origin (`HttpObjectSource`, functions/shared/copy/http-source.ts).
 */
export interface ObjectReader {
  /** The source as messages name it (`bucket`, or the origin's base URL). */
  readonly name: string;
  head(key: string): Promise<SourceObject>;
  /**
   * One GET of bytes [start, start + length) as a stream (pinned to `object.etag` as readRange is):
   * sources with it are read part after part from one response (`SequentialReader`).
   */
  openRange?(object: Pick<SourceObject, "key" | "etag">, start: number, length: number): Promise<Readable>;
  /** `into`, at least `length` bytes, is filled instead of a new buffer when given. */
  readRange(object: Pick<SourceObject, "key" | "etag">, start: number, length: number, into?: Buffer): Promise<Buffer>;
  /**
   * One GET of a whole object of at most `maxBytes`: its description and bytes in one request;
   * undefined when it has grown past `maxBytes`. Sources without it are read HEAD first.
   */
  get?(key: string, maxBytes: number): Promise<{ object: SourceObject; body: Buffer } | undefined>;
  /** Every object under `prefix`, page by page; sources that cannot list throw. */
  list(prefix?: string): AsyncGenerator<SourceListing[]>;
}

/** Where and how to reach the source bucket. Anonymous when `credentials` is absent (public buckets). */
export interface SourceClientOptions {
  /** The store's API endpoint (scheme and host, no bucket). @default GCS's XML API */
  readonly endpoint?: string;
  /** The region of SigV4's credential scope. @default GCS_SIGNING_REGION (`auto`) */
  readonly region?: string;
  /** `path`: `<endpoint>/<bucket>/<key>`; `virtual-hosted`: `<bucket>.<endpoint host>/<key>`. @default "path" */
  readonly addressing?: SourceAddressing;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per request (retries with backoff on throttling and 5xx). @default 5 */
  readonly maxAttempts?: number;
  /** The SDK's HTTP handler (sockets, DNS). @default the SDK's */
  readonly requestHandler?: S3ClientConfig["requestHandler"];
}

/**
 * An S3 client for a legacy store's S3 API (GCS's XML API by default: path-style, `auto` region):
 * no flexible checksums (GCS and most S3-compatible stores do not speak aws-chunked),
 * `Accept-Encoding: gzip` so that gzip-stored GCS objects come back as stored bytes rather than
 * transcoded (their hashes and Range offsets refer to the stored bytes), and the raw response
 * headers kept on the output because the SDK drops `x-goog-*`.
 */
export function createSourceClient(options: SourceClientOptions): S3Client {
  const client = new S3Client({
    endpoint: options.endpoint ?? DEFAULT_SOURCE_ENDPOINT,
    region: options.region ?? GCS_SIGNING_REGION,
    forcePathStyle: (options.addressing ?? "path") === "path",
    maxAttempts: options.maxAttempts ?? 5,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(options.requestHandler ? { requestHandler: options.requestHandler } : {}),
    ...(options.credentials
      ? { credentials: options.credentials }
      : {
          credentials: { accessKeyId: "anonymous", secretAccessKey: "anonymous" },
          signer: { sign: async (request) => request },
        }),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["accept-encoding"] = "gzip";
      return next(args);
    },
    { step: "build", name: "gcsStoredBytes" },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { headers?: RawHeaders };
      if (result.output && response?.headers) Object.assign(result.output, { [RAW_HEADERS]: response.headers });
      return result;
    },
    { step: "initialize", name: "keepRawHeaders" },
  );
  return client;
}

function rawHeadersOf(output: object): RawHeaders {
  const headers = (output as { [RAW_HEADERS]?: RawHeaders })[RAW_HEADERS] ?? {};
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Header values arrive as latin1 (one character per byte): GCS sends UTF-8 metadata as its raw bytes. */
export function utf8HeaderValue(value: string): string {
  if (!/[\x80-\xff]/.test(value)) return value;
  const decoded = Buffer.from(value, "latin1").toString("utf8");
  return decoded.includes("\ufffd") ? value : decoded;
}

/** A source object as HEAD or GET describe it (GCS's `x-goog-*` headers included). */
function describe(key: string, output: HeadObjectCommandOutput | GetObjectCommandOutput): SourceObject {
  return describeHeaders(key, rawHeadersOf(output));
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
};

/**
 * A source object from the raw headers of its HEAD or GET (names lower-case): what the SDK would
 * parse, `x-amz-meta-*` and GCS's `x-goog-*` included.
 */
export function describeHeaders(key: string, headers: IncomingHttpHeaders): SourceObject {
  const amzMetadata: Record<string, string> = {};
  const googMetadata: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = header(headers, name);
    if (value === undefined) continue;
    if (name.startsWith("x-amz-meta-")) amzMetadata[name.slice("x-amz-meta-".length)] = value;
    else if (name.startsWith("x-goog-meta-")) googMetadata[name.slice("x-goog-meta-".length)] = utf8HeaderValue(value);
  }
  // GCS's own names win over the S3 names of the same field, as before.
  const metadata = { ...amzMetadata, ...googMetadata };
  const stored = header(headers, "x-goog-stored-content-length");
  const storedLength = Number(stored);
  const etag = header(headers, "etag") ?? "";
  const googHash = header(headers, "x-goog-hash");
  const lastModified = header(headers, "last-modified");
  return {
    key,
    size: stored && Number.isFinite(storedLength) ? storedLength : Number(header(headers, "content-length") ?? 0),
    etag,
    lastModified: lastModified ? new Date(lastModified) : undefined,
    headers: {
      contentType: header(headers, "content-type"),
      cacheControl: header(headers, "cache-control"),
      contentEncoding: header(headers, "content-encoding"),
      contentDisposition: header(headers, "content-disposition"),
      contentLanguage: header(headers, "content-language"),
    },
    metadata,
    hashes: googHash ? parseGoogHash(googHash) : { md5: md5FromEtag(etag) },
  };
}

/**
 * Reads objects of one source bucket through its S3 API; with `http`, object GETs go over plain
 * node:http (functions/shared/s3-http.ts) instead of the SDK's middleware stack.
 */
export class ObjectSource implements ObjectReader {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly http?: S3Http,
  ) {}

  get name(): string {
    return this.bucket;
  }

  async head(key: string): Promise<SourceObject> {
    let output;
    try {
      output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) throw new CopyError("source-not-found", key, `not found in ${this.bucket}`);
      throw error;
    }
    return describe(key, output);
  }

  /**
   * One GET of a whole object that is at most `maxBytes` (the size its listing gave): the object's
   * description (from the GET's headers, as HEAD gives them) and its bytes, in one request.
   * Undefined when the object has grown past `maxBytes` since it was listed: nothing larger is
   * ever buffered, and the caller copies it the ranged way.
   */
  async get(key: string, maxBytes: number): Promise<{ object: SourceObject; body: Buffer } | undefined> {
    let object: SourceObject;
    let stream: Readable;
    try {
      if (this.http) {
        const response = await this.http.get(this.bucket, key);
        object = describeHeaders(key, response.headers);
        stream = response.body;
      } else {
        const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        object = describe(key, output);
        stream = output.Body as Readable;
      }
    } catch (error) {
      if (isNotFound(error)) throw new CopyError("source-not-found", key, `not found in ${this.bucket}`);
      throw error;
    }
    if (object.size > maxBytes) {
      stream.destroy();
      return undefined;
    }
    const body = await fill(stream, Buffer.allocUnsafe(object.size), key, `GET of ${object.size} bytes`);
    return { object, body };
  }

  /**
   * Reads bytes [start, start + length) into one buffer of exactly that size (memory is bounded
   * by the part size, never the object size). `If-Match` pins the version HEAD saw: a source that
   * changes mid-copy fails the copy instead of mixing two versions. `into`, at least `length`
   * bytes, is reused instead of a new buffer (a copy's workers read part after part into theirs).
   */
  async readRange(
    object: Pick<SourceObject, "key" | "etag">,
    start: number,
    length: number,
    into?: Buffer,
  ): Promise<Buffer> {
    const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (length === 0) return buffer;
    return fill(await this.openRange(object, start, length), buffer, object.key, `range ${start}+${length}`);
  }

  async openRange(object: Pick<SourceObject, "key" | "etag">, start: number, length: number): Promise<Readable> {
    const range = `bytes=${start}-${start + length - 1}`;
    let stream: Readable;
    try {
      if (this.http) {
        const headers: Record<string, string> = object.etag ? { range, "if-match": object.etag } : { range };
        stream = (await this.http.get(this.bucket, object.key, headers)).body;
      } else {
        const output = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: object.key,
            Range: range,
            IfMatch: object.etag || undefined,
          }),
        );
        stream = output.Body as Readable;
      }
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412) throw new CopyError("source-changed", object.key, "the source changed during the copy");
      if (isNotFound(error)) throw new CopyError("source-not-found", object.key, `not found in ${this.bucket}`);
      throw error;
    }
    return stream;
  }

  /** Every object under `prefix`, page by page (no delimiter: nested "folders" included). */
  list(prefix?: string): AsyncGenerator<SourceListing[]> {
    return listBucket(this.client, this.bucket, prefix);
  }
}

/**
 * Reads `stream` into `buffer`, which it must fill exactly: more or fewer bytes are a short read.
 * Data events rather than async iteration: no promise per socket chunk (thousands per large part).
 */
function fill(stream: Readable, buffer: Buffer, key: string, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let filled = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      stream.destroy();
      reject(error);
    };
    stream.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (filled + chunk.length > buffer.length) {
        fail(new CopyError("short-read", key, `${what} returned more bytes than asked`));
        return;
      }
      chunk.copy(buffer, filled);
      filled += chunk.length;
    });
    stream.on("error", fail);
    // A response whose connection closed before its end: a short read, retried.
    stream.on("close", () => fail(new CopyError("short-read", key, `${what} was cut off after ${filled} bytes`)));
    stream.on("end", () => {
      if (settled) return;
      settled = true;
      if (filled === buffer.length) resolve(buffer);
      else reject(new CopyError("short-read", key, `${what} returned ${filled} bytes`));
    });
  });
}

/**
 * Reads an object part after part, in order, from as few GETs as possible: one response is read
 * into one part buffer after the other (paused while no buffer waits), so a large copy makes one
 * request to the source instead of one per part. A response that breaks is replaced by a GET from
 * the start of the part being read (its retry, by the caller, asks again for that part).
 */
export class SequentialReader {
  private stream?: Readable;
  /** Object offset of the next byte the current response delivers (after `leftover`). */
  private position = 0;
  private leftover?: Buffer;
  private ended = false;
  private failure?: Error;
  private pending?: { target: Buffer; filled: number; resolve: (body: Buffer) => void; reject: (error: Error) => void };

  constructor(
    private readonly source: Required<Pick<ObjectReader, "openRange">>,
    private readonly object: Pick<SourceObject, "key" | "etag" | "size">,
  ) {}

  /** Fills `target` with the bytes at `start` (the next part). */
  async read(start: number, target: Buffer): Promise<Buffer> {
    if (target.length === 0) return target;
    if (!this.stream || this.failure || this.ended || start !== this.position - (this.leftover?.length ?? 0)) {
      await this.open(start);
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.pending = { target, filled: 0, resolve, reject };
      if (this.leftover) {
        const leftover = this.leftover;
        this.leftover = undefined;
        this.take(leftover);
      }
      if (this.pending) this.stream!.resume();
    });
  }

  /** Drops the current response unless it was read to its end. */
  close(): void {
    if (!this.ended) this.stream?.destroy();
    this.stream = undefined;
  }

  private async open(start: number): Promise<void> {
    this.close();
    this.leftover = undefined;
    this.ended = false;
    this.failure = undefined;
    const stream = await this.source.openRange(this.object, start, this.object.size - start);
    this.stream = stream;
    this.position = start;
    stream.pause();
    stream.on("data", (chunk: Buffer) => {
      if (stream !== this.stream) return;
      this.position += chunk.length;
      this.take(chunk);
    });
    stream.on("error", (error) => stream === this.stream && this.fail(error));
    stream.on("close", () => {
      if (stream === this.stream && !this.ended)
        this.fail(new CopyError("short-read", this.object.key, "the GET was cut off"));
    });
    stream.on("end", () => {
      if (stream !== this.stream) return;
      this.ended = true;
      if (this.pending) this.fail(new CopyError("short-read", this.object.key, "the GET ended early"));
    });
  }

  /** Copies a chunk into the part waiting for it; what does not fit waits (paused) for the next part. */
  private take(chunk: Buffer): void {
    const pending = this.pending;
    if (!pending) {
      this.leftover = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
      this.stream?.pause();
      return;
    }
    const used = Math.min(chunk.length, pending.target.length - pending.filled);
    chunk.copy(pending.target, pending.filled, 0, used);
    pending.filled += used;
    if (pending.filled < pending.target.length) return;
    this.pending = undefined;
    this.stream?.pause();
    if (used < chunk.length) this.leftover = chunk.subarray(used);
    pending.resolve(pending.target);
  }

  private fail(error: Error): void {
    this.failure = error;
    const pending = this.pending;
    this.pending = undefined;
    this.stream?.destroy();
    pending?.reject(error);
  }
}
