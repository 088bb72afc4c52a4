/** Environment the stack sets on the function. */
export const ENVIRONMENT = {
  tableName: "TABLE_NAME",
  topicArn: "TOPIC_ARN",
  notificationMode: "NOTIFICATION_MODE",
  /** Comma-separated; the first is the default bucket of `GET /count`. */
  monitoredBuckets: "MONITORED_BUCKETS",
  dedupeTtlDays: "DEDUPE_TTL_DAYS",
} as const;
