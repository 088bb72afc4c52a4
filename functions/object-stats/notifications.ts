import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { SNS_MAX_MESSAGE_BYTES } from "../../config/aws-facts";
import type { BucketCounts, StoredCounts, SummarySnapshot } from "./counters";
import type { ObjectChange } from "./events";

/** `per-change`: one message per counted change; `summary`: one message per bucket per window with changes. */

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
  unmatchedRemovals: now.unmatchedRemovals - (before?.unmatchedRemovals ?? 0),
});

const isZero = (counts: StoredCounts) =>
  counts.created === 0 && counts.removed === 0 && counts.bytes === 0 && counts.unmatchedRemovals === 0;
const stored = ({ created, removed, bytes, unmatchedRemovals }: StoredCounts): StoredCounts => ({
  created,
  removed,
  bytes,
  unmatchedRemovals,
});
/** How much a prefix changed, for ordering: the busiest prefixes are reported first. */
const magnitude = (delta: StoredCounts) =>
  Math.abs(delta.created) + Math.abs(delta.removed) + Math.abs(delta.unmatchedRemovals);

/**
 * Bytes a summary message may take: SNS's limit less room for the subject, the attributes and
 * the count of prefixes left out.
 */
export const SUMMARY_MESSAGE_MAX_BYTES = SNS_MAX_MESSAGE_BYTES - 2_048;

/**
 * The summary of a window: what changed since the previous summary (per bucket and per prefix that
 * changed) and the totals now, or undefined when nothing changed. A bucket with more changed
 * prefixes than fit in one SNS message lists the busiest ones and counts the rest in
 * `prefixesLeftOut` (`GET /count` has them all).
 */
export function summaryNotification(
  counts: BucketCounts,
  previous: SummarySnapshot | undefined,
  window: { readonly eventId: string; readonly time: string },
  maxBytes = SUMMARY_MESSAGE_MAX_BYTES,
): { notification: Notification; snapshot: SummarySnapshot } | undefined {
  const total = stored(counts);
  const change = difference(total, previous?.total);
  if (isZero(change)) return undefined;
  const prefixes: Record<string, StoredCounts> = {};
  const changed: Array<[string, StoredCounts]> = [];
  for (const [prefix, prefixCounts] of Object.entries(counts.prefixes)) {
    prefixes[prefix] = stored(prefixCounts);
    const delta = difference(prefixes[prefix], previous?.prefixes[prefix]);
    if (!isZero(delta)) changed.push([prefix, delta]);
  }
  changed.sort(([a, x], [b, y]) => magnitude(y) - magnitude(x) || (a < b ? -1 : a > b ? 1 : 0));
  const message = {
    type: "summary",
    bucket: counts.bucket,
    since: previous?.time ?? null,
    until: window.time,
    change,
    changeByPrefix: {} as Record<string, StoredCounts>,
    prefixesLeftOut: 0,
    total: { ...total, live: counts.live },
  };
  // Grow the listing entry by entry while the message stays under the limit.
  let size = Buffer.byteLength(JSON.stringify(message));
  for (const [index, [prefix, delta]] of changed.entries()) {
    const entry = Buffer.byteLength(`${JSON.stringify(prefix)}:${JSON.stringify(delta)},`);
    if (size + entry > maxBytes) {
      message.prefixesLeftOut = changed.length - index;
      break;
    }
    message.changeByPrefix[prefix] = delta;
    size += entry;
  }
  return {
    notification: {
      subject: `s3-edge: objects changed in ${counts.bucket}`,
      message,
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
