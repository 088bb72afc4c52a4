/**
 * The object-stats function's contract with its construct (constructs/object-stats.ts): the
 * environment variables the construct sets and how the handler reads them.
 */
import * as z from "zod/mini";
import { variable } from "../shared/environment";

/** `per-change`: a message per counted change; `summary`: one per bucket per window that changed. */
export const NOTIFICATION_MODES = ["per-change", "summary"] as const;
export type NotificationMode = (typeof NOTIFICATION_MODES)[number];
export const DEFAULT_NOTIFICATION_MODE: NotificationMode = "per-change";
/**
 * Days a redelivered event is still recognized. EventBridge retries a target for up to 24 hours
 * and Lambda retries an asynchronous event for up to 6 more, so anything under 2 days could let a
 * late retry count twice.
 */
export const DEFAULT_DEDUPE_TTL_DAYS = 7;

/** Environment the stack sets on the function. */
export const ENVIRONMENT = {
  tableName: "TABLE_NAME",
  topicArn: "TOPIC_ARN",
  notificationMode: "NOTIFICATION_MODE",
  /** Comma-separated; the first is the default bucket of `GET /count`. */
  monitoredBuckets: "MONITORED_BUCKETS",
  dedupeTtlDays: "DEDUPE_TTL_DAYS",
} as const;

/** How the handler reads each variable (functions/shared/environment.ts). */
export const ENVIRONMENT_FIELDS = {
  tableName: variable.text(),
  topicArn: variable.text(),
  notificationMode: variable.oneOf(NOTIFICATION_MODES),
  monitoredBuckets: z.pipe(
    variable.text(),
    z.transform((value: string) => value.split(",")),
  ),
  dedupeTtlDays: variable.integer({ min: 1 }),
};
