/**
 * Lambda handler: SQS batch of EventBridge S3 events → (without the migration's own creations) one
 * CloudFront invalidation. Records that cannot be read, or whose invalidation failed, go back to
 * SQS as partial batch failures (and after maxReceiveCount to the DLQ).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { invalidateChanges, objectChange, settingsFrom, type ObjectChange } from "./invalidate";
import { excludeMigrationWrites, MIGRATION_CHECK_BUDGET_MS } from "./migration";

const logger = new Logger({ serviceName: "invalidate" });
const client = new CloudFrontClient({});
const s3 = new S3Client({});
const processor = new BatchProcessor(EventType.SQS);
const settings = settingsFrom(process.env);

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const unreadable = new Map<string, Error>();
  const changes: ObjectChange[] = [];
  for (const record of event.Records) {
    try {
      changes.push(objectChange(record.messageId, record.body));
    } catch (error) {
      unreadable.set(record.messageId, error as Error);
      logger.error("unreadable record", { messageId: record.messageId, error: error as Error });
    }
  }
  const migration = settings.migrationBucket
    ? await excludeMigrationWrites(changes, {
        s3,
        bucket: settings.migrationBucket,
        // A quarter of what is left at most: the rest is for CreateInvalidation and its retries.
        budgetMs: Math.min(MIGRATION_CHECK_BUDGET_MS, context.getRemainingTimeInMillis() / 4),
      })
    : { invalidate: changes, skipped: [], checked: 0, failed: 0 };
  const summary = {
    records: event.Records.length,
    unreadable: unreadable.size,
    skippedMigrationWrites: migration.skipped.length,
    migrationChecks: migration.checked,
    migrationCheckFailures: migration.failed,
  };
  const toInvalidate = new Set(migration.invalidate.map((change) => change.messageId));
  let failure: Error | undefined;
  if (migration.invalidate.length > 0) {
    try {
      const result = await invalidateChanges(migration.invalidate, {
        client,
        distributionId: settings.distributionId,
        plan: settings.plan,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      });
      logger.info("invalidation created", {
        ...summary,
        invalidated: migration.invalidate.length,
        ...result,
        paths: result.paths.length,
      });
    } catch (error) {
      failure = error as Error;
      logger.error("invalidation failed", { ...summary, invalidated: migration.invalidate.length, error: failure });
    }
  } else {
    logger.info("nothing to invalidate", summary);
  }
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const error = unreadable.get(record.messageId) ?? (toInvalidate.has(record.messageId) ? failure : undefined);
      if (error) throw error;
    },
    processor,
    { context },
  );
}
