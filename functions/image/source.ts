import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { S3Http } from "../shared/s3-http";
import { ImageError } from "./errors";

/** Where source images come from. */
export interface ImageSource {
  /**
   * The object's bytes; NoSuchKey (404) when it does not exist, ImageTooLarge past `maxBytes`.
   * `signal` abandons the read (the request's deadline or its client's disconnect).
   */
  get(bucket: string, key: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
}

/** Milliseconds to open a connection to S3. */
export const S3_CONNECTION_TIMEOUT_MS = 2_000;
/** Milliseconds from sending a GetObject to its response headers. */
export const S3_REQUEST_TIMEOUT_MS = 5_000;
/** Milliseconds a response body may stall before its socket is closed (a stalled read never holds a slot). */
export const S3_SOCKET_TIMEOUT_MS = 5_000;

/**
 * The S3 client of one region; the rest comes from the standard SDK configuration
 * (AWS_ENDPOINT_URL_S3 works). A bucket in another region than configured is still read: S3's
 * PermanentRedirect names the bucket's region and the read goes there.
 */
export function s3Client(region?: string, overrides: S3ClientConfig = {}): S3Client {
  return new S3Client({ region, followRegionRedirects: true, ...overrides });
}

/** One S3 client per region, each created on first use: a bucket is read through its own region's. */
export class RegionalS3Clients {
  private readonly clients = new Map<string, S3Client>();

  /** `regions`: bucket → region for buckets outside the default client's region. */
  constructor(
    private readonly regions: ReadonlyMap<string, string>,
    private readonly create: (region?: string) => S3Client = s3Client,
  ) {}

  forBucket(bucket: string): S3Client {
    const region = this.regions.get(bucket) ?? "";
    let client = this.clients.get(region);
    if (!client) {
      client = this.create(region || undefined);
      this.clients.set(region, client);
    }
    return client;
  }
}

/**
 * Reads objects with a signed GetObject without the SDK's middleware (functions/shared/s3-http.ts:
 * the client's endpoint rules, credentials, retry strategy and region redirects), each bucket through
 * the client of its region. The SDK's own GetObject cost 2–3 ms of the event loop per read in its
 * middleware stack (docs/image-performance.md). No checksum is asked for: HTTPS to S3 authenticates
 * every byte in transit, a body short of its Content-Length is refused, and the decoder (failOn
 * "error" in engine.ts) rejects a truncated image.
 */
export class S3Source implements ImageSource {
  private readonly clientFor: (bucket: string) => S3Client;
  private readonly readers = new Map<S3Client, S3Http>();

  constructor(clients: S3Client | RegionalS3Clients) {
    this.clientFor = clients instanceof RegionalS3Clients ? (bucket) => clients.forBucket(bucket) : () => clients;
  }

  async get(bucket: string, key: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    let response;
    try {
      response = await this.reader(bucket).get(bucket, key, {}, signal);
    } catch (error) {
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (name === "NoSuchKey" || name === "NotFound" || $metadata?.httpStatusCode === 404)
        throw new ImageError("NoSuchKey", `the object "${key}" does not exist`);
      if (name === "AccessDenied" || $metadata?.httpStatusCode === 403)
        throw new ImageError("AccessDenied", `the image function may not read "${key}"`);
      throw error;
    }
    const { body } = response;
    const length = response.headers["content-length"];
    const expected = length === undefined ? undefined : Number(length);
    if (expected !== undefined && expected > maxBytes) {
      body.destroy();
      throw tooLarge(key, expected, maxBytes);
    }
    return readBody(body, key, expected, maxBytes);
  }

  private reader(bucket: string): S3Http {
    const client = this.clientFor(bucket);
    let reader = this.readers.get(client);
    if (!reader) {
      reader = new S3Http(client, {
        timeouts: {
          connectMs: S3_CONNECTION_TIMEOUT_MS,
          headersMs: S3_REQUEST_TIMEOUT_MS,
          idleMs: S3_SOCKET_TIMEOUT_MS,
        },
      });
      this.readers.set(client, reader);
    }
    return reader;
  }
}

function tooLarge(key: string, size: number, maxBytes: number): ImageError {
  return new ImageError(
    "ImageTooLarge",
    `the object "${key}" is ${size} bytes or more; at most ${maxBytes} bytes are processed`,
  );
}

/**
 * The body into one buffer of Content-Length, filled as chunks arrive (no list of chunks, no second
 * copy to join them); without a Content-Length it grows by doubling, up to `maxBytes`. A body that
 * ends early, breaks off or is aborted (its request's signal) rejects.
 */
function readBody(body: Readable, key: string, expected: number | undefined, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.allocUnsafe(expected ?? 0);
    let size = 0;
    const fail = (error: Error) => {
      reject(error);
      body.destroy();
    };
    body.on("data", (chunk: Buffer) => {
      if (size + chunk.length > maxBytes) return fail(tooLarge(key, size + chunk.length, maxBytes));
      if (size + chunk.length > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(size + chunk.length, 2 * buffer.length)));
        buffer.copy(grown, 0, 0, size);
        buffer = grown;
      }
      buffer.set(chunk, size);
      size += chunk.length;
    });
    body.on("error", reject);
    body.on("end", () => {
      if (expected !== undefined && size !== expected)
        reject(new Error(`the object "${key}" ended after ${size} of its ${expected} bytes`));
      else resolve(size === buffer.length ? buffer : buffer.subarray(0, size));
    });
  });
}
