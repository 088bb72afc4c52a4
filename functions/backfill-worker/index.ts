import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { bufferBudgetFor, WORKER_ENVIRONMENT, WORKER_ENVIRONMENT_FIELDS } from "../shared/backfill-environment";
import { JobStore } from "../shared/backfill-jobs";
import { backfillMessageSchema } from "../shared/backfill-messages";
import { MemoryBudget } from "../shared/copy/budget";
import { CopyEngine } from "../shared/copy/engine";
import { readEnvironment } from "../shared/environment";
import { cachedHmacKey } from "../shared/gcs-hmac-key";
import { JobQueue } from "../shared/job-queue";
import { openLegacySource } from "../shared/legacy-source";
import { createMetrics, publishFigures } from "../shared/metrics";
import { BackfillFigures } from "./figures";
import { BackfillWorker } from "./worker";

const env = readEnvironment(WORKER_ENVIRONMENT, WORKER_ENVIRONMENT_FIELDS, process.env);
const logger = new Logger({ serviceName: "backfill-worker" });
const metrics = createMetrics();
const sourceKey = env.sourceCredentialsSecretId
  ? cachedHmacKey(
      new SecretsManagerClient({ region: env.sourceCredentialsSecretRegion }),
      env.sourceCredentialsSecretId,
    )
  : undefined;
const source = openLegacySource(
  {
    api: env.sourceApi,
    endpoint: env.sourceEndpoint,
    bucket: env.sourceBucket,
    region: env.sourceRegion,
    addressing: env.sourceAddressing,
  },
  { credentials: sourceKey && (() => sourceKey()) },
);
const jobs = new JobStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), env.jobsTable, env.stallSeconds * 1000);
const worker = new BackfillWorker({
  engine: new CopyEngine(source, new S3Client({ maxAttempts: 5 }), env.destinationBucket, {
    multipartThreshold: env.multipartThresholdBytes,
    partSize: env.partSizeBytes,
    // Shared by the batch's records, which run in parallel: memory stays within the function's.
    memory: new MemoryBudget(env.bufferBudgetBytes ?? bufferBudgetFor(env.functionMemoryMb)),
    onDroppedMetadata: (key, dropped) =>
      logger.warn("metadata field not copied: S3 cannot hold it", {
        key,
        field: dropped.field,
        reason: dropped.reason,
      }),
  }),
  jobs,
  queue: new JobQueue(new SQSClient({}), env.queueUrl),
  logger,
  fanOutThreshold: env.fanOutThresholdBytes,
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
