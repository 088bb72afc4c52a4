import type { Logger } from "@aws-lambda-powertools/logger";
import type { SNSClient } from "@aws-sdk/client-sns";
import { answerCountRequest, type CountRequest, type CountResponseBody } from "./api";
import type { CounterStore } from "./counters";
import { ObjectStatsError } from "./errors";
import { changeFromEvent } from "./events";
import type { NotificationMode } from "./environment";
import { changeNotification, publish, summaryNotification } from "./notifications";

export type Log = Pick<Logger, "debug" | "info" | "warn" | "error">;

export interface ObjectStatsDependencies {
  readonly store: CounterStore;
  readonly sns: SNSClient;
  readonly topicArn: string;
  readonly mode: NotificationMode;
  /** Monitored buckets; the first is what `GET /count` reports by default. */
  readonly buckets: readonly string[];
  readonly logger: Log;
}

export type EventResult = "counted" | "duplicate" | "ignored";

/**
 * Counts one S3 event from EventBridge. Throws `ObjectStatsError("malformed-event")` for an event
 * that can never be counted and `("event-in-progress")` while another delivery holds it.
 */
export async function countS3Event(
  event: unknown,
  deps: ObjectStatsDependencies,
  leaseMs: number,
): Promise<EventResult> {
  const outcome = changeFromEvent(event);
  if (outcome.type === "ignored") {
    deps.logger.info("event does not change the counters", { eventId: outcome.eventId, why: outcome.why });
    return "ignored";
  }
  const { change } = outcome;
  const result = await deps.store.count(change, {
    leaseMs,
    afterCount:
      deps.mode === "per-change" ? () => publish(deps.sns, deps.topicArn, changeNotification(change)) : undefined,
  });
  deps.logger.info(result === "counted" ? "counted" : "duplicate delivery, already counted", {
    eventId: change.eventId,
    bucket: change.bucket,
    prefix: change.prefix,
    change: change.kind,
  });
  return result;
}

/** The summary-mode schedule: one message per monitored bucket whose counters changed since the last one. */
export async function publishSummaries(
  window: { readonly eventId: string; readonly time: string },
  deps: ObjectStatsDependencies,
): Promise<number> {
  let published = 0;
  for (const bucket of deps.buckets) {
    const { counts, summary: previous } = await deps.store.readBucket(bucket);
    if (previous?.eventId === window.eventId) continue; // a redelivered schedule event
    const summary = summaryNotification(counts, previous, window);
    if (!summary) continue;
    // Publish first, then record: a crash in between repeats a summary rather than losing one.
    await publish(deps.sns, deps.topicArn, summary.notification);
    if (await deps.store.saveSummary(bucket, summary.snapshot)) published++;
  }
  deps.logger.info("summaries published", { published, window: window.time });
  return published;
}

export async function answerCount(request: CountRequest, deps: ObjectStatsDependencies): Promise<CountResponseBody> {
  return answerCountRequest(request, {
    buckets: deps.buckets,
    reader: {
      readTotal: (bucket) => deps.store.readTotal(bucket),
      readPrefixPage: (bucket, limit, after) => deps.store.readPrefixPage(bucket, limit, after),
      readPrefix: (bucket, prefix) => deps.store.readPrefix(bucket, prefix),
    },
  });
}

/** A scheduled event from the summary rule (EventBridge "Scheduled Event"). */
export function scheduleWindow(event: unknown): { eventId: string; time: string } | undefined {
  const e = event as Record<string, unknown> | null;
  if (e?.source !== "aws.events" || e["detail-type"] !== "Scheduled Event") return undefined;
  if (typeof e.id !== "string" || typeof e.time !== "string")
    throw new ObjectStatsError("malformed-event", "scheduled event without id or time");
  return { eventId: e.id, time: e.time };
}
