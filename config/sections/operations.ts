import { z } from "zod";
import { ARN_PARTITION, type FieldDocs, region } from "../primitives";

/** Alarm thresholds: each alarm of docs/operations.md reads one of these (described in the schema below). */
export const DEFAULT_ALARM_THRESHOLDS = {
  backfillOldestMessageAgeSeconds: 3_600,
  lambdaErrors: 1,
  lambdaThrottles: 5,
  image5xxPercent: 5,
  imageBusyRejections: 10,
  ecsTasksBelowDesiredMinutes: 10,
  cloudfront5xxPercent: 5,
  invalidationFailures: 1,
} as const;

const snsTopicArn = z
  .string()
  .regex(
    new RegExp(`^arn:${ARN_PARTITION}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}$`),
    "must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
  )
  .meta({ typeLabel: "SNS topic ARN" } satisfies FieldDocs);

const thresholds = z.strictObject({
  backfillOldestMessageAgeSeconds: z
    .int()
    .min(60)
    .max(1_209_600)
    .default(DEFAULT_ALARM_THRESHOLDS.backfillOldestMessageAgeSeconds)
    .meta({
      description: "the backfill queue's oldest message is older than this many seconds: the workers do not keep up",
    }),
  lambdaErrors: z
    .int()
    .min(1)
    .default(DEFAULT_ALARM_THRESHOLDS.lambdaErrors)
    .meta({ description: "errors of one Lambda function in 5 minutes" }),
  lambdaThrottles: z
    .int()
    .min(1)
    .default(DEFAULT_ALARM_THRESHOLDS.lambdaThrottles)
    .meta({ description: "throttled invocations of one Lambda function in 5 minutes" }),
  image5xxPercent: z
    .number()
    .gt(0)
    .max(100)
    .default(DEFAULT_ALARM_THRESHOLDS.image5xxPercent)
    .meta({ description: "percentage of image requests answered 5xx over 5 minutes" }),
  imageBusyRejections: z
    .int()
    .min(1)
    .default(DEFAULT_ALARM_THRESHOLDS.imageBusyRejections)
    .meta({ description: "image requests turned away as busy (ECS) in 5 minutes" }),
  ecsTasksBelowDesiredMinutes: z
    .int()
    .min(1)
    .max(1_440)
    .default(DEFAULT_ALARM_THRESHOLDS.ecsTasksBelowDesiredMinutes)
    .meta({ description: "minutes the ECS image service may run fewer tasks than desired" }),
  cloudfront5xxPercent: z
    .number()
    .gt(0)
    .max(100)
    .default(DEFAULT_ALARM_THRESHOLDS.cloudfront5xxPercent)
    .meta({ description: "5xx error rate (percent) of a distribution over 5 minutes, two periods in a row" }),
  invalidationFailures: z
    .int()
    .min(1)
    .default(DEFAULT_ALARM_THRESHOLDS.invalidationFailures)
    .meta({ description: "invalidation batches that failed after every retry, in 5 minutes" }),
});

export const operationsSection = z
  .strictObject({
    emails: z
      .array(z.email({ error: "must be an e-mail address" }))
      .default([])
      .meta({ description: "subscribed to the ops topics s3-edge creates (each confirms by e-mail once per topic)" }),
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
      })
      .meta({
        description:
          "existing SNS topics by region: alarms of that region notify it and no topic is created there; other regions get an encrypted `<namePrefix>-ops` topic",
      }),
    cloudfrontAdditionalMetrics: z.boolean().default(false).meta({
      description:
        "CloudFront additional metrics (cache hit rate, origin latency, error rates by status) for every distribution, on the dashboard: an `aws_cloudfront_monitoring_subscription` each, billed per metric per month",
    }),
    alarmThresholds: thresholds
      .prefault({})
      .meta({ description: "each alarm of docs/operations.md reads one of these" }),
  })
  .meta({
    description:
      "alarms, where they notify, the dashboard (topics in storage-replication, dashboard in the `operations` stack; docs/operations.md)",
  });

export type OperationsConfig = z.output<typeof operationsSection>;
export type AlarmThresholds = OperationsConfig["alarmThresholds"];
