import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SWEEPER_ENVIRONMENT, SWEEPER_ENVIRONMENT_FIELDS } from "../shared/backfill-environment";
import { JobStore } from "../shared/backfill-jobs";
import { readEnvironment } from "../shared/environment";
import { JobQueue } from "../shared/job-queue";
import { sweep, type SweepResult } from "./sweep";

const env = readEnvironment(SWEEPER_ENVIRONMENT, SWEEPER_ENVIRONMENT_FIELDS, process.env);
const logger = new Logger({ serviceName: "backfill-sweeper" });
const deps = {
  jobs: new JobStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), env.jobsTable, env.stallSeconds * 1000),
  queue: new JobQueue(new SQSClient({}), env.queueUrl),
  s3: new S3Client({}),
  bucket: env.destinationBucket,
  logger,
};

/** Scheduled (EventBridge, every 5 minutes): re-drives stalled backfill jobs. */
export const handler = async (): Promise<SweepResult> => {
  const result = await sweep(deps);
  logger.info("sweep done", { ...result });
  return result;
};
