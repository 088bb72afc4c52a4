/**
 * Lambda handler: SQS batch of EventBridge S3 events → one CloudFront invalidation. Records that
 * cannot be read, or whose invalidation failed, go back to SQS as partial batch failures (and
 * after maxReceiveCount to the DLQ).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { createMetrics, INVALIDATION_METRICS, MetricUnit, publishFigures } from "../shared/metrics";
import { changedKey, invalidateChanges, settingsFrom, type ChangedKey } from "./invalidate";

const logger = new Logger({ serviceName: "invalidate" });
const metrics = createMetrics();
const client = new CloudFrontClient({});
const processor = new BatchProcessor(EventType.SQS);
const settings = settingsFrom(process.env);

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  try {
    return await invalidateBatch(event, context);
  } finally {
    publishFigures(metrics);
  }
}

async function invalidateBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const unreadable = new Map<string, Error>();
  const changes: ChangedKey[] = [];
  for (const record of event.Records) {
    try {
      changes.push({ messageId: record.messageId, key: changedKey(record.body) });
    } catch (error) {
      unreadable.set(record.messageId, error as Error);
      logger.error("unreadable record", { messageId: record.messageId, error: error as Error });
    }
  }
  metrics.addMetric(INVALIDATION_METRICS.keysSeen, MetricUnit.Count, changes.length);
  if (unreadable.size > 0) metrics.addMetric(INVALIDATION_METRICS.unreadable, MetricUnit.Count, unreadable.size);
  let failure: Error | undefined;
  if (changes.length > 0) {
    try {
      const result = await invalidateChanges(changes, {
        client,
        distributionId: settings.distributionId,
        plan: settings.plan,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      });
      logger.info("invalidation created", { keys: changes.length, ...result, paths: result.paths.length });
      metrics.addMetric(INVALIDATION_METRICS.invalidations, MetricUnit.Count, 1);
      metrics.addMetric(INVALIDATION_METRICS.paths, MetricUnit.Count, result.paths.length);
      metrics.addMetric(
        INVALIDATION_METRICS.wildcards,
        MetricUnit.Count,
        result.paths.filter((path) => path.endsWith("*")).length,
      );
      metrics.addMetric(INVALIDATION_METRICS.retries, MetricUnit.Count, result.attempts - 1);
    } catch (error) {
      failure = error as Error;
      metrics.addMetric(INVALIDATION_METRICS.failures, MetricUnit.Count, 1);
      logger.error("invalidation failed", { keys: changes.length, error: failure });
    }
  }
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const error = unreadable.get(record.messageId) ?? failure;
      if (error) throw error;
    },
    processor,
    { context },
  );
}
