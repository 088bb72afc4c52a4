import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import { ObjectStats } from "../constructs/object-stats";
import { OperationsAlarms } from "../constructs/operations-alarms";
import type { BucketReference } from "../contracts/cross-stack";

export const OBJECT_STATS_STACK_ID = "object-stats";

export interface ObjectStatsStackProps {
  /** The primary bucket (from storage-replication): always monitored, `GET /count`'s default. */
  readonly primary: BucketReference;
  /** Region → ops topic ARN (storage-replication's). */
  readonly opsTopicArns: Readonly<Record<string, string>>;
}

/** Object counters, `GET /count` and notifications, in the primary region. */
export class ObjectStatsStack extends S3EdgeStack {
  /** `https://<api id>.execute-api.<region>.amazonaws.com/count` */
  readonly countUrl: string;
  readonly topicArn: string;
  readonly tableName: string;
  readonly functionName: string;
  readonly deadLetterQueueName: string;

  constructor(scope: Construct, config: S3EdgeConfig, props: ObjectStatsStackProps) {
    super(scope, OBJECT_STATS_STACK_ID, config, config.primaryRegion);
    const { objectStats } = config;

    const stats = new ObjectStats(this, "object-stats", {
      name: `${config.namePrefix}-object-stats`,
      accountId: new DataAwsCallerIdentity(this, "account").accountId,
      region: config.primaryRegion,
      buckets: [props.primary.name, ...objectStats.monitoredBuckets],
      api: objectStats.api,
      notifications: objectStats.notifications,
      dedupeTtlDays: objectStats.dedupeTtlDays,
      lambda: config.lambda,
    });

    this.functionName = stats.function.function.functionNameInput!;
    this.deadLetterQueueName = stats.deadLetterQueue.nameInput!;
    const alarms = new OperationsAlarms(this, "alarms", {
      topicArn: props.opsTopicArns[config.primaryRegion],
      thresholds: config.operations.alarmThresholds,
    });
    alarms.functionsIn(stats);
    alarms.deadLetterQueue("object-stats", this.deadLetterQueueName, "S3 events that could not be counted");

    this.countUrl = stats.countUrl;
    this.topicArn = stats.topic.topic.arn;
    this.tableName = stats.table.name;
    new TerraformOutput(this, "count_url", { value: this.countUrl });
    new TerraformOutput(this, "topic_arn", { value: this.topicArn });
    new TerraformOutput(this, "table_name", { value: this.tableName });
    new TerraformOutput(this, "dead_letter_queue_url", { value: stats.deadLetterQueue.url });
  }
}
