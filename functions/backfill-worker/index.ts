import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { readEnv, workerEnvSchema } from "../shared/backfill-env";
import { JobStore } from "../shared/backfill-jobs";
import { backfillMessageSchema } from "../shared/backfill-messages";
import { CopyEngine } from "../shared/copy/engine";
import { createSourceClient, ObjectSource } from "../shared/copy/source";
import { cachedHmacKey } from "../shared/gcs-hmac-key";
import { JobQueue } from "../shared/job-queue";
import { createMetrics, publishFigures } from "../shared/metrics";
import { BackfillFigures } from "./figures";
import { BackfillWorker } from "./worker";

const env = readEnv(workerEnvSchema, process.env);
const logger = new Logger({ serviceName: "backfill-worker" });
const metrics = createMetrics();
const hmacKey = env.SOURCE_CREDENTIALS_SECRET_ID
  ? cachedHmacKey(new SecretsManagerClient({}), env.SOURCE_CREDENTIALS_SECRET_ID)
  : undefined;
const source = new ObjectSource(
  createSourceClient({ endpoint: env.SOURCE_ENDPOINT, credentials: hmacKey && (() => hmacKey()) }),
  env.SOURCE_BUCKET,
);
const worker = new BackfillWorker({
  engine: new CopyEngine(source, new S3Client({ maxAttempts: 5 }), env.DESTINATION_BUCKET, {
    multipartThreshold: env.MULTIPART_THRESHOLD_BYTES,
    partSize: env.PART_SIZE_BYTES,
  }),
  jobs: new JobStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), env.JOBS_TABLE, env.STALL_SECONDS * 1000),
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
    return await processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
  } finally {
    publishFigures(metrics);
  }
}
