import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import {
  EVENTBRIDGE_MAX_EVENT_AGE_SECONDS,
  EVENTBRIDGE_MAX_RETRY_ATTEMPTS,
  SQS_MAX_MESSAGE_RETENTION_SECONDS,
} from "../config/aws-facts";
import { invalidationEventPattern, type KeyFilters } from "../config/sections/invalidation";
import { ENVIRONMENT } from "../functions/invalidate/environment";
import { DEFAULT_EXACT_PATH_LIMIT } from "../functions/invalidate/plan";
import { BundledFunction } from "./bundled-function";
import { eventBridgeDeadLetterStatement } from "./event-dead-letter";
import type { FunctionBundler } from "../packaging/bundle";
import { policyDocument, type PolicyStatement } from "../aws/iam";
import { Partition } from "../aws/partition";
import { DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS, DEFAULT_INVALIDATION_BATCH_SIZE } from "./defaults";

/** Enough for the retries with backoff of a busy distribution (see functions/invalidate). */
export const INVALIDATION_FUNCTION_TIMEOUT_SECONDS = 120;
/** Deliveries of a message before it moves to the dead-letter queue. */
export const INVALIDATION_MAX_RECEIVE_COUNT = 5;
/**
 * Concurrent invocations the queue may drive (the smallest value SQS event sources accept): few
 * concurrent invalidations keep CloudFront's in-progress limits (15 wildcards) in reach and let
 * each batch grow.
 */
export const INVALIDATION_MAX_CONCURRENCY = 2;

export interface AutomaticInvalidationProps {
  /** Prefix of the queue, rule and function names (`<namePrefix>-invalidate`). */
  readonly namePrefix: string;
  /** The distribution to invalidate. */
  readonly distributionId: string;
  readonly distributionArn: string;
  /**
   * The bucket whose EventBridge events (INVALIDATING_EVENT_TYPES: Object Created, Object Deleted,
   * Object Restore Completed) trigger invalidation.
   */
  readonly sourceBucketName: string;
  /**
   * Only keys with one of these prefixes (when any) and one of these suffixes (when any) invalidate;
   * the rule's pattern applies them.
   * @default every key
   */
  readonly keyFilters?: KeyFilters;
  /**
   * The source bucket when the migration writes into it (a legacy origin is configured): the
   * function reads the migration-write marker of each created version (one HEAD per key) and
   * skips the migration's own creations.
   * @default no check: every change invalidates
   */
  readonly migrationBucket?: MigrationBucket;
  /**
   * Seconds SQS gathers events before invoking the function (1 to 300).
   * @default DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS
   */
  readonly batchingWindowSeconds?: number;
  /**
   * Most messages per invocation (1 to 10,000; Lambda also caps a batch at 6 MB).
   * @default DEFAULT_INVALIDATION_BATCH_SIZE
   */
  readonly batchSize?: number;
  /**
   * Up to this many changed keys get exact paths; more are collapsed into `prefix/*`.
   * @default DEFAULT_EXACT_PATH_LIMIT
   */
  readonly exactPathLimit?: number;
  /**
   * Invalidate `/key*` to cover query-string variants (a distribution whose cache key includes the
   * query string, like the image distribution).
   * @default false
   */
  readonly queryStringVariants?: boolean;
  /** Provider of the bucket's region (EventBridge delivers S3 events in the bucket's region). */
  readonly provider?: TerraformProvider;
  readonly runtime?: string;
  readonly architecture?: string;
  readonly logRetentionDays?: number;
  /** @default the bundler shared by every stack of the synth */
  readonly bundler?: FunctionBundler;
}

/** The bucket the migration writes into, as the function's role needs it. */
export interface MigrationBucket {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  /** SSE-KMS only. */
  readonly kmsKeyArn?: string;
}

/** Read one object version's metadata (HEAD) in the bucket the migration writes into. */
function migrationCheckStatements(partition: Partition, bucket: MigrationBucket): PolicyStatement[] {
  return [
    {
      Sid: "ReadMigrationMarker",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: `${bucket.arn}/*`,
    },
    ...(bucket.kmsKeyArn
      ? [
          {
            Sid: "DecryptViaS3",
            Effect: "Allow" as const,
            Action: "kms:Decrypt",
            Resource: bucket.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": partition.serviceDomain("s3", bucket.region) } },
          },
        ]
      : []),
  ];
}

/**
 * Invalidates a distribution when objects of its bucket change: EventBridge rule (S3 Object
 * Created / Object Deleted / Object Restore Completed of one bucket, optionally of some keys only)
 * → SQS queue (DLQ after INVALIDATION_MAX_RECEIVE_COUNT
 * deliveries) → `functions/invalidate` with a batching window, partial batch failures and a
 * role that may only invalidate this distribution.
 */
export class AutomaticInvalidation extends Construct {
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly rule: CloudwatchEventRule;
  readonly function: BundledFunction;
  readonly eventSourceMapping: LambdaEventSourceMapping;

  constructor(scope: Construct, id: string, props: AutomaticInvalidationProps) {
    super(scope, id);
    const { provider } = props;
    const name = `${props.namePrefix}-invalidate`;
    const batchingWindow = props.batchingWindowSeconds ?? DEFAULT_INVALIDATION_BATCHING_WINDOW_SECONDS;

    this.deadLetterQueue = new SqsQueue(this, "dlq", {
      provider,
      name: `${name}-dlq`,
      // How long a failed event waits in the DLQ for a look: as long as SQS allows.
      messageRetentionSeconds: SQS_MAX_MESSAGE_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    });
    this.queue = new SqsQueue(this, "queue", {
      provider,
      name,
      // AWS: at least six times the function timeout plus the batching window, so a message is
      // not redelivered while a batch that holds it is still being handled.
      visibilityTimeoutSeconds: 6 * INVALIDATION_FUNCTION_TIMEOUT_SECONDS + batchingWindow,
      sqsManagedSseEnabled: true,
      redrivePolicy: JSON.stringify({
        deadLetterTargetArn: this.deadLetterQueue.arn,
        maxReceiveCount: INVALIDATION_MAX_RECEIVE_COUNT,
      }),
    });

    this.rule = new CloudwatchEventRule(this, "rule", {
      provider,
      name,
      description: `s3-edge: changes of ${props.sourceBucketName} invalidate the distribution`,
      eventPattern: invalidationEventPattern(
        props.sourceBucketName,
        props.keyFilters ?? { keyPrefixes: [], keySuffixes: [] },
      ),
    });
    new SqsQueuePolicy(this, "queue-policy", {
      provider,
      queueUrl: this.queue.url,
      policy: policyDocument([
        {
          Sid: "EventBridgeRuleOnly",
          Effect: "Allow",
          Principal: { Service: Partition.of(this).servicePrincipal("events") },
          Action: "sqs:SendMessage",
          Resource: this.queue.arn,
          Condition: { ArnEquals: { "aws:SourceArn": this.rule.arn } },
        },
      ]),
    });
    new SqsQueuePolicy(this, "dlq-policy", {
      provider,
      queueUrl: this.deadLetterQueue.url,
      policy: policyDocument([
        eventBridgeDeadLetterStatement(Partition.of(this), this.deadLetterQueue.arn, this.rule.arn),
      ]),
    });
    new CloudwatchEventTarget(this, "target", {
      provider,
      rule: this.rule.name,
      arn: this.queue.arn,
      // Events EventBridge cannot deliver (queue policy, throttling) land beside the failed batches.
      deadLetterConfig: { arn: this.deadLetterQueue.arn },
      retryPolicy: {
        // EventBridge's own maximums: keep retrying a change for a day before it goes to the DLQ.
        maximumRetryAttempts: EVENTBRIDGE_MAX_RETRY_ATTEMPTS,
        maximumEventAgeInSeconds: EVENTBRIDGE_MAX_EVENT_AGE_SECONDS,
      },
    });

    this.function = new BundledFunction(this, "function", {
      provider,
      name: "invalidate",
      functionName: name,
      description: `s3-edge: invalidates CloudFront when ${props.sourceBucketName} changes`,
      runtime: props.runtime,
      architecture: props.architecture,
      logRetentionDays: props.logRetentionDays,
      bundler: props.bundler,
      timeout: INVALIDATION_FUNCTION_TIMEOUT_SECONDS,
      environment: {
        [ENVIRONMENT.distributionId]: props.distributionId,
        [ENVIRONMENT.exactPathLimit]: String(props.exactPathLimit ?? DEFAULT_EXACT_PATH_LIMIT),
        [ENVIRONMENT.queryStringVariants]: String(props.queryStringVariants ?? false),
        ...(props.migrationBucket ? { [ENVIRONMENT.migrationBucket]: props.migrationBucket.name } : {}),
        POWERTOOLS_SERVICE_NAME: "invalidate",
      },
      policyStatements: [
        {
          Sid: "ConsumeQueue",
          Effect: "Allow",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          Resource: this.queue.arn,
        },
        {
          Sid: "InvalidateDistribution",
          Effect: "Allow",
          Action: "cloudfront:CreateInvalidation",
          Resource: props.distributionArn,
        },
        ...(props.migrationBucket ? migrationCheckStatements(Partition.of(this), props.migrationBucket) : []),
      ],
    });

    this.eventSourceMapping = new LambdaEventSourceMapping(this, "source", {
      provider,
      eventSourceArn: this.queue.arn,
      functionName: this.function.function.arn,
      batchSize: props.batchSize ?? DEFAULT_INVALIDATION_BATCH_SIZE,
      maximumBatchingWindowInSeconds: batchingWindow,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: INVALIDATION_MAX_CONCURRENCY },
    });
  }
}
