import type { S3EdgeConfigInput } from "../../config";
import { LOCAL_DATA_SOURCES } from "../../scripts/offline-values";
import { parsePolicy, type Statement } from "../support/policy-checks";
import { remoteStates } from "../support/cross-stack";
import { fullConfigInput, referenceTo, resourceAt, resourcesOf, synthApp, type StackJson } from "../support/synth";
import { denyInsecureTransport } from "../../aws/iam";

const statements = (body: Record<string, unknown>, attribute = "policy"): Statement[] => {
  const parsed = parsePolicy(body[attribute]);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

function storageReplication(input: S3EdgeConfigInput): StackJson {
  return synthApp(input).stacks["storage-replication"];
}

describe("backfill pipeline with the default (public GCS) config", () => {
  const json = storageReplication({});
  const ref = (type: string, path: string, attribute: string) => referenceTo(json, type, path, attribute);
  const queueArn = ref("aws_sqs_queue", "backfill/queue", "arn");
  const tableArn = ref("aws_dynamodb_table", "backfill/jobs", "arn");
  const bucketArn = ref("aws_s3_bucket", "primary/bucket", "arn");

  it("queues copy jobs in an encrypted queue that parks a job in a DLQ after 5 receives", () => {
    const dlq = resourceAt(json, "aws_sqs_queue", "backfill/dead-letter-queue");
    expect(dlq).toMatchObject({
      name: "s3edge-example-backfill-dlq",
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1_209_600,
    });
    const queue = resourceAt(json, "aws_sqs_queue", "backfill/queue");
    expect(queue).toMatchObject({
      name: "s3edge-example-backfill",
      sqs_managed_sse_enabled: true,
      visibility_timeout_seconds: 1800,
    });
    expect(JSON.parse(String(queue.redrive_policy))).toEqual({
      deadLetterTargetArn: ref("aws_sqs_queue", "backfill/dead-letter-queue", "arn"),
      maxReceiveCount: 5,
    });
    const allow = resourceAt(json, "aws_sqs_queue_redrive_allow_policy", "backfill/dead-letter-queue-sources");
    expect(allow.queue_url).toBe(ref("aws_sqs_queue", "backfill/dead-letter-queue", "url"));
    expect(JSON.parse(String(allow.redrive_allow_policy))).toEqual({
      redrivePermission: "byQueue",
      sourceQueueArns: [queueArn],
    });
  });

  it.each([
    ["queue", "backfill/queue-policy"],
    ["dead-letter-queue", "backfill/dead-letter-queue-policy"],
  ])("refuses plain HTTP and other accounts on the %s", (queue, path) => {
    const policy = resourceAt(json, "aws_sqs_queue_policy", path);
    const arn = ref("aws_sqs_queue", `backfill/${queue}`, "arn");
    expect(policy.queue_url).toBe(ref("aws_sqs_queue", `backfill/${queue}`, "url"));
    expect(statements(policy)).toEqual([
      denyInsecureTransport("sqs:*", arn),
      {
        Sid: "DenyOtherAccounts",
        Effect: "Deny",
        Principal: "*",
        Action: "sqs:*",
        Resource: arn,
        Condition: {
          StringNotEquals: {
            "aws:PrincipalAccount": expect.stringMatching(/^\$\{local\.backfill_account-id_[0-9A-F]{8}\}$/),
          },
        },
      },
    ]);
  });

  it("takes the account id from the queue ARN, so the stack plans offline", () => {
    const locals = (json as { locals?: Record<string, string> }).locals ?? {};
    // The ops topics (constructs/ops-topic.ts) take theirs from their own key and topic ARNs, the
    // batch replication role (constructs/batch-replication.ts) from the replication role's.
    const pipelineLocals = Object.entries(locals).filter(
      ([name]) => !name.startsWith("ops-topics_") && !name.startsWith("batch-replication_"),
    );
    expect(pipelineLocals.map(([, value]) => value)).toEqual([`\${element(split(":", ${queueArn.slice(2, -1)}), 4)}`]);
    // Only data sources the provider answers without AWS (the partition's values).
    expect(Object.keys(json.data ?? {}).filter((type) => !LOCAL_DATA_SOURCES.has(type))).toEqual([]);
  });

  it("keeps jobs in an on-demand, encrypted table with PITR, TTL and the by-status index", () => {
    expect(resourceAt(json, "aws_dynamodb_table", "backfill/jobs")).toMatchObject({
      name: "s3edge-example-backfill-jobs",
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "pk",
      attribute: [
        { name: "pk", type: "S" },
        { name: "status", type: "S" },
        { name: "updatedAt", type: "N" },
      ],
      global_secondary_index: [
        { name: "by-status", hash_key: "status", range_key: "updatedAt", projection_type: "ALL" },
      ],
      ttl: { attribute_name: "expiresAt", enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  it("feeds the worker from the queue with partial batch failures and bounded concurrency", () => {
    expect(resourceAt(json, "aws_lambda_event_source_mapping", "backfill/worker-source")).toEqual({
      "//": expect.anything(),
      function_name: ref("aws_lambda_function", "backfill/worker/function", "arn"),
      event_source_arn: queueArn,
      batch_size: 5,
      function_response_types: ["ReportBatchItemFailures"],
      scaling_config: { maximum_concurrency: 20 },
    });
  });

  it("gives the worker the contract's environment, anonymous GCS reads for a public bucket", () => {
    const worker = resourceAt(json, "aws_lambda_function", "backfill/worker/function");
    expect(worker).toMatchObject({
      function_name: "s3edge-example-backfill-worker",
      timeout: 300,
      memory_size: 1024,
      architectures: ["arm64"],
    });
    expect((worker.environment as { variables: Record<string, string> }).variables).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      DESTINATION_BUCKET: ref("aws_s3_bucket", "primary/bucket", "bucket"),
      SOURCE_API: "s3",
      SOURCE_BUCKET: "s3edge-example-legacy",
      SOURCE_ENDPOINT: "https://storage.googleapis.com",
      SOURCE_REGION: "auto",
      SOURCE_ADDRESSING: "path",
      JOBS_TABLE: ref("aws_dynamodb_table", "backfill/jobs", "name"),
      QUEUE_URL: ref("aws_sqs_queue", "backfill/queue", "url"),
      POWERTOOLS_SERVICE_NAME: "backfill-worker",
    });
  });

  it("scopes the worker's role to the bucket, the table, its index and the queue (no KMS with SSE-S3)", () => {
    const policy = statements(resourceAt(json, "aws_iam_role_policy", "backfill/worker/policy"));
    expect(policy.slice(1)).toEqual([
      {
        Sid: "CopyObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: `${bucketArn}/*`,
      },
      { Sid: "TellMissingFromForbidden", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
      {
        Sid: "TrackJobs",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        Resource: tableArn,
      },
      { Sid: "QueryJobsByStatus", Effect: "Allow", Action: "dynamodb:Query", Resource: `${tableArn}/index/by-status` },
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
        Resource: queueArn,
      },
    ]);
  });

  it("runs the sweeper every 5 minutes, invocable only by its rule, with a narrow role", () => {
    const rule = resourceAt(json, "aws_cloudwatch_event_rule", "backfill/sweeper-schedule");
    expect(rule).toMatchObject({ name: "s3edge-example-backfill-sweeper", schedule_expression: "rate(5 minutes)" });
    expect(resourceAt(json, "aws_lambda_permission", "backfill/sweeper-invoke")).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      function_name: ref("aws_lambda_function", "backfill/sweeper/function", "function_name"),
      source_arn: ref("aws_cloudwatch_event_rule", "backfill/sweeper-schedule", "arn"),
    });
    expect(resourceAt(json, "aws_cloudwatch_event_target", "backfill/sweeper-target")).toMatchObject({
      rule: ref("aws_cloudwatch_event_rule", "backfill/sweeper-schedule", "name"),
      arn: ref("aws_lambda_function", "backfill/sweeper/function", "arn"),
    });
    expect(statements(resourceAt(json, "aws_iam_role_policy", "backfill/sweeper/policy")).slice(1)).toEqual([
      { Sid: "FindStalledJobs", Effect: "Allow", Action: "dynamodb:Query", Resource: `${tableArn}/index/by-status` },
      {
        Sid: "MarkRedriven",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        Resource: tableArn,
      },
      {
        Sid: "RedriveJobs",
        Effect: "Allow",
        Action: ["sqs:SendMessage", "sqs:GetQueueAttributes"],
        Resource: queueArn,
      },
      { Sid: "ListUploads", Effect: "Allow", Action: "s3:ListBucketMultipartUploads", Resource: bucketArn },
      { Sid: "AbortStalledUploads", Effect: "Allow", Action: "s3:AbortMultipartUpload", Resource: `${bucketArn}/*` },
    ]);
  });

  it("alarms as soon as a job lands in the dead-letter queue", () => {
    expect(resourceAt(json, "aws_cloudwatch_metric_alarm", "backfill/dead-letter-alarm")).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: ref("aws_sqs_queue", "backfill/dead-letter-queue", "name") },
      threshold: 0,
      comparison_operator: "GreaterThanThreshold",
    });
  });

  it("stores no HMAC secret and reads no gcs-origin state for a public bucket", () => {
    expect(resourcesOf(json, "aws_secretsmanager_secret")).toEqual([]);
    expect(remoteStates(json)).toEqual({});
    expect(JSON.stringify(json)).not.toContain("SOURCE_CREDENTIALS_SECRET_ID");
  });

  it("takes batch size, concurrency and worker memory from config", () => {
    const tuned = storageReplication({
      legacyOrigin: { bucket: "tuned-legacy", backfill: { batchSize: 10, maxConcurrency: 100, workerMemoryMb: 2048 } },
    });
    expect(resourceAt(tuned, "aws_lambda_event_source_mapping", "backfill/worker-source")).toMatchObject({
      batch_size: 10,
      scaling_config: { maximum_concurrency: 100 },
    });
    expect(resourceAt(tuned, "aws_lambda_function", "backfill/worker/function").memory_size).toBe(2048);
  });

  it("has no pipeline without a legacy origin", () => {
    const bare = storageReplication({ legacyOrigin: null });
    for (const type of ["aws_sqs_queue", "aws_dynamodb_table", "aws_lambda_function", "aws_cloudwatch_event_rule"]) {
      expect(resourcesOf(bare, type)).toEqual([]);
    }
  });
});

describe("backfill pipeline with the full (private GCS, SSE-KMS) config", () => {
  const app = synthApp(fullConfigInput());
  const json = app.stacks["storage-replication"];
  const gcsOrigin = app.stacks["gcs-origin"];
  const secretArn = referenceTo(json, "aws_secretsmanager_secret", "backfill/gcs-hmac", "arn");

  it("stores the HMAC key in the primary region with a replica in us-east-1 for the signer", () => {
    expect(json.provider?.aws?.find((p) => !p.alias)?.region).toBe("eu-west-1");
    const secret = resourceAt(json, "aws_secretsmanager_secret", "backfill/gcs-hmac");
    expect(secret).toMatchObject({ name: "acme-media/gcs-hmac", replica: [{ region: "us-east-1" }] });
    expect(secret.provider).toBeUndefined();
  });

  it("writes the secret value from the gcs-origin stack's sensitive outputs through remote state", () => {
    const value = resourceAt(json, "aws_secretsmanager_secret_version", "backfill/gcs-hmac-value");
    expect(value.secret_id).toBe(referenceTo(json, "aws_secretsmanager_secret", "backfill/gcs-hmac", "id"));
    const match =
      /^\$\{jsonencode\(\{"accessKeyId" = data\.terraform_remote_state\.cross-stack-reference-input-gcs-origin\.outputs\.([^,]+), "secretAccessKey" = data\.terraform_remote_state\.cross-stack-reference-input-gcs-origin\.outputs\.([^}]+)\}\)\}$/.exec(
        String(value.secret_string),
      );
    expect(match).not.toBeNull();
    const [, accessIdOutput, secretOutput] = match!;
    expect(gcsOrigin.output?.[accessIdOutput]).toEqual({
      value: "${google_storage_hmac_key.reader-hmac.access_id}",
      sensitive: true,
    });
    expect(gcsOrigin.output?.[secretOutput]).toEqual({
      value: "${google_storage_hmac_key.reader-hmac.secret}",
      sensitive: true,
    });
    expect(Object.keys(remoteStates(json))).toEqual(["cross-stack-reference-input-gcs-origin"]);
    expect(app.manifest.stacks["storage-replication"].dependencies).toEqual(["gcs-origin"]);
  });

  it("stays AWS-only: no google provider or resource", () => {
    expect(Object.keys(json.terraform?.required_providers ?? {})).toEqual(["aws"]);
    expect(JSON.stringify(json.resource)).not.toMatch(/"google_/);
  });

  it("lets the worker read the secret and use the bucket's key only through S3", () => {
    const policy = statements(resourceAt(json, "aws_iam_role_policy", "backfill/worker/policy"));
    expect(policy).toEqual(
      expect.arrayContaining([
        {
          Sid: "UseBucketKey",
          Effect: "Allow",
          Action: ["kms:GenerateDataKey", "kms:Decrypt"],
          Resource: referenceTo(json, "aws_kms_key", "primary/key", "arn"),
          Condition: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
        },
        { Sid: "ReadSourceKey", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
      ]),
    );
    const worker = resourceAt(json, "aws_lambda_function", "backfill/worker/function");
    expect((worker.environment as { variables: Record<string, string> }).variables.SOURCE_CREDENTIALS_SECRET_ID).toBe(
      secretArn,
    );
    const sweeper = resourceAt(json, "aws_lambda_function", "backfill/sweeper/function");
    expect(JSON.stringify(sweeper.environment)).not.toContain("SOURCE_CREDENTIALS_SECRET_ID");
    expect(JSON.stringify(resourceAt(json, "aws_iam_role_policy", "backfill/sweeper/policy"))).not.toMatch(
      /secretsmanager|kms:/,
    );
  });

  it("does not replicate the secret when the primary region is us-east-1 already", () => {
    const input = fullConfigInput();
    const east = synthApp({
      ...input,
      primaryRegion: "us-east-1",
      replicaRegion: "us-west-2",
      storage: { ...input.storage, encryption: { type: "sse-s3" } },
      cdn: { ...input.cdn, originShieldRegion: "us-east-1" },
    });
    const secret = resourceAt(east.stacks["storage-replication"], "aws_secretsmanager_secret", "backfill/gcs-hmac");
    expect(secret.replica).toBeUndefined();
  });
});
