import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { SqsQueueRedriveAllowPolicy } from "@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy";
import { Fn, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { SQS_MAX_MESSAGE_RETENTION_SECONDS } from "../config/aws-facts";
import {
  JOBS_PARTITION_KEY,
  JOBS_STATUS_ATTRIBUTE,
  JOBS_STATUS_INDEX,
  JOBS_TTL_ATTRIBUTE,
  JOBS_UPDATED_AT_ATTRIBUTE,
} from "../functions/shared/backfill-jobs-table";
import { WORKER_ENVIRONMENT } from "../functions/shared/backfill-environment";
import type { LegacySourceSettings } from "../functions/shared/legacy-source";
import type { FunctionBundler } from "../packaging/bundle";
import { eventBridgeDeadLetterStatement } from "./event-dead-letter";
import { BundledFunction } from "./bundled-function";
import { denyInsecureTransport, policyDocument, type PolicyStatement } from "../aws/iam";
import { Partition } from "../aws/partition";
import {
  DEFAULT_BACKFILL_BATCH_SIZE,
  DEFAULT_BACKFILL_MAX_CONCURRENCY,
  DEFAULT_BACKFILL_WORKER_MEMORY_MB,
} from "./defaults";

/** The worker's timeout; the contract with the worker code sizes its part copies to fit. */
export const BACKFILL_WORKER_TIMEOUT_SECONDS = 300;
/** 6 × the worker timeout (AWS's advice for Lambda consumers), so a slow batch is not handed out twice. */
export const BACKFILL_VISIBILITY_TIMEOUT_SECONDS = 6 * BACKFILL_WORKER_TIMEOUT_SECONDS;
/** Receives before a job is parked in the dead-letter queue. */
export const BACKFILL_MAX_RECEIVE_COUNT = 5;
/** A copy job is re-created by the next cache miss, so four days is plenty. */
export const BACKFILL_MESSAGE_RETENTION_SECONDS = 4 * 24 * 3600;
/** The SQS maximum, so that an operator has two weeks to look at failed jobs. */
export const BACKFILL_DLQ_RETENTION_SECONDS = SQS_MAX_MESSAGE_RETENTION_SECONDS;
export const BACKFILL_SWEEPER_PERIOD_SECONDS = 300;
export const BACKFILL_SWEEPER_SCHEDULE = `rate(${BACKFILL_SWEEPER_PERIOD_SECONDS / 60} minutes)`;
export const BACKFILL_SWEEPER_TIMEOUT_SECONDS = 120;
/** Days a deleted HMAC secret can still be restored (the minimum, so a redeploy can reuse the name soon). */
export const SECRET_RECOVERY_WINDOW_DAYS = 7;

/** The bucket the pipeline fills. */
export interface BackfillDestination {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  /** SSE-KMS only: the worker encrypts what it writes with this key. */
  readonly kmsKeyArn?: string;
}

/** The GCS HMAC key of the read-only service account (tokens from the gcs-origin stack's remote state). */
export interface GcsHmacKey {
  readonly accessId: string;
  readonly secret: string;
}

export interface BackfillPipelineProps {
  /** Prefix of every resource name. */
  readonly namePrefix: string;
  readonly destination: BackfillDestination;
  /** How the worker reads the legacy origin (see stacks/legacy-origin.ts). */
  readonly source: LegacySourceSettings;
  /** The origin as descriptions name it (`gs://bucket`). @default the bucket, else the endpoint */
  readonly sourceLabel?: string;
  /**
   * A private GCS bucket's HMAC key: stored in Secrets Manager, read by the worker (and by the
   * Lambda@Edge signer through a replica).
   * @default no key from Terraform
   */
  readonly hmacKey?: GcsHmacKey;
  /**
   * A private S3-compatible store's key, never in Terraform: a secret that exists (`existing`:
   * name or ARN, in `region`), or one this construct creates empty (`createEmpty`: its name, with
   * the replicas of `secretReplicaRegions`) for the operator to fill with `aws secretsmanager
   * put-secret-value`. Without it and `hmacKey`, the origin is read anonymously.
   * @default anonymous reads
   */
  readonly sourceKeySecret?: { readonly existing: string; readonly region: string } | { readonly createEmpty: string };
  /**
   * Regions that get a replica of the HMAC secret (us-east-1 for Lambda@Edge).
   * @default none
   */
  readonly secretReplicaRegions?: readonly string[];
  readonly runtime?: string;
  readonly architecture?: string;
  readonly logRetentionDays?: number;
  /** @default DEFAULT_BACKFILL_BATCH_SIZE */
  readonly batchSize?: number;
  /** @default DEFAULT_BACKFILL_MAX_CONCURRENCY */
  readonly maxConcurrency?: number;
  /** @default DEFAULT_BACKFILL_WORKER_MEMORY_MB */
  readonly workerMemoryMb?: number;
  /**
   * Where the dead-letter queue alarm notifies on ALARM and OK (SNS topic ARNs).
   * @default none: the alarm shows in the console only
   */
  readonly alarmActions?: readonly string[];
  /** @default the bundler shared by every stack of the synth */
  readonly bundler?: FunctionBundler;
}

/**
 * Copies objects from the legacy GCS bucket into the destination bucket: an encrypted SQS queue of
 * copy jobs (with a dead-letter queue and an alarm on it) consumed by the worker with partial batch
 * failures, a DynamoDB jobs table (dedupe, part counters, failures), a sweeper every five minutes
 * that re-drives stalled jobs, and, for a private bucket, the HMAC key in Secrets Manager.
 */
export class BackfillPipeline extends Construct {
  /** `<namePrefix>-backfill`: known at synth, so Lambda@Edge can have it compiled in. */
  readonly queueName: string;
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly jobsTable: DynamodbTable;
  readonly worker: BundledFunction;
  readonly sweeper: BundledFunction;
  /** Schedule ticks EventBridge could not deliver to the sweeper. */
  readonly sweeperDeadLetterQueue: SqsQueue;
  /** The key secret this construct created (private GCS, or an S3-compatible store without a named secret). */
  readonly hmacSecret?: SecretsmanagerSecret;
  /** That secret's name: `<namePrefix>/gcs-hmac`, or the `createEmpty` name. */
  readonly hmacSecretName?: string;
  /** A key secret named in config (`sourceKeySecret.existing`): the worker reads it where it is. */
  readonly externalSecret?: { readonly id: string; readonly region: string; readonly resourceArn: string };

  constructor(scope: Construct, id: string, props: BackfillPipelineProps) {
    super(scope, id);
    const { namePrefix, destination } = props;
    this.queueName = `${namePrefix}-backfill`;

    this.deadLetterQueue = new SqsQueue(this, "dead-letter-queue", {
      name: `${this.queueName}-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: BACKFILL_DLQ_RETENTION_SECONDS,
    });
    this.queue = new SqsQueue(this, "queue", {
      name: this.queueName,
      sqsManagedSseEnabled: true,
      visibilityTimeoutSeconds: BACKFILL_VISIBILITY_TIMEOUT_SECONDS,
      messageRetentionSeconds: BACKFILL_MESSAGE_RETENTION_SECONDS,
      redrivePolicy: JSON.stringify({
        deadLetterTargetArn: this.deadLetterQueue.arn,
        maxReceiveCount: BACKFILL_MAX_RECEIVE_COUNT,
      }),
    });
    // Only the backfill queue may use the DLQ (a separate resource: the queues reference each other).
    new SqsQueueRedriveAllowPolicy(this, "dead-letter-queue-sources", {
      queueUrl: this.deadLetterQueue.url,
      redriveAllowPolicy: JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [this.queue.arn] }),
    });
    // The account id is in the queue's ARN: no data source (which would need AWS credentials to plan).
    const accountId = new TerraformLocal(this, "account-id", Fn.element(Fn.split(":", this.queue.arn), 4));
    for (const [policyId, queue] of [
      ["queue-policy", this.queue],
      ["dead-letter-queue-policy", this.deadLetterQueue],
    ] as const) {
      new SqsQueuePolicy(this, policyId, {
        queueUrl: queue.url,
        policy: sameAccountTlsOnly(queue.arn, accountId.asString),
      });
    }

    this.jobsTable = new DynamodbTable(this, "jobs", {
      name: `${namePrefix}-backfill-jobs`,
      billingMode: "PAY_PER_REQUEST",
      hashKey: JOBS_PARTITION_KEY,
      attribute: [
        { name: JOBS_PARTITION_KEY, type: "S" },
        { name: JOBS_STATUS_ATTRIBUTE, type: "S" },
        { name: JOBS_UPDATED_AT_ATTRIBUTE, type: "N" },
      ],
      globalSecondaryIndex: [
        {
          name: JOBS_STATUS_INDEX,
          hashKey: JOBS_STATUS_ATTRIBUTE,
          rangeKey: JOBS_UPDATED_AT_ATTRIBUTE,
          projectionType: "ALL",
        },
      ],
      ttl: { attributeName: JOBS_TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      // The AWS managed key (aws/dynamodb): encrypted with a key the account can audit, no grants needed.
      serverSideEncryption: { enabled: true },
    });
    const statusIndexArn = `${this.jobsTable.arn}/index/${JOBS_STATUS_INDEX}`;

    const label = props.sourceLabel ?? props.source.bucket ?? props.source.endpoint;
    const keySecret = props.sourceKeySecret;
    if (keySecret && "existing" in keySecret) {
      const { existing, region } = keySecret;
      this.externalSecret = {
        id: existing,
        region,
        // Secrets Manager appends 6 random characters to a name.
        resourceArn: existing.startsWith("arn:")
          ? existing
          : Partition.of(this).arn("secretsmanager", region, accountId.asString, `secret:${existing}-*`),
      };
    } else if (keySecret) {
      // No value in Terraform: the operator puts the key in (docs/migration.md), so it never sits in state.
      this.hmacSecretName = keySecret.createEmpty;
      this.hmacSecret = new SecretsmanagerSecret(this, "source-key", {
        name: this.hmacSecretName,
        description: `s3-edge: read-only key of ${label} ({"accessKeyId":"...","secretAccessKey":"..."}), filled by the operator`,
        recoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS,
        replica: props.secretReplicaRegions?.length
          ? props.secretReplicaRegions.map((region) => ({ region }))
          : undefined,
      });
    }
    if (props.hmacKey) {
      this.hmacSecretName = `${namePrefix}/gcs-hmac`;
      this.hmacSecret = new SecretsmanagerSecret(this, "gcs-hmac", {
        name: this.hmacSecretName,
        description: `s3-edge: HMAC key of the read-only service account of ${label}`,
        recoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS,
        replica: props.secretReplicaRegions?.length
          ? props.secretReplicaRegions.map((region) => ({ region }))
          : undefined,
      });
      new SecretsmanagerSecretVersion(this, "gcs-hmac-value", {
        secretId: this.hmacSecret.id,
        secretString: Fn.jsonencode({ accessKeyId: props.hmacKey.accessId, secretAccessKey: props.hmacKey.secret }),
      });
    }

    const common = {
      runtime: props.runtime,
      architecture: props.architecture,
      logRetentionDays: props.logRetentionDays,
      bundler: props.bundler,
    };
    const { source } = props;
    const names = WORKER_ENVIRONMENT;
    const environment = {
      [names.destinationBucket]: destination.name,
      [names.sourceApi]: source.api,
      [names.sourceEndpoint]: source.endpoint,
      ...(source.bucket ? { [names.sourceBucket]: source.bucket } : {}),
      ...(source.region ? { [names.sourceRegion]: source.region } : {}),
      ...(source.addressing ? { [names.sourceAddressing]: source.addressing } : {}),
      [names.jobsTable]: this.jobsTable.name,
      [names.queueUrl]: this.queue.url,
    };
    const secretRead: { env: Record<string, string>; resource: string } | undefined = this.hmacSecret
      ? { env: { [names.sourceCredentialsSecretId]: this.hmacSecret.arn }, resource: this.hmacSecret.arn }
      : this.externalSecret
        ? {
            env: {
              [names.sourceCredentialsSecretId]: this.externalSecret.id,
              [names.sourceCredentialsSecretRegion]: this.externalSecret.region,
            },
            resource: this.externalSecret.resourceArn,
          }
        : undefined;
    const objectsArn = `${destination.arn}/*`;

    this.worker = new BundledFunction(this, "worker", {
      ...common,
      name: "backfill-worker",
      functionName: `${namePrefix}-backfill-worker`,
      description: `s3-edge: copies objects from ${label} into ${destination.name}`,
      memorySize: props.workerMemoryMb ?? DEFAULT_BACKFILL_WORKER_MEMORY_MB,
      timeout: BACKFILL_WORKER_TIMEOUT_SECONDS,
      environment: {
        ...environment,
        ...secretRead?.env,
        POWERTOOLS_SERVICE_NAME: "backfill-worker",
      },
      policyStatements: [
        {
          Sid: "CopyObjects",
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
          Resource: objectsArn,
        },
        // With ListBucket, HeadObject of a missing key answers 404 instead of 403.
        { Sid: "TellMissingFromForbidden", Effect: "Allow", Action: "s3:ListBucket", Resource: destination.arn },
        ...kmsStatements(Partition.of(this), destination),
        {
          Sid: "TrackJobs",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
          Resource: this.jobsTable.arn,
        },
        { Sid: "QueryJobsByStatus", Effect: "Allow", Action: "dynamodb:Query", Resource: statusIndexArn },
        {
          Sid: "ConsumeAndFanOutJobs",
          Effect: "Allow",
          Action: [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:SendMessage",
          ],
          Resource: this.queue.arn,
        },
        ...(secretRead
          ? [
              {
                Sid: "ReadSourceKey",
                Effect: "Allow",
                Action: "secretsmanager:GetSecretValue",
                Resource: secretRead.resource,
              } as const,
            ]
          : []),
      ],
    });
    new LambdaEventSourceMapping(this, "worker-source", {
      functionName: this.worker.function.arn,
      eventSourceArn: this.queue.arn,
      batchSize: props.batchSize ?? DEFAULT_BACKFILL_BATCH_SIZE,
      // The worker reports the jobs that failed; the rest of the batch is not retried.
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: props.maxConcurrency ?? DEFAULT_BACKFILL_MAX_CONCURRENCY },
    });

    this.sweeper = new BundledFunction(this, "sweeper", {
      ...common,
      name: "backfill-sweeper",
      functionName: `${namePrefix}-backfill-sweeper`,
      description: "s3-edge: re-drives stalled backfill jobs",
      timeout: BACKFILL_SWEEPER_TIMEOUT_SECONDS,
      environment: { ...environment, POWERTOOLS_SERVICE_NAME: "backfill-sweeper" },
      policyStatements: [
        { Sid: "FindStalledJobs", Effect: "Allow", Action: "dynamodb:Query", Resource: statusIndexArn },
        {
          Sid: "MarkRedriven",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
          Resource: this.jobsTable.arn,
        },
        {
          Sid: "RedriveJobs",
          Effect: "Allow",
          Action: ["sqs:SendMessage", "sqs:GetQueueAttributes"],
          Resource: this.queue.arn,
        },
        {
          Sid: "ListUploads",
          Effect: "Allow",
          Action: "s3:ListBucketMultipartUploads",
          Resource: destination.arn,
        },
        { Sid: "AbortStalledUploads", Effect: "Allow", Action: "s3:AbortMultipartUpload", Resource: objectsArn },
      ],
    });
    const schedule = new CloudwatchEventRule(this, "sweeper-schedule", {
      name: `${namePrefix}-backfill-sweeper`,
      description: "s3-edge: runs the backfill sweeper",
      scheduleExpression: BACKFILL_SWEEPER_SCHEDULE,
    });
    const permission = new LambdaPermission(this, "sweeper-invoke", {
      statementId: "AllowSweeperSchedule",
      action: "lambda:InvokeFunction",
      functionName: this.sweeper.function.functionName,
      principal: Partition.of(this).servicePrincipal("events"),
      sourceArn: schedule.arn,
    });
    // A tick EventBridge could not deliver is recorded here; retrying it beyond the next tick is pointless.
    const missedTicks = (this.sweeperDeadLetterQueue = new SqsQueue(this, "sweeper-dead-letter-queue", {
      name: `${namePrefix}-backfill-sweeper-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: BACKFILL_DLQ_RETENTION_SECONDS,
    }));
    new SqsQueuePolicy(this, "sweeper-dead-letter-queue-policy", {
      queueUrl: missedTicks.url,
      policy: policyDocument([eventBridgeDeadLetterStatement(Partition.of(this), missedTicks.arn, schedule.arn)]),
    });
    new CloudwatchEventTarget(this, "sweeper-target", {
      rule: schedule.name,
      arn: this.sweeper.function.arn,
      deadLetterConfig: { arn: missedTicks.arn },
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: BACKFILL_SWEEPER_PERIOD_SECONDS },
      dependsOn: [permission],
    });

    new CloudwatchMetricAlarm(this, "dead-letter-alarm", {
      alarmName: `${this.queueName}-dlq-not-empty`,
      alarmDescription: `Backfill jobs failed ${BACKFILL_MAX_RECEIVE_COUNT} times and wait in ${this.queueName}-dlq`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: this.deadLetterQueue.name },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: props.alarmActions ? [...props.alarmActions] : undefined,
      okActions: props.alarmActions ? [...props.alarmActions] : undefined,
    });
  }
}

/** Refuses plain HTTP and principals of other accounts; access itself comes from identity policies. */
function sameAccountTlsOnly(queueArn: string, accountId: string): string {
  return policyDocument([
    denyInsecureTransport("sqs:*", queueArn),
    {
      Sid: "DenyOtherAccounts",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:*",
      Resource: queueArn,
      Condition: { StringNotEquals: { "aws:PrincipalAccount": accountId } },
    },
  ]);
}

/** SSE-KMS: the worker uses the bucket's key, and only through S3. */
function kmsStatements(partition: Partition, destination: BackfillDestination): PolicyStatement[] {
  if (!destination.kmsKeyArn) return [];
  return [
    {
      Sid: "UseBucketKey",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: destination.kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": partition.serviceDomain("s3", destination.region) } },
    },
  ];
}
