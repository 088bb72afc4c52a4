import type { Logger } from "@aws-lambda-powertools/logger";
import { AbortMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { JobStatus, type JobRecord, type JobStore } from "../shared/backfill-jobs";
import { partMessages } from "../shared/backfill-messages";
import type { JobQueue } from "../shared/job-queue";

export interface SweepDeps {
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly logger: Logger;
  /** Jobs re-driven per run at most, per status. @default 500 */
  readonly limit?: number;
}

export interface SweepResult {
  /** Jobs queued again as a whole copy. */
  readonly redriven: number;
  readonly abortedUploads: number;
  /** Fanned-out copies whose missing parts were queued again (the upload and the parts done kept). */
  readonly requeuedFanOuts: number;
  /** Fanned-out copies left alone: their parts are still waiting behind a backlog. */
  readonly queued: number;
}

/**
 * Re-drives jobs that stalled (a worker died mid-copy, a part message was lost, a transient
 * failure whose backoff has run out):
 * - a fanned-out copy is stalled only when the workers have moved past the messages queued after
 *   its parts (or the queue is empty); then only its missing parts are queued again, on the same
 *   upload. One merely waiting behind a backlog (`migrate --enqueue`) is left alone.
 * - any other job is taken over atomically, the multipart upload it recorded is aborted (the
 *   new attempt starts a fresh one), and a copy job is queued again.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  let redriven = 0;
  let abortedUploads = 0;
  let requeuedFanOuts = 0;
  let queued = 0;
  const progress = await deps.jobs.queueProgress();
  let backlog: number | undefined;
  const waitingItsTurn = async (job: JobRecord) => {
    backlog ??= await deps.queue.backlog();
    return backlog > 0 && (progress ?? 0) < (job.queuedAt ?? job.updatedAt) + deps.jobs.stallMs;
  };
  for (const status of [JobStatus.inProgress, JobStatus.retrying]) {
    for await (const job of deps.jobs.stalled(status, deps.limit ?? 500)) {
      if (status === JobStatus.inProgress && job.partCount && job.uploadId && job.partSize) {
        if (await waitingItsTurn(job)) {
          queued++;
          continue;
        }
        if (!(await deps.jobs.requeueParts(job))) continue;
        const object = { key: job.key, size: job.size ?? 0, etag: job.sourceEtag ?? "" };
        await deps.queue.send(partMessages(object, job.uploadId, job.partSize, job.partCount, job.doneParts));
        requeuedFanOuts++;
        deps.logger.info("queued the missing parts of a stalled copy again", {
          key: job.key,
          partsDone: job.doneParts?.size ?? 0,
          partCount: job.partCount,
        });
        continue;
      }
      if (!(await deps.jobs.takeOver(job))) continue;
      if (job.uploadId) {
        await deps.s3
          .send(new AbortMultipartUploadCommand({ Bucket: deps.bucket, Key: job.key, UploadId: job.uploadId }))
          .then(
            () => abortedUploads++,
            (error: unknown) =>
              deps.logger.warn("could not abort an orphaned upload", { key: job.key, error: error as Error }),
          );
      }
      await deps.queue.send([{ type: "copy", key: job.key }]);
      redriven++;
      deps.logger.info("re-drove a stalled job", { key: job.key, status, updatedAt: job.updatedAt });
    }
  }
  return { redriven, abortedUploads, requeuedFanOuts, queued };
}
