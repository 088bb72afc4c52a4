import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { BucketCounts, StoredCounts, SummarySnapshot } from "./counters";
import type { ObjectChange } from "./events";

/** `per-change`: one message per counted change; `summary`: one message per bucket per window with changes. */
export type NotificationMode = "per-change" | "summary";
export const NOTIFICATION_MODES: readonly NotificationMode[] = ["per-change", "summary"];

export interface Notification {
  /** SNS subjects are at most 100 ASCII characters: bucket names (≤ 63) fit. */
  readonly subject: string;
  readonly message: Record<string, unknown>;
  /** For subscription filter policies. */
  readonly attributes: Readonly<Record<string, string>>;
}

export function changeNotification(change: ObjectChange): Notification {
  return {
    subject: `s3-edge: object ${change.kind} in ${change.bucket}`,
    message: {
      type: "object-change",
      change: change.kind,
      bucket: change.bucket,
      key: change.key,
      prefix: change.prefix,
      bytes: change.bytes,
      reason: change.reason,
      time: change.time,
      eventId: change.eventId,
    },
    attributes: { type: "object-change", bucket: change.bucket, change: change.kind },
  };
}

const difference = (now: StoredCounts, before: StoredCounts | undefined): StoredCounts => ({
  created: now.created - (before?.created ?? 0),
  removed: now.removed - (before?.removed ?? 0),
  bytes: now.bytes - (before?.bytes ?? 0),
});

const isZero = (counts: StoredCounts) => counts.created === 0 && counts.removed === 0 && counts.bytes === 0;

/**
 * The summary of a window: what changed since the previous summary (per bucket and per prefix that
 * changed) and the totals now, or undefined when nothing changed.
 */
export function summaryNotification(
  counts: BucketCounts,
  previous: SummarySnapshot | undefined,
  window: { readonly eventId: string; readonly time: string },
): { notification: Notification; snapshot: SummarySnapshot } | undefined {
  const total = { created: counts.created, removed: counts.removed, bytes: counts.bytes };
  const change = difference(total, previous?.total);
  if (isZero(change)) return undefined;
  const prefixes: Record<string, StoredCounts> = {};
  const changedPrefixes: Record<string, StoredCounts> = {};
  for (const [prefix, { created, removed, bytes }] of Object.entries(counts.prefixes)) {
    prefixes[prefix] = { created, removed, bytes };
    const delta = difference(prefixes[prefix], previous?.prefixes[prefix]);
    if (!isZero(delta)) changedPrefixes[prefix] = delta;
  }
  return {
    notification: {
      subject: `s3-edge: objects changed in ${counts.bucket}`,
      message: {
        type: "summary",
        bucket: counts.bucket,
        since: previous?.time ?? null,
        until: window.time,
        change,
        changeByPrefix: changedPrefixes,
        total: { ...total, live: counts.live },
      },
      attributes: { type: "summary", bucket: counts.bucket },
    },
    snapshot: { total, prefixes, eventId: window.eventId, time: window.time },
  };
}

export async function publish(sns: SNSClient, topicArn: string, notification: Notification): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: notification.subject,
      Message: JSON.stringify(notification.message),
      MessageAttributes: Object.fromEntries(
        Object.entries(notification.attributes).map(([name, value]) => [
          name,
          { DataType: "String", StringValue: value },
        ]),
      ),
    }),
  );
}
