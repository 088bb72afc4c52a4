import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { DEFAULT_DEDUPE_TTL_DAYS } from "../config/sections/object-stats";
import { ENVIRONMENT } from "../functions/object-stats/environment";
import { COUNT_ROUTE } from "../functions/object-stats/api";
import type { NotificationMode } from "../functions/object-stats/notifications";
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../functions/object-stats/table";
import { BundledFunction } from "./bundled-function";
import { EncryptedTopic, SNS_PUBLISHER_KMS_ACTIONS, snsTopicArn } from "./encrypted-topic";
import { policyDocument } from "../aws/iam";
import { LambdaHttpApi, type HttpApiAuthorization, type HttpApiCors } from "./lambda-http-api";
import { Partition } from "../aws/partition";

/** Async-invocation retries of the function (Lambda's maximum), then the dead-letter queue. */
export const FUNCTION_MAXIMUM_RETRY_ATTEMPTS = 2;
/** Seconds Lambda keeps retrying an event (its maximum: 6 hours). */
export const FUNCTION_MAXIMUM_EVENT_AGE_SECONDS = 21_600;
/** EventBridge's retries of the target when Lambda cannot take the event (throttled, unavailable). */
export const RULE_TARGET_MAXIMUM_RETRY_ATTEMPTS = 185;
export const RULE_TARGET_MAXIMUM_EVENT_AGE_SECONDS = 86_400;
/** Seconds a failed event stays in the dead-letter queue (SQS's maximum: 14 days). */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;

export interface ObjectStatsProps {
  /** Names the table, function, topic, queue and API. */
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  /** Buckets whose EventBridge events are counted; the first is `GET /count`'s default. */
  readonly buckets: readonly string[];
  readonly api: {
    readonly authorization: HttpApiAuthorization;
    readonly throttling: { readonly burstLimit: number; readonly rateLimit: number };
    readonly cors: HttpApiCors;
  };
  readonly notifications: {
    readonly mode: NotificationMode;
    /** Only read in `summary` mode. */
    readonly summaryWindowMinutes: number;
    readonly subscriberPrincipals: readonly string[];
  };
  /** @default DEFAULT_DEDUPE_TTL_DAYS */
  readonly dedupeTtlDays?: number;
  readonly lambda: { readonly runtime: string; readonly architecture: string; readonly logRetentionDays: number };
}

/**
 * Counters of objects created and removed: EventBridge rule on the buckets' S3 events → Lambda →
 * DynamoDB (atomic ADD, exactly once per event id), `GET /count` through an HTTP API, and an
 * encrypted SNS topic for notifications. Failed events end in a dead-letter queue.
 */
export class ObjectStats extends Construct {
  readonly table: DynamodbTable;
  readonly function: BundledFunction;
  readonly topic: EncryptedTopic;
  readonly api: LambdaHttpApi;
  readonly deadLetterQueue: SqsQueue;
  readonly eventRule: CloudwatchEventRule;
  /** The summary schedule (summary mode only). */
  readonly summaryRule?: CloudwatchEventRule;
  /** What must exist before anything invokes the function: all of its permissions. */
  private readonly readyToInvoke: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: ObjectStatsProps) {
    super(scope, id);
    const { name, notifications } = props;
    const dedupeTtlDays = props.dedupeTtlDays ?? DEFAULT_DEDUPE_TTL_DAYS;

    this.table = new DynamodbTable(this, "table", {
      name,
      billingMode: "PAY_PER_REQUEST",
      hashKey: PARTITION_KEY,
      rangeKey: SORT_KEY,
      attribute: [
        { name: PARTITION_KEY, type: "S" },
        { name: SORT_KEY, type: "S" },
      ],
      // Dedupe records expire; counter items have no expiry attribute and stay.
      ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      // Encrypted with the AWS managed key (aws/dynamodb) rather than the default AWS owned key.
      serverSideEncryption: { enabled: true },
    });

    this.deadLetterQueue = new SqsQueue(this, "dead-letters", {
      name: `${name}-dead-letters`,
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    });

    const topicArn = snsTopicArn(Partition.of(this), props.region, props.accountId, name);
    this.function = new BundledFunction(this, "function", {
      name: "object-stats",
      functionName: name,
      description: "s3-edge: counts objects created and removed; answers GET /count",
      runtime: props.lambda.runtime,
      architecture: props.lambda.architecture,
      logRetentionDays: props.lambda.logRetentionDays,
      environment: {
        [ENVIRONMENT.tableName]: this.table.name,
        [ENVIRONMENT.topicArn]: topicArn,
        [ENVIRONMENT.notificationMode]: notifications.mode,
        [ENVIRONMENT.monitoredBuckets]: Fn.join(",", [...props.buckets]),
        [ENVIRONMENT.dedupeTtlDays]: String(dedupeTtlDays),
      },
      policyStatements: [
        {
          // The counting protocol needs only single-item updates; reads are GetItem and Query.
          Sid: "CountersTable",
          Effect: "Allow",
          Action: ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"],
          Resource: this.table.arn,
        },
        { Sid: "FailedEvents", Effect: "Allow", Action: "sqs:SendMessage", Resource: this.deadLetterQueue.arn },
      ],
    });

    // The topic's key and policy name the function's role, so they come after it; the role's
    // permissions on them come in a second policy.
    this.topic = new EncryptedTopic(this, "notifications", {
      topicName: name,
      accountId: props.accountId,
      region: props.region,
      publisherRoleArns: [this.function.role.arn],
      subscriberPrincipals: notifications.subscriberPrincipals,
      dependsOn: [this.function.role],
    });
    const notifyPolicy = new IamRolePolicy(this, "notify-policy", {
      name: "notify",
      role: this.function.role.id,
      policy: policyDocument([
        { Sid: "Notify", Effect: "Allow", Action: "sns:Publish", Resource: this.topic.topic.arn },
        { Sid: "NotifyEncrypted", Effect: "Allow", Action: SNS_PUBLISHER_KMS_ACTIONS, Resource: this.topic.key.arn },
      ]),
    });
    this.readyToInvoke = [notifyPolicy];

    // EventBridge invokes Lambda asynchronously: Lambda retries a failed event, then records it here.
    new LambdaFunctionEventInvokeConfig(this, "async-invocation", {
      functionName: this.function.function.functionName,
      maximumRetryAttempts: FUNCTION_MAXIMUM_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: FUNCTION_MAXIMUM_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
    });

    this.eventRule = new CloudwatchEventRule(this, "s3-events", {
      name: `${name}-s3-events`,
      description: "s3-edge: S3 objects created and deleted in the monitored buckets",
      eventPattern: Fn.jsonencode({
        source: ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        detail: { bucket: { name: [...props.buckets] } },
      }),
    });
    this.invokeFrom(this.eventRule, "s3-events");

    if (notifications.mode === "summary") {
      const minutes = notifications.summaryWindowMinutes;
      this.summaryRule = new CloudwatchEventRule(this, "summary-schedule", {
        name: `${name}-summary`,
        description: "s3-edge: publishes the object counters' summary",
        scheduleExpression: `rate(${minutes} ${minutes === 1 ? "minute" : "minutes"})`,
      });
      this.invokeFrom(this.summaryRule, "summary-schedule");
    }

    const rules = [this.eventRule, ...(this.summaryRule ? [this.summaryRule] : [])];
    new SqsQueuePolicy(this, "dead-letters-policy", {
      queueUrl: this.deadLetterQueue.url,
      policy: policyDocument([
        {
          // Events EventBridge could not deliver to the function.
          Sid: "RuleTargetDeadLetters",
          Effect: "Allow",
          Principal: { Service: Partition.of(this).servicePrincipal("events") },
          Action: "sqs:SendMessage",
          Resource: this.deadLetterQueue.arn,
          Condition: { ArnEquals: { "aws:SourceArn": rules.map((rule) => rule.arn) } },
        },
      ]),
    });

    this.api = new LambdaHttpApi(this, "api", {
      apiName: name,
      handler: this.function.function,
      routes: [COUNT_ROUTE],
      authorization: props.api.authorization,
      throttling: props.api.throttling,
      cors: props.api.cors,
      accessLogRetentionDays: props.lambda.logRetentionDays,
    });
  }

  /** `GET /count` */
  get countUrl(): string {
    return `${this.api.endpoint}/count`;
  }

  private invokeFrom(rule: CloudwatchEventRule, id: string): void {
    new CloudwatchEventTarget(this, `${id}-target`, {
      rule: rule.name,
      arn: this.function.function.arn,
      dependsOn: this.readyToInvoke,
      deadLetterConfig: { arn: this.deadLetterQueue.arn },
      retryPolicy: {
        maximumRetryAttempts: RULE_TARGET_MAXIMUM_RETRY_ATTEMPTS,
        maximumEventAgeInSeconds: RULE_TARGET_MAXIMUM_EVENT_AGE_SECONDS,
      },
    });
    new LambdaPermission(this, `${id}-invoke`, {
      statementId: `AllowEventBridge-${id}`,
      action: "lambda:InvokeFunction",
      functionName: this.function.function.functionName,
      principal: Partition.of(this).servicePrincipal("events"),
      sourceArn: rule.arn,
    });
  }
}
