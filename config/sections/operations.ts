import { z } from "zod";
import { SQS_MAX_MESSAGE_RETENTION_SECONDS } from "../aws-facts";
import { ARN_PARTITION, region } from "../primitives";

/** Alarm thresholds: each alarm of docs/operations.md reads one of these. */
export const DEFAULT_ALARM_THRESHOLDS = {
  /** The backfill queue's oldest message is older than this (seconds): the workers do not keep up. */
  backfillOldestMessageAgeSeconds: 3_600,
  /** Errors of one Lambda function in 5 minutes. */
  lambdaErrors: 1,
  /** Throttled invocations of one Lambda function in 5 minutes. */
  lambdaThrottles: 5,
  /** Percentage of image requests answered 5xx over 5 minutes. */
  image5xxPercent: 5,
  /** Image requests turned away as busy (ECS) in 5 minutes. */
  imageBusyRejections: 10,
  /** Minutes the ECS image service may run fewer tasks than desired. */
  ecsTasksBelowDesiredMinutes: 10,
  /** CloudFront 5xx error rate (percent) of a distribution over 5 minutes, two periods in a row. */
  cloudfront5xxPercent: 5,
  /** Invalidation batches that failed after every retry, in 5 minutes. */
  invalidationFailures: 1,
} as const;

const snsTopicArn = z
  .string()
  .regex(
    new RegExp(`^arn:${ARN_PARTITION}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}$`),
    "must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
  );

const thresholds = z.strictObject({
  backfillOldestMessageAgeSeconds: z
    .int()
    .min(60)
    .max(SQS_MAX_MESSAGE_RETENTION_SECONDS)
    .default(DEFAULT_ALARM_THRESHOLDS.backfillOldestMessageAgeSeconds),
  lambdaErrors: z.int().min(1).default(DEFAULT_ALARM_THRESHOLDS.lambdaErrors),
  lambdaThrottles: z.int().min(1).default(DEFAULT_ALARM_THRESHOLDS.lambdaThrottles),
  image5xxPercent: z.number().gt(0).max(100).default(DEFAULT_ALARM_THRESHOLDS.image5xxPercent),
  imageBusyRejections: z.int().min(1).default(DEFAULT_ALARM_THRESHOLDS.imageBusyRejections),
  ecsTasksBelowDesiredMinutes: z.int().min(1).max(1_440).default(DEFAULT_ALARM_THRESHOLDS.ecsTasksBelowDesiredMinutes),
  cloudfront5xxPercent: z.number().gt(0).max(100).default(DEFAULT_ALARM_THRESHOLDS.cloudfront5xxPercent),
  invalidationFailures: z.int().min(1).default(DEFAULT_ALARM_THRESHOLDS.invalidationFailures),
});

/** Alarms, where they notify, the dashboard (every stack; topics in storage-replication, dashboard in `operations`). */
export const operationsSection = z.strictObject({
  /** Addresses subscribed to the ops topics s3-edge creates (each confirms by e-mail once per topic). */
  emails: z.array(z.email({ error: "must be an e-mail address" })).default([]),
  /**
   * Existing SNS topics by region: alarms of that region notify it, and no topic is created there.
   * Regions without one get an encrypted `<namePrefix>-ops` topic.
   */
  topicArns: z
    .partialRecord(region, snsTopicArn)
    .default({})
    .superRefine((topics, ctx) => {
      for (const [topicRegion, arn] of Object.entries(topics)) {
        const arnRegion = arn.split(":")[3];
        if (arnRegion !== topicRegion) {
          ctx.addIssue({
            code: "custom",
            path: [topicRegion],
            message: `the topic is in ${arnRegion}, not ${topicRegion}: an alarm can only notify a topic of its own region`,
          });
        }
      }
    }),
  /**
   * CloudFront additional metrics (cache hit rate, origin latency, error rates by status) for every
   * distribution: an `aws_cloudfront_monitoring_subscription` each, billed per metric per month.
   */
  cloudfrontAdditionalMetrics: z.boolean().default(false),
  alarmThresholds: thresholds.prefault({}),
});

export type OperationsConfig = z.output<typeof operationsSection>;
export type AlarmThresholds = OperationsConfig["alarmThresholds"];
