import type { Logger } from "@aws-lambda-powertools/logger";
import { partMessages, type BackfillMessage, type PartJobMessage } from "../shared/backfill-messages";
import { JobStatus, type JobRecord, type JobStore } from "../shared/backfill-jobs";
import {
  CopyEngine,
  partLayout,
  writeConditionFor,
  CLOUDFRONT_MAX_CACHEABLE_BYTES,
  type WriteCondition,
} from "../shared/copy/engine";
import { CopyError } from "../shared/copy/errors";
import type { SourceObject } from "../shared/copy/source";
import type { JobQueue } from "../shared/job-queue";
import { MigrationWrite } from "../shared/migration-write";

export interface BackfillWorkerDeps {
  readonly engine: CopyEngine;
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** Objects above this size fan out into part messages (when the source publishes a CRC32C). */
  readonly fanOutThreshold: number;
}

/**
 * Copies objects from GCS into the primary bucket, one message at a time, writing only where the
 * migration may (a new key, or its own stale copy). Every outcome is recorded in the jobs table and
 * the message acknowledged: a permanent failure stays failed with its reason, a transient one waits
 * out its backoff (a later miss or the sweeper brings it back), so one failure costs one attempt.
 * Only a failure to record (the jobs table unreachable) leaves the message to SQS's redelivery.
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
      logger.info("already copied, being copied, failed for good or backing off", { key });
      return;
    }
    try {
      if (object.size > this.deps.fanOutThreshold && object.hashes.crc32c) {
        const state = await engine.destinationState(object);
        const write = writeConditionFor(state);
        if (!write) return await this.recordOutcome(object.key, state.kind === "copied" ? "skipped" : "newer-in-s3");
        return await this.fanOut(object, write);
      }
      const { outcome, copy } = await engine.migrate(object, {
        onPart: () => jobs.heartbeat(key),
        onUploadStarted: (uploadId) => jobs.recordUpload(key, uploadId),
      });
      if (!copy) return await this.recordOutcome(object.key, outcome === "newer-in-s3" ? outcome : "skipped");
      await jobs.markDone(key, { outcome, ...copy });
      this.logCopied(object, outcome, copy.verifiedWith);
    } catch (error) {
      await this.recordFailure(job, error);
    }
  }

  /** Records what a copy that wrote nothing found: the version already there, or an object the migration must not overwrite. */
  private async recordOutcome(key: string, outcome: "skipped" | "newer-in-s3"): Promise<void> {
    await this.deps.jobs.markDone(key, { outcome });
    if (outcome === "newer-in-s3") {
      this.deps.logger.warn("S3 holds an object the migration did not write: left as it is", { key });
    } else {
      this.deps.logger.info("already in the bucket", { key });
    }
  }

  /** Permanent failures stay failed with their reason; anything else backs off (the message is acknowledged). */
  private async recordFailure(job: JobRecord, error: unknown): Promise<void> {
    if (error instanceof CopyError && error.reason === "newer-in-s3") {
      return this.recordOutcome(job.key, "newer-in-s3");
    }
    if (error instanceof CopyError && error.permanent) return this.recordPermanentFailure(error);
    const retryAt = await this.deps.jobs.release(job, (error as Error).message);
    this.deps.logger.warn("copy failed; tried again after a backoff", {
      key: job.key,
      retryAt: retryAt === undefined ? undefined : new Date(retryAt).toISOString(),
      error: error as Error,
    });
  }

  /** Starts the upload and sends one message per part: many workers copy one large object. */
  private async fanOut(object: SourceObject, write: WriteCondition): Promise<void> {
    const { engine, jobs, queue, logger } = this.deps;
    const { partSize, partCount } = partLayout(object.size, engine.partSize);
    const uploadId = await engine.startUpload(object, write);
    try {
      await jobs.startFanOut(object.key, {
        uploadId,
        partCount,
        partSize,
        overCloudFrontLimit: object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES,
        write,
      });
    } catch (error) {
      await engine.abortUpload(object.key, uploadId);
      throw error;
    }
    await queue.send(partMessages(object, uploadId, partSize, partCount));
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
      let part;
      try {
        part = await engine.copyPart(message, message.uploadId, message.partNumber, message.partSize);
      } catch (error) {
        // The upload is gone (aborted, expired) or the source changed: the whole copy starts again after a backoff.
        if (error instanceof CopyError && !error.permanent && error.reason !== "short-read") {
          await engine.abortUpload(message.key, message.uploadId);
          return this.recordFailure(job, error);
        }
        throw error;
      }
      await jobs.recordPart(message.uploadId, part);
    }
    const counted = await jobs.countPart(message.key, message.uploadId, message.partNumber);
    if (counted === "last" || counted === "repeat-complete") await this.completeFanOut(message, job);
  }

  /**
   * Run by the worker whose part made the set full (or that replaces a completer that crashed):
   * verifies the combined CRC32C against the source and completes the upload once, under the
   * write condition chosen when the copy started.
   */
  private async completeFanOut(message: PartJobMessage, job: JobRecord): Promise<void> {
    const { engine, jobs, logger } = this.deps;
    const object = await engine.inspect(message.key);
    const parts = await jobs.partsOf(message.uploadId, job.partCount ?? 0);
    const write: WriteCondition =
      job.writeMode === MigrationWrite.replaced
        ? { mode: MigrationWrite.replaced, ifMatch: job.replaceEtag ?? "" }
        : { mode: MigrationWrite.created };
    let verifiedWith;
    try {
      if (object.etag !== message.etag) {
        throw new CopyError("source-changed", message.key, "the source changed during the copy");
      }
      verifiedWith = await engine.completeUpload(object, message.uploadId, parts, write);
    } catch (error) {
      const refused = error instanceof CopyError && (error.reason === "upload-gone" || error.reason === "newer-in-s3");
      // A completer that crashed after completing leaves the upload gone, or the key taken by this very copy.
      if (refused && (await engine.destinationState(object)).kind === "copied") {
        await jobs.markDone(message.key, {
          outcome: write.mode === MigrationWrite.created ? "copied" : "replaced",
          bytes: object.size,
          verifiedWith: "crc32c",
        });
        return;
      }
      if (!(error instanceof CopyError)) throw error;
      await engine.abortUpload(message.key, message.uploadId);
      await this.recordFailure(job, error);
      logger.error("fanned-out copy not completed", { key: message.key, reason: error.message });
      return;
    }
    const outcome = write.mode === MigrationWrite.created ? "copied" : "replaced";
    await jobs.markDone(message.key, {
      outcome,
      bytes: object.size,
      verifiedWith,
      overCloudFrontLimit: object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES,
    });
    this.logCopied(object, outcome, verifiedWith);
  }

  private logCopied(object: SourceObject, outcome: string, verifiedWith: string): void {
    const details = { key: object.key, size: object.size, outcome, verifiedWith };
    if (object.size > CLOUDFRONT_MAX_CACHEABLE_BYTES) {
      this.deps.logger.warn("copied an object CloudFront cannot cache (over 30 GB)", details);
    } else {
      this.deps.logger.info("copied", details);
    }
  }

  private async recordPermanentFailure(error: CopyError): Promise<void> {
    await this.deps.jobs.markFailed(error.key, error.message);
    this.deps.logger.warn("not copyable", { key: error.key, reason: error.reason, detail: error.message });
  }
}
