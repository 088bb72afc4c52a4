import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { BuildMiddleware, MiddlewareStack } from "@aws-sdk/types";
import { createHash, type Hash } from "node:crypto";
import { MIGRATION_WRITE_METADATA, MigrationWrite } from "../migration-write";
import type { MemoryBudget } from "./budget";
import { crc32cCombine, crc32cOf, crc32cToBase64, type ObjectHashes } from "./checksums";
import { CopyError, isNotFound, writeError } from "./errors";
import { fitMetadata, type DroppedMetadata } from "./metadata";
import { withRetries } from "./retry";
import type { S3Http } from "../s3-http";
import { sameListedBytes, type ListedState } from "./listing";
import { SequentialReader, type ObjectReader, type SourceListing, type SourceObject } from "./source";

/** S3's largest object. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** CloudFront does not cache objects larger than this: such objects are copied and flagged. */
export const CLOUDFRONT_MAX_CACHEABLE_BYTES = 30 * 1000 ** 3;
/** S3 allows at most this many parts per upload: parts grow for objects that would need more. */
export const MAX_PARTS = 10_000;

/** User metadata the engine adds on every copy (`x-amz-meta-<name>`). */
export const METADATA = {
  /** The source ETag: S3 ETags of multipart copies differ from GCS's, so "already copied" compares this. */
  sourceEtag: "source-etag",
  /** The source CRC32C (base64), when the source published one. */
  sourceCrc32c: "source-crc32c",
  /** "true" on objects CloudFront cannot cache (over 30 GB). */
  overCloudFrontLimit: "cloudfront-uncacheable",
} as const;

export interface CopyEngineOptions {
  /** Objects up to this size go in one PutObject (read into one buffer). @default 16 MiB */
  readonly multipartThreshold?: number;
  /** Part size of multipart copies; grown when an object would need more than 10,000 parts. @default 8 MiB */
  readonly partSize?: number;
  /** Parts copied at once (each a ranged GET and an UploadPart) by one multipart copy; memory is this × part size. @default 4 */
  readonly uploadConcurrency?: number;
  /** Bytes of object data held at once by every copy of this engine together. @default unbounded */
  readonly memory?: MemoryBudget;
  /** Told of each metadata field S3 cannot hold (the copy goes on without it). */
  readonly onDroppedMetadata?: (key: string, dropped: DroppedMetadata) => void;
  /**
   * The destination client's PutObject and UploadPart without the SDK (functions/shared/s3-http.ts),
   * the bulk CLI's: the same requests, headers and signatures without the SDK's per-request work.
   */
  readonly http?: S3Http;
  /**
   * Multipart copies read the source with one GET, part after part (`copyMultipartSequentially`),
   * when it can (`ObjectReader.openRange`): the bulk CLI's, as rclone reads. Memory is then
   * (`uploadConcurrency` + 1) × part size. Else one ranged GET per part, parts read in parallel.
   */
  readonly readSequentially?: boolean;
}

export const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 ** 2;
export const DEFAULT_PART_SIZE = 8 * 1024 ** 2;
export const DEFAULT_UPLOAD_CONCURRENCY = 4;

/** A part written to a multipart upload. */
export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  /** CRC32C of the part's bytes (unsigned 32-bit). */
  readonly crc32c: number;
}

/**
 * How a copy may write its key: create it where S3 has no object (`If-None-Match: *`), or replace
 * the migration's own earlier copy, and only that one (`If-Match: <its ETag>`).
 */
export type WriteCondition =
  | { readonly mode: typeof MigrationWrite.created }
  | { readonly mode: typeof MigrationWrite.replaced; readonly ifMatch: string };

/** What the destination holds for an object of the source. */
export type DestinationState =
  | { readonly kind: "absent" }
  /** This version of the source (copied earlier, or the very same bytes put there by the owner). */
  | { readonly kind: "copied" }
  /** The migration's own copy of an earlier version of the source: replaced. */
  | { readonly kind: "stale-copy"; readonly etag: string }
  /** An object the migration did not write: never overwritten. */
  | { readonly kind: "newer-in-s3" };

/** What `migrate` did with one object. */
export type MigrateOutcome = "copied" | "replaced" | "skipped" | "newer-in-s3";

export interface CopyResult {
  readonly mode: "single" | "multipart";
  readonly bytes: number;
  /** Which source checksum the bytes were verified against. */
  readonly verifiedWith: "crc32c" | "md5" | "none";
  readonly overCloudFrontLimit: boolean;
}

export interface CopyOptions {
  /** Stops a copy between parts (the multipart upload is then aborted). */
  readonly signal?: AbortSignal;
  /** Called after each part is written (heartbeats, progress). */
  readonly onPart?: (part: UploadedPart) => void | Promise<void>;
  /** Called once a multipart upload exists, before any part is written (so it can be aborted after a crash). */
  readonly onUploadStarted?: (uploadId: string) => void | Promise<void>;
}

export interface MigrateResult {
  readonly outcome: MigrateOutcome;
  /** Absent when nothing was written. */
  readonly copy?: CopyResult;
}

/** Rounds of look-then-write when concurrent writers keep changing the key. */
const MAX_WRITE_ROUNDS = 3;

/** The write condition that goes with a destination state (none when nothing is to be written). */
export function writeConditionFor(state: DestinationState): WriteCondition | undefined {
  if (state.kind === "absent") return { mode: MigrationWrite.created };
  if (state.kind === "stale-copy") return { mode: MigrationWrite.replaced, ifMatch: state.etag };
  return undefined;
}

const VERIFIED_PAYLOAD_MIDDLEWARE = "s3edgeVerifiedPayload";

/**
 * PutObject and UploadPart requests that carry a CRC32C (and, for PUTs, a Content-MD5) that S3
 * checks are signed `UNSIGNED-PAYLOAD`: SigV4 need not hash every byte again with SHA-256 (a tenth
 * of a large copy's CPU). On the client, once, so that clients resolving each command's middleware
 * once (`cacheMiddleware`) have it too.
 */
function signVerifiedWritesUnsigned(client: S3Client): void {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(`${VERIFIED_PAYLOAD_MIDDLEWARE} `))) return;
  const middleware: BuildMiddleware<object, object> = (next, context) => (args) => {
    const request = args.request as { headers?: Record<string, string> };
    const write = context.commandName === "PutObjectCommand" || context.commandName === "UploadPartCommand";
    if (write && request.headers?.["x-amz-checksum-crc32c"])
      request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    return next(args);
  };
  (client.middlewareStack as MiddlewareStack<object, object>).add(middleware, {
    step: "build",
    name: VERIFIED_PAYLOAD_MIDDLEWARE,
  });
}

const conditionHeaders = (write: WriteCondition) =>
  write.mode === MigrationWrite.created ? { IfNoneMatch: "*" } : { IfMatch: write.ifMatch };

/** How an object of a given size is cut into parts. */
export function partLayout(size: number, partSize: number): { readonly partSize: number; readonly partCount: number } {
  const MiB = 1024 ** 2;
  const smallest = Math.ceil(size / MAX_PARTS);
  const effective = partSize >= smallest ? partSize : Math.ceil(smallest / MiB) * MiB;
  return { partSize: effective, partCount: Math.max(1, Math.ceil(size / effective)) };
}

/** The byte range of part `partNumber` (1-based). */
export function partRange(size: number, partSize: number, partNumber: number): { start: number; length: number } {
  const start = (partNumber - 1) * partSize;
  return { start, length: Math.max(0, Math.min(partSize, size - start)) };
}

/** Compares the CRC32C (combined over parts) and/or MD5 of copied bytes with what the source published. */
function verify(
  key: string,
  expected: ObjectHashes,
  actual: { crc32c: number; md5?: string },
): CopyResult["verifiedWith"] {
  if (expected.crc32c) {
    const got = crc32cToBase64(actual.crc32c);
    if (got !== expected.crc32c) {
      throw new CopyError("integrity-mismatch", key, `crc32c of copied bytes ${got} != source ${expected.crc32c}`);
    }
  }
  if (expected.md5 && actual.md5 !== undefined && actual.md5 !== expected.md5) {
    throw new CopyError("integrity-mismatch", key, `md5 of copied bytes ${actual.md5} != source ${expected.md5}`);
  }
  if (expected.crc32c) return "crc32c";
  return expected.md5 && actual.md5 !== undefined ? "md5" : "none";
}

/** S3 refused a conditional write: the key changed since it was looked at. */
const lostRace = (error: unknown) =>
  error instanceof CopyError && (error.reason === "newer-in-s3" || error.reason === "write-conflict");

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^"|"$/g, "");

/**
 * Copies objects from a source bucket (GCS XML API) into an S3 bucket, verified and with their
 * metadata. Used by the backfill worker (including its fanned-out parts) and the migrate CLI.
 * Memory is bounded by the part size: nothing larger than one part is ever held.
 */
export class CopyEngine {
  readonly multipartThreshold: number;
  readonly partSize: number;
  readonly uploadConcurrency: number;

  constructor(
    readonly source: ObjectReader,
    private readonly destination: S3Client,
    readonly bucket: string,
    private readonly options: CopyEngineOptions = {},
  ) {
    this.multipartThreshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.uploadConcurrency = options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
    if (!(this.partSize > 0 && this.multipartThreshold >= 0 && this.uploadConcurrency >= 1)) {
      throw new RangeError("partSize and uploadConcurrency must be positive, multipartThreshold not negative");
    }
    signVerifiedWritesUnsigned(destination);
  }

  /** HEADs the source; rejects objects S3 cannot hold. */
  async inspect(key: string): Promise<SourceObject> {
    const object = await this.source.head(key);
    if (object.size > MAX_OBJECT_BYTES) {
      throw new CopyError("too-large", key, `${object.size} bytes is over S3's 5 TiB object limit`);
    }
    return object;
  }

  /**
   * What the destination holds for this object. A copy of the migration's (it carries the source
   * ETag it was made from) is this version only when that ETag, the size and the source CRC32C
   * (when both have one) all match; any other object counts as copied only when it is the same
   * bytes (same size and ETag), else it is someone else's and newer.
   */
  async destinationState(object: SourceObject): Promise<DestinationState> {
    let head;
    try {
      head = await this.destination.send(new HeadObjectCommand({ Bucket: this.bucket, Key: object.key }));
    } catch (error) {
      if (isNotFound(error)) return { kind: "absent" };
      throw error;
    }
    const recordedEtag = head.Metadata?.[METADATA.sourceEtag];
    const sameBytes = head.ContentLength === object.size;
    if (recordedEtag !== undefined || head.Metadata?.[MIGRATION_WRITE_METADATA] !== undefined) {
      const recordedCrc = head.Metadata?.[METADATA.sourceCrc32c];
      const sameCrc = !recordedCrc || !object.hashes.crc32c || recordedCrc === object.hashes.crc32c;
      if (sameBytes && sameCrc && unquote(recordedEtag) === unquote(object.etag)) return { kind: "copied" };
      return { kind: "stale-copy", etag: head.ETag ?? "" };
    }
    if (sameBytes && unquote(head.ETag) === unquote(object.etag)) return { kind: "copied" };
    return { kind: "newer-in-s3" };
  }

  /**
   * Looks at the destination and writes only what the migration may write: a new key, or a
   * replacement of its own stale copy. A write that loses a race (S3 refused the condition) looks
   * again: the winner may be another migration worker's identical copy (skipped) or the owner's
   * object (`newer-in-s3`).
   */
  async migrate(object: SourceObject, options: CopyOptions = {}): Promise<MigrateResult> {
    for (let round = 1; ; round++) {
      const state = await this.destinationState(object);
      const write = writeConditionFor(state);
      if (!write) return { outcome: state.kind === "copied" ? "skipped" : "newer-in-s3" };
      try {
        const copy = await this.copy(object, write, options);
        return { outcome: write.mode === MigrationWrite.created ? "copied" : "replaced", copy };
      } catch (error) {
        if (!lostRace(error) || round >= MAX_WRITE_ROUNDS) throw error;
      }
    }
  }

  /**
   * `migrate` for an object known from the listings of both buckets (the CLI's bulk path), with
   * fewer requests: a key the destination lists with the source's size and ETag (the same bytes)
   * is skipped without any; a small key it does not list is copied with one GET (headers and
   * bytes) and one `If-None-Match: *` PUT, a larger one after a HEAD of the source only, its upload
   * completed under `If-None-Match: *`. Everything else, and a write that lost a race since the
   * listing, goes the way of `migrate` (HEADs, then the write condition they call for).
   */
  async migrateListed(
    listing: SourceListing,
    destination: ListedState,
    options: CopyOptions = {},
  ): Promise<MigrateResult> {
    if (destination.kind === "present" && sameListedBytes(listing, destination.entry)) return { outcome: "skipped" };
    const get = this.source.get?.bind(this.source);
    if (destination.kind === "absent" && listing.size <= this.multipartThreshold && get) {
      const release = await this.reserve(listing.size);
      let object: SourceObject | undefined;
      try {
        const fetched = await withRetries(() => get(listing.key, listing.size));
        if (fetched) {
          object = fetched.object;
          const copy = await this.putSingle(object, fetched.body, { mode: MigrationWrite.created });
          return { outcome: "copied", copy };
        }
      } catch (error) {
        if (!object || !lostRace(error)) throw error;
      } finally {
        release();
      }
      // Written by someone since the listing (look again), or grown past its listed size (copy it the ranged way).
      if (object) return this.migrate(object, options);
    }
    const object = await this.inspect(listing.key);
    if (destination.kind === "absent") {
      // Free in the listing: written under If-None-Match without a HEAD of the destination first.
      try {
        return { outcome: "copied", copy: await this.copy(object, { mode: MigrationWrite.created }, options) };
      } catch (error) {
        if (!lostRace(error)) throw error;
      }
    }
    return this.migrate(object, options);
  }

  /** Copies one object in this process under a write condition: one PUT up to the threshold, a multipart upload above it. */
  async copy(object: SourceObject, write: WriteCondition, options: CopyOptions = {}): Promise<CopyResult> {
    if (object.size <= this.multipartThreshold) return this.copySingle(object, write);
    return this.copyMultipart(object, write, options);
  }

  /** Waits until `bytes` may be held (see MemoryBudget); the returned function gives them back. */
  private reserve(bytes: number): Promise<() => void> {
    return this.options.memory ? this.options.memory.acquire(bytes) : Promise.resolve(() => undefined);
  }

  private async copySingle(object: SourceObject, write: WriteCondition): Promise<CopyResult> {
    const release = await this.reserve(object.size);
    try {
      const body = await withRetries(() => this.source.readRange(object, 0, object.size));
      return await this.putSingle(object, body, write);
    } finally {
      release();
    }
  }

  /** Verifies a whole object's bytes against the source's checksums and writes them in one conditional PUT. */
  private async putSingle(object: SourceObject, body: Buffer, write: WriteCondition): Promise<CopyResult> {
    const crc32c = await crc32cOf(body);
    const md5 = createHash("md5").update(body).digest("base64");
    const verifiedWith = verify(object.key, object.hashes, { crc32c, md5 });
    const http = this.options.http;
    const put = http
      ? http.put(
          this.bucket,
          object.key,
          {
            ...this.objectHeaders(object, write),
            ...(write.mode === MigrationWrite.created ? { "if-none-match": "*" } : { "if-match": write.ifMatch }),
            "content-md5": md5,
            "x-amz-checksum-crc32c": crc32cToBase64(crc32c),
          },
          body,
        )
      : this.destination.send(
          new PutObjectCommand({
            ...this.objectAttributes(object, write),
            ...conditionHeaders(write),
            Body: body,
            ContentLength: body.length,
            ContentMD5: md5,
            ChecksumCRC32C: crc32cToBase64(crc32c),
          }),
        );
    await put.catch((error: unknown) => {
      throw writeError(error, object.key);
    });
    return { mode: "single", bytes: body.length, verifiedWith, overCloudFrontLimit: false };
  }

  /**
   * Copies up to `uploadConcurrency` parts at once, each read (ranged GET) and written (UploadPart)
   * by one of as many workers; parts are handed out in order, so the MD5 of the whole object is
   * fed part after part as each one's turn comes (a worker holds its part until then, and never
   * more than one part: memory stays about `uploadConcurrency` × part size). The upload is
   * completed only after the bytes matched the source's checksums; otherwise, or when any part
   * fails, it is aborted, so no corrupt object ever appears.
   */
  private async copyMultipart(object: SourceObject, write: WriteCondition, options: CopyOptions): Promise<CopyResult> {
    if (this.options.readSequentially && this.source.openRange) {
      return this.copyMultipartSequentially(object, write, options);
    }
    const { partSize, partCount } = partLayout(object.size, this.partSize);
    const uploadId = await this.startUpload(object, write);
    const md5: Hash | undefined = object.hashes.md5 ? createHash("md5") : undefined;
    const parts: UploadedPart[] = [];
    let nextPart = 1;
    let failure: unknown;
    // Resolved once every earlier part went into the MD5.
    let md5Turn = Promise.resolve();
    // Each worker reads every part it copies into one buffer of its own, granted by the budget for
    // the worker's lifetime: no allocation (page faults, garbage) per part.
    const worker = async () => {
      const release = await this.reserve(partSize);
      const buffer = Buffer.allocUnsafe(partSize);
      try {
        while (failure === undefined && nextPart <= partCount) await copyNextPart(buffer);
      } finally {
        release();
      }
    };
    const copyNextPart = async (buffer: Buffer) => {
      if (options.signal?.aborted) {
        failure ??= new CopyError("aborted", object.key, "copy interrupted");
        return;
      }
      const partNumber = nextPart++;
      const previous = md5Turn;
      let done!: () => void;
      md5Turn = new Promise((resolve) => (done = resolve));
      const { start, length } = partRange(object.size, partSize, partNumber);
      try {
        const body = await withRetries(() => this.source.readRange(object, start, length, buffer));
        const [part] = await Promise.all([
          this.uploadPart(object.key, uploadId, partNumber, body),
          md5 &&
            previous.then(() => {
              md5.update(body);
              done();
            }),
        ]);
        parts.push(part);
        await options.onPart?.(part);
      } catch (error) {
        failure ??= error;
      } finally {
        // A failed part still hands the turn on, so that no worker waits for it forever.
        void previous.then(done);
      }
    };
    try {
      await options.onUploadStarted?.(uploadId);
      await Promise.all(Array.from({ length: Math.min(this.uploadConcurrency, partCount) }, worker));
      if (failure !== undefined) throw failure;
      return await this.finishMultipart(object, uploadId, parts, write, md5);
    } catch (error) {
      await this.abortUpload(object.key, uploadId);
      throw error;
    }
  }

  /**
   * A multipart copy from one GET (`SequentialReader`), as rclone reads: the response is read part
   * after part, in order, each part into a free buffer (the MD5 of the whole object fed as it goes)
   * and written by UploadPart while the next parts are read; up to `uploadConcurrency` parts are
   * uploading while one more is read, so memory is (`uploadConcurrency` + 1) × part size. The
   * source does one request instead of one per part, and reading never waits for an upload to start
   * another GET. Completed only after the checksums matched; aborted otherwise.
   */
  private async copyMultipartSequentially(
    object: SourceObject,
    write: WriteCondition,
    options: CopyOptions,
  ): Promise<CopyResult> {
    const { partSize, partCount } = partLayout(object.size, this.partSize);
    const uploadId = await this.startUpload(object, write);
    const md5: Hash | undefined = object.hashes.md5 ? createHash("md5") : undefined;
    const reader = new SequentialReader(this.source as Required<Pick<ObjectReader, "openRange">>, object);
    const parts: UploadedPart[] = [];
    const buffers = Math.min(this.uploadConcurrency + 1, partCount);
    const release = await this.reserve(partSize * buffers);
    const free = Array.from({ length: buffers }, () => Buffer.allocUnsafe(partSize));
    let wake: (() => void) | undefined;
    let failure: unknown;
    const uploads = new Set<Promise<void>>();
    try {
      await options.onUploadStarted?.(uploadId);
      for (let partNumber = 1; partNumber <= partCount && failure === undefined; partNumber++) {
        if (options.signal?.aborted) {
          failure = new CopyError("aborted", object.key, "copy interrupted");
          break;
        }
        while (free.length === 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (failure !== undefined) break;
        const buffer = free.pop()!;
        const { start, length } = partRange(object.size, partSize, partNumber);
        let body: Buffer;
        try {
          body = await withRetries(() => reader.read(start, buffer.subarray(0, length)));
        } catch (error) {
          failure ??= error;
          break;
        }
        md5?.update(body);
        const upload = this.uploadPart(object.key, uploadId, partNumber, body)
          .then(async (part) => {
            parts.push(part);
            await options.onPart?.(part);
          })
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => {
            uploads.delete(upload);
            free.push(buffer);
            wake?.();
          });
        uploads.add(upload);
      }
      await Promise.all(uploads);
      if (failure !== undefined) throw failure;
      return await this.finishMultipart(object, uploadId, parts, write, md5);
    } catch (error) {
      await Promise.allSettled(uploads);
      await this.abortUpload(object.key, uploadId);
      throw error;
    } finally {
      reader.close();
      release();
    }
  }

  /** Completes a multipart copy whose parts all uploaded; the result, once the checksums matched. */
  private async finishMultipart(
    object: SourceObject,
    uploadId: string,
    parts: UploadedPart[],
    write: WriteCondition,
    md5: Hash | undefined,
  ): Promise<CopyResult> {
    const verifiedWith = await this.completeUpload(object, uploadId, parts, write, md5?.digest("base64"));
    return {
      mode: "multipart",
      bytes: object.size,
      verifiedWith,
      overCloudFrontLimit: object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES,
    };
  }

  /**
   * Starts a multipart upload carrying the object's headers and metadata (the migration-write
   * marker included: CompleteMultipartUpload takes no metadata), with CRC32C part checksums.
   */
  async startUpload(object: SourceObject, write: WriteCondition): Promise<string> {
    const { UploadId } = await this.destination
      .send(new CreateMultipartUploadCommand({ ...this.objectAttributes(object, write), ChecksumAlgorithm: "CRC32C" }))
      .catch((error: unknown) => {
        throw writeError(error, object.key);
      });
    if (!UploadId) throw new Error(`CreateMultipartUpload returned no UploadId for ${object.key}`);
    return UploadId;
  }

  /** Reads one part from the source and writes it to the upload (the fan-out unit of work). */
  async copyPart(
    object: Pick<SourceObject, "key" | "etag" | "size">,
    uploadId: string,
    partNumber: number,
    partSize: number,
  ): Promise<UploadedPart> {
    const { start, length } = partRange(object.size, partSize, partNumber);
    const release = await this.reserve(length);
    try {
      const body = await withRetries(() => this.source.readRange(object, start, length));
      return await this.uploadPart(object.key, uploadId, partNumber, body);
    } finally {
      release();
    }
  }

  private async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart> {
    const crc32c = await crc32cOf(body);
    const http = this.options.http;
    const upload = http
      ? http
          .put(this.bucket, key, { "x-amz-checksum-crc32c": crc32cToBase64(crc32c) }, body, {
            partNumber: String(partNumber),
            uploadId,
          })
          .then((headers) => ({ ETag: typeof headers.etag === "string" ? headers.etag : undefined }))
      : this.destination.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            // Precomputed, so it travels as a plain header (no aws-chunked trailer) and S3 verifies the part.
            ChecksumCRC32C: crc32cToBase64(crc32c),
          }),
        );
    const { ETag } = await upload.catch((error: unknown) => {
      throw writeError(error, key);
    });
    if (!ETag) throw new Error(`UploadPart returned no ETag for ${key} part ${partNumber}`);
    return { partNumber, etag: ETag, size: body.length, crc32c };
  }

  /**
   * Verifies the parts against the source's checksums (CRC32C combined over parts; the whole MD5
   * when the caller could compute it) and completes the upload under the write condition; on a
   * mismatch, or when S3 refuses the condition, the upload is aborted and a CopyError thrown.
   */
  async completeUpload(
    object: Pick<SourceObject, "key" | "size" | "hashes">,
    uploadId: string,
    uploaded: readonly UploadedPart[],
    write: WriteCondition,
    md5?: string,
  ): Promise<CopyResult["verifiedWith"]> {
    const parts = [...uploaded].sort((a, b) => a.partNumber - b.partNumber);
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    const crc32c = parts.reduce((crc, part) => crc32cCombine(crc, part.crc32c, part.size), 0);
    let verifiedWith: CopyResult["verifiedWith"];
    try {
      if (total !== object.size) {
        throw new CopyError("short-read", object.key, `parts hold ${total} bytes, the source ${object.size}`);
      }
      verifiedWith = verify(object.key, object.hashes, { crc32c, md5 });
    } catch (error) {
      await this.abortUpload(object.key, uploadId);
      throw error;
    }
    try {
      await this.destination.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: object.key,
          UploadId: uploadId,
          ...conditionHeaders(write),
          MultipartUpload: {
            Parts: parts.map((part) => ({
              PartNumber: part.partNumber,
              ETag: part.etag,
              ChecksumCRC32C: crc32cToBase64(part.crc32c),
            })),
          },
        }),
      );
    } catch (error) {
      const failure = writeError(error, object.key);
      // S3 keeps an upload whose condition failed; it is not needed any more (on a 409 S3 asks for a new upload).
      if (failure instanceof CopyError && failure.reason !== "upload-gone")
        await this.abortUpload(object.key, uploadId);
      throw failure;
    }
    return verifiedWith;
  }

  /** Best effort: a failed abort leaves the upload to the bucket's lifecycle rule. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.destination
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  /** `objectAttributes` as the headers of a PUT. */
  private objectHeaders(object: SourceObject, write: WriteCondition): Record<string, string> {
    const attributes = this.objectAttributes(object, write);
    const headers: Record<string, string> = {};
    const named: [string, string | undefined][] = [
      ["content-type", attributes.ContentType],
      ["cache-control", attributes.CacheControl],
      ["content-encoding", attributes.ContentEncoding],
      ["content-disposition", attributes.ContentDisposition],
      ["content-language", attributes.ContentLanguage],
    ];
    for (const [name, value] of named) if (value !== undefined) headers[name] = value;
    for (const [name, value] of Object.entries(attributes.Metadata)) headers[`x-amz-meta-${name}`] = value;
    return headers;
  }

  /** Headers and metadata of every write; source metadata S3 cannot hold is dropped and reported. */
  private objectAttributes(object: SourceObject, write: WriteCondition) {
    const reserved: Record<string, string> = {
      [MIGRATION_WRITE_METADATA]: write.mode,
      [METADATA.sourceEtag]: object.etag,
    };
    if (object.hashes.crc32c) reserved[METADATA.sourceCrc32c] = object.hashes.crc32c;
    if (object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES) reserved[METADATA.overCloudFrontLimit] = "true";
    const { metadata, dropped } = fitMetadata(reserved, object.metadata);
    for (const field of dropped) this.options.onDroppedMetadata?.(object.key, field);
    return {
      Bucket: this.bucket,
      Key: object.key,
      ContentType: object.headers.contentType,
      CacheControl: object.headers.cacheControl,
      ContentEncoding: object.headers.contentEncoding,
      ContentDisposition: object.headers.contentDisposition,
      ContentLanguage: object.headers.contentLanguage,
      Metadata: metadata,
    };
  }
}
