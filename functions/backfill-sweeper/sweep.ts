import type { Logger } from "@aws-lambda-powertools/logger";
import { AbortMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { JobStatus, type JobStore } from "../shared/backfill-jobs";
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
  readonly redriven: number;
  readonly abortedUploads: number;
}

/**
 * Re-drives jobs that stalled (a worker died mid-copy, a part message was lost, a release whose
 * message never came back): each is taken over atomically, the multipart upload it recorded is
 * aborted (it is orphaned: the new attempt starts a fresh one), and a copy job is queued again.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  let redriven = 0;
  let abortedUploads = 0;
  for (const status of [JobStatus.inProgress, JobStatus.retrying]) {
    for await (const job of deps.jobs.stalled(status, deps.limit ?? 500)) {
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
  return { redriven, abortedUploads };
}
