import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { bufferBudgetFor, readEnv, workerEnvSchema } from "../shared/backfill-env";
import { JobStore } from "../shared/backfill-jobs";
import { backfillMessageSchema } from "../shared/backfill-messages";
import { MemoryBudget } from "../shared/copy/budget";
import { CopyEngine } from "../shared/copy/engine";
import { cachedHmacKey } from "../shared/gcs-hmac-key";
import { JobQueue } from "../shared/job-queue";
import { openLegacySource } from "../shared/legacy-source";
import { createMetrics, publishFigures } from "../shared/metrics";
import { BackfillFigures } from "./figures";
import { BackfillWorker } from "./worker";

const env = readEnv(workerEnvSchema, process.env);
const logger = new Logger({ serviceName: "backfill-worker" });
const metrics = createMetrics();
const sourceKey = env.SOURCE_CREDENTIALS_SECRET_ID
  ? cachedHmacKey(
      new SecretsManagerClient({ region: env.SOURCE_CREDENTIALS_SECRET_REGION }),
      env.SOURCE_CREDENTIALS_SECRET_ID,
    )
  : undefined;
const source = openLegacySource(
  {
    api: env.SOURCE_API,
    endpoint: env.SOURCE_ENDPOINT,
    bucket: env.SOURCE_BUCKET,
    region: env.SOURCE_REGION,
    addressing: env.SOURCE_ADDRESSING,
  },
  { credentials: sourceKey && (() => sourceKey()) },
);
const jobs = new JobStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({})),
  env.JOBS_TABLE,
  env.STALL_SECONDS * 1000,
);
const worker = new BackfillWorker({
  engine: new CopyEngine(source, new S3Client({ maxAttempts: 5 }), env.DESTINATION_BUCKET, {
    multipartThreshold: env.MULTIPART_THRESHOLD_BYTES,
    partSize: env.PART_SIZE_BYTES,
    // Shared by the batch's records, which run in parallel: memory stays within the function's.
    memory: new MemoryBudget(env.BUFFER_BUDGET_BYTES ?? bufferBudgetFor(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)),
    onDroppedMetadata: (key, dropped) =>
      logger.warn("metadata field not copied: S3 cannot hold it", {
        key,
        field: dropped.field,
        reason: dropped.reason,
      }),
  }),
  jobs,
  queue: new JobQueue(new SQSClient({}), env.QUEUE_URL),
  logger,
  fanOutThreshold: env.FAN_OUT_THRESHOLD_BYTES,
  figures: new BackfillFigures(metrics),
});
const processor = new BatchProcessor(EventType.SQS);

async function processRecord(record: SQSRecord): Promise<void> {
  let message;
  try {
    message = backfillMessageSchema.parse(JSON.parse(record.body));
  } catch (error) {
    // Failed, not dropped: after the queue's receive limit the message waits in the DLQ for a look.
    logger.error("malformed backfill message", { messageId: record.messageId, error: error as Error });
    throw error;
  }
  await worker.process(message);
}

/** SQS consumer: each message is one copy job or one part of a fanned-out copy; failures are reported per message. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  try {
    // How far the queue has moved: the sweeper tells a queued fan-out from a stalled one by it.
    const newest = Math.max(0, ...event.Records.map((record) => Number(record.attributes.SentTimestamp) || 0));
    if (newest > 0) await jobs.noteQueueProgress(newest);
    return await processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
  } finally {
    publishFigures(metrics);
  }
}
