import type { Logger } from "@aws-lambda-powertools/logger";
import type { BackfillMessage, PartJobMessage } from "../shared/backfill-messages";
import { JobStatus, type JobStore } from "../shared/backfill-jobs";
import { CopyEngine, partLayout, CLOUDFRONT_MAX_CACHEABLE_BYTES } from "../shared/copy/engine";
import { CopyError } from "../shared/copy/errors";
import type { SourceObject } from "../shared/copy/source";
import type { JobQueue } from "../shared/job-queue";
import type { BackfillFigures } from "./figures";

export interface BackfillWorkerDeps {
  readonly engine: CopyEngine;
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** Objects above this size fan out into part messages (when the source publishes a CRC32C). */
  readonly fanOutThreshold: number;
  /** Claims of one job before it is recorded as failed. @default 5 */
  readonly maxAttempts?: number;
  /** Where copies, bytes and failures are counted. @default not counted */
  readonly figures?: BackfillFigures;
}

const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * Copies objects from GCS into the primary bucket, one message at a time. A message that throws is
 * retried by SQS (partial batch failure); permanent failures are recorded in the jobs table and
 * acknowledged.
 */
export class BackfillWorker {
  constructor(private readonly deps: BackfillWorkerDeps) {}

  async process(message: BackfillMessage): Promise<void> {
    if (message.type === "copy") await this.copy(message.key);
    else await this.copyPart(message);
  }

  private async copy(key: string): Promise<void> {
    const { engine, jobs, logger } = this.deps;
    let object: SourceObject;
    try {
      object = await engine.inspect(key);
    } catch (error) {
      if (error instanceof CopyError && error.permanent) return this.recordPermanentFailure(error);
      throw error;
    }
    const job = await jobs.claim(key, object.etag, object.size);
    if (!job) {
      logger.info("already copied or being copied", { key });
      return;
    }
    const maxAttempts = this.deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if ((job.attempts ?? 1) > maxAttempts) {
      await jobs.markFailed(key, `gave up after ${maxAttempts} attempts`);
      this.deps.figures?.failed("attempts-exhausted");
      logger.error("copy abandoned", { key, attempts: job.attempts });
      return;
    }
    try {
      if (await engine.alreadyCopied(object)) {
        await jobs.markDone(key, { outcome: "skipped" });
        this.deps.figures?.skipped();
        logger.info("already in the bucket", { key });
        return;
      }
      if (object.size > this.deps.fanOutThreshold && object.hashes.crc32c) return await this.fanOut(object);
      const started = Date.now();
      const result = await engine.copy(object, { onPart: () => jobs.heartbeat(key) });
      await jobs.markDone(key, { outcome: "copied", ...result });
      this.deps.figures?.copied(result.bytes, (Date.now() - started) / 1000);
      this.logCopied(object, result.verifiedWith);
    } catch (error) {
      if (error instanceof CopyError && error.permanent) return this.recordPermanentFailure(error);
      await jobs.release(key, (error as Error).message);
      this.deps.figures?.retried();
      throw error;
    }
  }

  /** Starts the upload and sends one message per part: many workers copy one large object. */
  private async fanOut(object: SourceObject): Promise<void> {
    const { engine, jobs, queue, logger } = this.deps;
    const { partSize, partCount } = partLayout(object.size, engine.partSize);
    const uploadId = await engine.startUpload(object);
    await jobs.startFanOut(object.key, {
      uploadId,
      partCount,
      partSize,
      overCloudFrontLimit: object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES,
    });
    const parts: PartJobMessage[] = Array.from({ length: partCount }, (_, index) => ({
      type: "part",
      key: object.key,
      uploadId,
      partNumber: index + 1,
      partSize,
      size: object.size,
      etag: object.etag,
    }));
    await queue.send(parts);
    this.deps.figures?.fannedOut();
    logger.info("copy fanned out", { key: object.key, size: object.size, partCount, partSize });
  }

  private async copyPart(message: PartJobMessage): Promise<void> {
    const { engine, jobs, logger } = this.deps;
    const job = await jobs.get(message.key);
    if (job?.status !== JobStatus.inProgress || job.uploadId !== message.uploadId) {
      logger.info("part of an abandoned upload", { key: message.key, partNumber: message.partNumber });
      return;
    }
    if (!job.doneParts?.has(message.partNumber)) {
      const part = await engine.copyPart(message, message.uploadId, message.partNumber, message.partSize);
      await jobs.recordPart(message.uploadId, part);
      this.deps.figures?.partCopied();
    }
    const counted = await jobs.countPart(message.key, message.uploadId, message.partNumber);
    if (counted === "last" || counted === "repeat-complete") await this.completeFanOut(message, job.partCount ?? 0);
  }

  /**
   * Run by the worker whose part made the set full (or that replaces a completer that crashed):
   * verifies the combined CRC32C against the source and completes the upload once.
   */
  private async completeFanOut(message: PartJobMessage, partCount: number): Promise<void> {
    const { engine, jobs, queue, logger } = this.deps;
    const object = await engine.inspect(message.key);
    const parts = await jobs.partsOf(message.uploadId, partCount);
    let verifiedWith;
    try {
      if (object.etag !== message.etag) {
        throw new CopyError("source-changed", message.key, "the source changed during the copy");
      }
      verifiedWith = await engine.completeUpload(object, message.uploadId, parts);
    } catch (error) {
      if (isNoSuchUpload(error) && (await engine.alreadyCopied(object))) {
        await jobs.markDone(message.key, { outcome: "copied", bytes: object.size, verifiedWith: "crc32c" });
        return;
      }
      if (!(error instanceof CopyError)) throw error;
      // The upload is aborted: copy the object again from scratch (bounded by the job's attempts).
      await engine.abortUpload(message.key, message.uploadId);
      await jobs.release(message.key, error.message);
      await queue.send([{ type: "copy", key: message.key }]);
      logger.error("fanned-out copy rejected; copying again", { key: message.key, reason: error.message });
      return;
    }
    await jobs.markDone(message.key, {
      outcome: "copied",
      bytes: object.size,
      verifiedWith,
      overCloudFrontLimit: object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES,
    });
    this.deps.figures?.assembled(object.size);
    this.logCopied(object, verifiedWith);
  }

  private logCopied(object: SourceObject, verifiedWith: string): void {
    const details = { key: object.key, size: object.size, verifiedWith };
    if (object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES) {
      this.deps.logger.warn("copied an object CloudFront cannot cache (over 30 GB)", details);
    } else {
      this.deps.logger.info("copied", details);
    }
  }

  private async recordPermanentFailure(error: CopyError): Promise<void> {
    await this.deps.jobs.markFailed(error.key, error.message);
    this.deps.figures?.failed(error.reason);
    this.deps.logger.warn("not copyable", { key: error.key, reason: error.reason, detail: error.message });
  }
}

function isNoSuchUpload(error: unknown): boolean {
  return (error as Error)?.name === "NoSuchUpload";
}
