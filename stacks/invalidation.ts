import { DataAwsCloudfrontDistribution } from "@cdktf/provider-aws/lib/data-aws-cloudfront-distribution";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import { AutomaticInvalidation } from "../constructs/automatic-invalidation";
import { OperationsAlarms } from "../constructs/operations-alarms";
import type { InvalidationFunctionRef } from "../constructs/operations-dashboard";

export const INVALIDATION_STACK_ID = "invalidation";

/** Whether the config names buckets and distributions s3-edge does not own to invalidate. */
export const needsInvalidationStack = (config: S3EdgeConfig) => config.standaloneInvalidation.length > 0;

/**
 * Automatic invalidation for buckets and distributions that s3-edge does not own
 * (`standaloneInvalidation`): per target, the same pipeline as s3-edge's own distributions
 * (EventBridge rule of the bucket → SQS → batching, planning function), in the bucket's region,
 * where S3 delivers its events. It changes neither the bucket nor the distribution (it reads the
 * distribution's ARN); the bucket's owner turns on its EventBridge notifications (the
 * `<name>_enable_eventbridge_command` output). Its alarms (dead letters, errors, failed
 * invalidations) notify the ops topic of the target's region, from storage-replication.
 */
export interface InvalidationStackProps {
  /** Region → ops topic ARN; covers every target region (see `opsTopicRegions`). */
  readonly opsTopicArns: Readonly<Record<string, string>>;
}

export class InvalidationStack extends S3EdgeStack {
  /** The planning functions and their regions, for the dashboard. */
  readonly functions: InvalidationFunctionRef[] = [];

  constructor(scope: Construct, config: S3EdgeConfig, props: InvalidationStackProps) {
    super(scope, INVALIDATION_STACK_ID, config, config.primaryRegion);
    // Each pipeline names its provider, the default one included.
    const providerFor = (region: string) => this.providerIn(region) ?? this.defaultProvider;
    for (const target of config.standaloneInvalidation) {
      // Read, never managed: a mistyped id fails the plan instead of every invalidation.
      const distribution = new DataAwsCloudfrontDistribution(this, `${target.name}-distribution`, {
        id: target.distributionId,
      });
      const pipeline = new AutomaticInvalidation(this, target.name, {
        provider: providerFor(target.region),
        namePrefix: `${config.namePrefix}-${target.name}`,
        distributionId: target.distributionId,
        distributionArn: distribution.arn,
        sourceBucketName: target.bucket,
        keyFilters: target,
        queryStringVariants: target.queryStringVariants,
        batchingWindowSeconds: target.batchingWindowSeconds,
        batchSize: target.batchSize,
        exactPathLimit: target.exactPathLimit,
        runtime: config.lambda.runtime,
        architecture: config.lambda.architecture,
        logRetentionDays: config.lambda.logRetentionDays,
      });
      const functionName = pipeline.function.function.functionNameInput!;
      this.functions.push({ name: functionName, region: target.region });
      const alarms = new OperationsAlarms(this, `${target.name}-alarms`, {
        provider: providerFor(target.region),
        topicArn: props.opsTopicArns[target.region],
        thresholds: config.operations.alarmThresholds,
      });
      alarms.functionsIn(pipeline);
      alarms.deadLetterQueue(target.name, pipeline.deadLetterQueue.nameInput!, "Changes that could not be invalidated");
      alarms.invalidationFailures(target.name, functionName);
      const output = target.name.replace(/-/g, "_");
      new TerraformOutput(this, `${output}_dead_letter_queue_url`, { value: pipeline.deadLetterQueue.url });
      new TerraformOutput(this, `${output}_enable_eventbridge_command`, {
        description: `Run once (bucket owner) so that ${target.bucket} sends its events to EventBridge; it keeps the bucket's other notifications`,
        value: enableEventBridgeCommand(target.bucket, target.region),
      });
    }
  }
}

/**
 * Turns on a bucket's EventBridge delivery. S3 keeps one notification configuration per bucket,
 * so Terraform owning it (aws_s3_bucket_notification) would replace what the owner configured:
 * the command merges instead (jq adds `EventBridgeConfiguration` to the current configuration).
 */
function enableEventBridgeCommand(bucket: string, region: string): string {
  const get = `aws s3api get-bucket-notification-configuration --bucket ${bucket} --region ${region}`;
  const put = `aws s3api put-bucket-notification-configuration --bucket ${bucket} --region ${region} --notification-configuration file:///dev/stdin`;
  // An empty configuration prints nothing: `-s` and `.[0] // {}` start from `{}` then.
  return `${get} | jq -s '(.[0] // {}) + {EventBridgeConfiguration: {}}' | ${put}`;
}
