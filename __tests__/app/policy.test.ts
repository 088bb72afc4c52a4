import { CloudfrontDistribution } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontOriginAccessIdentity } from "@cdktf/provider-aws/lib/cloudfront-origin-access-identity";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { Fn, TerraformOutput, TerraformStack, Testing } from "cdktf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FunctionBundler } from "../../packaging/bundle";
import { BackfillPipeline } from "../../constructs/backfill-pipeline";
import { BundledFunction } from "../../constructs/bundled-function";
import { OperationsAlarms } from "../../constructs/operations-alarms";
import { OpsTopic } from "../../constructs/ops-topic";
import { DEFAULT_ALARM_THRESHOLDS } from "../../config/sections/operations";
import { EdgeFunction } from "../../constructs/edge-function";
import { assumeRolePolicy, policyDocument } from "../../aws/iam";
import { awsProvider } from "../../aws/provider";
import { SecureBucket } from "../../constructs/secure-bucket";
import { policyViolations } from "../support/policy-checks";
import { chinaConfigInput, exampleConfigInput, fullConfigInput, synthApp, type StackJson } from "../support/synth";
import { TESTS_DIR } from "../support/paths";

describe("every stack of the app follows the security rules", () => {
  it.each([
    ["default config", {}],
    ["full example config", fullConfigInput()],
    ["S3-compatible origin example", exampleConfigInput("s3-compatible-origin")],
    ["HTTPS origin example", exampleConfigInput("https-origin")],
    ["China example config", chinaConfigInput()],
    [
      "SSE-KMS with existing keys",
      {
        storage: {
          encryption: {
            type: "sse-kms",
            primaryKeyArn: "arn:aws:kms:us-east-2:123456789012:key/a",
            replicaKeyArn: "arn:aws:kms:us-west-2:123456789012:key/b",
          },
        },
      },
    ],
  ] as const)("%s", (_name, input) => {
    const app = synthApp(input);
    expect(Object.keys(app.stacks).length).toBeGreaterThan(0);
    expect(policyViolations(app.stacks)).toEqual([]);
  });
});

describe("the rules catch what they are meant to", () => {
  const bundleDir = mkdtempSync(join(tmpdir(), "s3-edge-policy-"));
  afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));
  const sample = join(TESTS_DIR, "fixtures", "functions", "sample", "index.ts");

  function violationsOf(build: (stack: TerraformStack) => void, region = "us-east-2") {
    const stack = new TerraformStack(Testing.app(), "rules");
    awsProvider(stack, "aws", { region, tags: {}, stackId: "rules" });
    build(stack);
    const json = JSON.parse(Testing.synth(stack)) as StackJson;
    return policyViolations({ rules: json })
      .map((v) => `${v.rule}: ${v.detail}`)
      .sort();
  }

  it("accepts the project's own constructs", () => {
    expect(
      violationsOf((stack) => {
        new SecureBucket(stack, "bucket", {
          bucketName: "rules-secure",
          encryption: { type: "sse-kms" },
          eventBridge: true,
        });
        new BundledFunction(stack, "fn", {
          name: "sample",
          entry: sample,
          functionName: "rules-fn",
          bundler: new FunctionBundler(bundleDir),
        });
        new EdgeFunction(stack, "edge", {
          name: "sample",
          entry: sample,
          functionName: "rules-edge",
          eventType: "origin-response",
          provider: awsProvider(stack, "aws-east", { region: "us-east-1", alias: "east", tags: {}, stackId: "rules" }),
          accountId: "123456789012",
          bundler: new FunctionBundler(bundleDir),
        });
        const topic = new OpsTopic(stack, "ops", {
          topicName: "rules-ops",
          region: "us-east-2",
          emails: ["ops@example.com"],
        });
        const pipeline = new BackfillPipeline(stack, "backfill", {
          namePrefix: "rules",
          destination: { name: "rules-bucket", arn: "arn:aws:s3:::rules-bucket", region: "us-east-2" },
          source: { api: "s3", endpoint: "https://storage.googleapis.com", bucket: "rules-legacy" },
          hmacKey: { accessId: "GOOG1ERULES", secret: "rules" },
          secretReplicaRegions: ["us-east-1"],
          bundler: new FunctionBundler(bundleDir),
          alarmActions: [topic.arn],
        });
        const alarms = new OperationsAlarms(stack, "alarms", {
          topicArn: topic.arn,
          thresholds: DEFAULT_ALARM_THRESHOLDS,
        });
        alarms.deadLetterQueue("sweeper", pipeline.sweeperDeadLetterQueue.nameInput!, "Missed ticks");
      }),
    ).toEqual([]);
  });

  it("flags a bucket without blocks, ownership, encryption or TLS-only policy", () => {
    const found = violationsOf((stack) => {
      new S3Bucket(stack, "bare", { bucket: "rules-bare" });
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bucket-public-access-block: /),
        expect.stringMatching(/^bucket-owner-enforced: /),
        expect.stringMatching(/^bucket-encryption: /),
        expect.stringMatching(/^bucket-single-policy: 0 bucket policy/),
        expect.stringMatching(/^bucket-tls-only: /),
      ]),
    );
  });

  it("flags a second policy resource on a bucket and a public grant", () => {
    const found = violationsOf((stack) => {
      const bucket = new SecureBucket(stack, "bucket", { bucketName: "rules-two-policies" });
      new S3BucketPolicy(stack, "extra", {
        bucket: bucket.bucket.id,
        policy: policyDocument([
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `${bucket.bucket.arn}/*` },
        ]),
      });
    });
    expect(found).toEqual(
      expect.arrayContaining([
        "bucket-single-policy: 2 bucket policy resources (need exactly one)",
        "public-resource-policy: a statement allows any principal without a condition",
      ]),
    );
  });

  it("flags wildcard actions and resources, and policies it cannot read", () => {
    const found = violationsOf((stack) => {
      const role = new IamRole(stack, "role", {
        name: "rules-role",
        assumeRolePolicy: assumeRolePolicy(["lambda.amazonaws.com"]),
      });
      new IamRolePolicy(stack, "wide", {
        role: role.id,
        policy: policyDocument([
          { Sid: "All", Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::x" },
          { Sid: "ServiceWide", Effect: "Allow", Action: ["s3:*"], Resource: "arn:aws:s3:::x" },
          { Sid: "Everywhere", Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" },
          { Sid: "Traces", Effect: "Allow", Action: ["xray:PutTraceSegments"], Resource: "*" },
        ]),
      });
      new IamRolePolicy(stack, "inverted", {
        role: role.id,
        policy: JSON.stringify({
          Statement: [{ Sid: "AllBut", Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::x" }],
        }),
      });
      new DataAwsIamPolicyDocument(stack, "document", {
        statement: [{ actions: ["dynamodb:*"], resources: ["arn:aws:dynamodb:us-east-2:123456789012:table/t"] }],
      });
      new IamRolePolicy(stack, "opaque", { role: role.id, policy: Fn.jsonencode({ Statement: [] }) });
    });
    expect(found).toEqual(
      [
        'iam-wildcard-action: a statement allows "dynamodb:*"',
        'iam-wildcard-action: statement All allows "*"',
        "iam-wildcard-action: statement AllBut allows NotAction",
        'iam-wildcard-action: statement ServiceWide allows "s3:*"',
        'iam-wildcard-resource: statement Everywhere allows sqs:SendMessage on Resource "*"',
        "policy-not-checkable: policy is a Terraform expression, not a literal document",
      ].sort(),
    );
  });

  it("flags Lambda functions without log retention, and edge functions with environment or no version", () => {
    const found = violationsOf((stack) => {
      const edgeRole = new IamRole(stack, "edge-role", {
        name: "rules-edge",
        assumeRolePolicy: assumeRolePolicy(["lambda.amazonaws.com", "edgelambda.amazonaws.com"]),
      });
      new LambdaFunction(stack, "edge", {
        functionName: "rules-edge",
        role: edgeRole.arn,
        runtime: "nodejs22.x",
        handler: "index.handler",
        filename: "code.zip",
        environment: { variables: { SECRET: "nope" } },
      });
      new CloudwatchLogGroup(stack, "forever", { name: "/aws/lambda/other" });
    });
    expect(found).toEqual(
      [
        "lambda-log-retention: no log group with retention for this function",
        "edge-no-environment: Lambda@Edge functions cannot have environment variables",
        "edge-published: Lambda@Edge needs a published version (publish = true)",
        "edge-us-east-1: Lambda@Edge functions must be created in us-east-1",
        "log-retention: log group keeps logs forever (no retention_in_days)",
      ].sort(),
    );
  });

  it("flags an SQS queue consumed by Lambda without a dead-letter queue", () => {
    const found = violationsOf((stack) => {
      const queue = new SqsQueue(stack, "queue", { name: "rules-queue" });
      new LambdaEventSourceMapping(stack, "mapping", { eventSourceArn: queue.arn, functionName: "rules-fn" });
    });
    expect(found).toEqual([
      "sqs-consumer-dlq: aws_sqs_queue.queue is consumed by Lambda but has no dead-letter queue (redrive_policy)",
      "sqs-encryption: queue without server-side encryption (SSE-SQS or SSE-KMS)",
    ]);
  });

  it("flags an arm64 edge function, even in us-east-1", () => {
    const found = violationsOf((stack) => {
      const east = awsProvider(stack, "aws-east", { region: "us-east-1", alias: "east", tags: {}, stackId: "rules" });
      const role = new IamRole(stack, "edge-role", {
        provider: east,
        name: "rules-edge-arm",
        assumeRolePolicy: assumeRolePolicy(["lambda.amazonaws.com", "edgelambda.amazonaws.com"]),
      });
      new CloudwatchLogGroup(stack, "logs", { provider: east, name: "/aws/lambda/rules-edge-arm", retentionInDays: 7 });
      new LambdaFunction(stack, "edge", {
        provider: east,
        functionName: "rules-edge-arm",
        role: role.arn,
        runtime: "nodejs22.x",
        handler: "index.handler",
        filename: "code.zip",
        publish: true,
        architectures: ["arm64"],
      });
    });
    expect(found).toEqual(["edge-x86_64: Lambda@Edge runs x86_64 functions only"]);
  });

  it("flags an output that exposes a credential without sensitive = true", () => {
    const found = violationsOf((stack) => {
      const version = new SecretsmanagerSecretVersion(stack, "value", { secretId: "rules", secretString: "x" });
      new TerraformOutput(stack, "leak", { value: version.secretString });
      new TerraformOutput(stack, "hidden", { value: version.secretString, sensitive: true });
    });
    expect(found).toEqual([
      expect.stringMatching(/^sensitive-output: exposes .*secret_string.* without sensitive = true$/),
    ]);
  });

  it('reads a key policy\'s Resource "*" as the key itself, but still flags wildcard actions in it', () => {
    const found = violationsOf((stack) => {
      new KmsKey(stack, "key", {
        policy: policyDocument([
          {
            Sid: "Use",
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::123456789012:root" },
            Action: "kms:Decrypt",
            Resource: "*",
          },
          {
            // Only the account root may get kms:* (AWS's default statement delegating the key to IAM).
            Sid: "Everything",
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::123456789012:role/operator" },
            Action: "kms:*",
            Resource: "*",
          },
        ]),
      });
    });
    expect(found).toEqual(['iam-wildcard-action: statement Everything allows "kms:*"']);
  });

  it("flags an unencrypted SNS topic and an EventBridge target without a dead-letter queue", () => {
    const found = violationsOf((stack) => {
      new SnsTopic(stack, "topic", { name: "rules-topic" });
      const rule = new CloudwatchEventRule(stack, "rule", {
        name: "rules-rule",
        scheduleExpression: "rate(5 minutes)",
      });
      new CloudwatchEventTarget(stack, "target", {
        rule: rule.name,
        arn: "arn:aws:lambda:us-east-2:123456789012:function:f",
      });
    });
    expect(found).toEqual([
      "event-target-dlq: EventBridge target has no dead-letter queue: undeliverable events are dropped",
      "sns-encryption: topic is not encrypted with a KMS key (kms_master_key_id)",
      "sns-topic-policy: 0 topic policies (need exactly one)",
    ]);
  });

  it("flags an alarm nobody hears, a dead-letter queue without an alarm and a topic any alarm may publish to", () => {
    const found = violationsOf((stack) => {
      const dlq = new SqsQueue(stack, "dlq", { name: "rules-dlq", sqsManagedSseEnabled: true });
      new SqsQueue(stack, "queue", {
        name: "rules-queue",
        sqsManagedSseEnabled: true,
        redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }),
      });
      new CloudwatchMetricAlarm(stack, "silent", {
        alarmName: "rules-silent",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: "rules-queue" },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      });
      const topic = new SnsTopic(stack, "topic", { name: "rules-topic", kmsMasterKeyId: "alias/rules" });
      new SnsTopicPolicy(stack, "topic-policy", {
        arn: topic.arn,
        policy: policyDocument([
          {
            Sid: "AnyAlarm",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: "arn:aws:sns:us-east-2:123456789012:rules-topic",
          },
        ]),
      });
    });
    expect(found).toEqual([
      "alarm-actions: no alarm_actions: nobody hears of this alarm",
      "alarm-actions: no ok_actions: nobody hears of this alarm",
      "dlq-alarm: dead-letter queue rules-dlq has no alarm",
      "sns-topic-policy: AnyAlarm lets cloudwatch.amazonaws.com in without aws:SourceArn or aws:SourceAccount",
    ]);
  });

  it("flags an OAI and a distribution that lets viewers use plain HTTP", () => {
    const found = violationsOf((stack) => {
      new CloudfrontOriginAccessIdentity(stack, "oai", {});
      new CloudfrontDistribution(stack, "cdn", {
        enabled: true,
        origin: [
          {
            domainName: "example.com",
            originId: "web",
            customOriginConfig: {
              httpPort: 80,
              httpsPort: 443,
              originProtocolPolicy: "https-only",
              originSslProtocols: ["TLSv1.2"],
            },
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: "web",
          viewerProtocolPolicy: "allow-all",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
        },
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
      });
    });
    expect(found).toEqual(
      [
        "cloudfront-oac: use Origin Access Control, not an OAI",
        "cloudfront-https: a cache behaviour lets viewers use plain HTTP",
      ].sort(),
    );
  });

  it("lets a China stack use an OAI, and flags a global-partition ARN or endpoint written into it", () => {
    const found = violationsOf((stack) => {
      new CloudfrontOriginAccessIdentity(stack, "oai", {});
      new S3BucketPolicy(stack, "policy", {
        bucket: "b",
        policy: policyDocument([
          {
            Sid: "Literal",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: "arn:aws:s3:::b/*",
            Condition: { StringEquals: { "kms:ViaService": "s3.cn-north-1.amazonaws.com" } },
          },
        ]),
      });
    }, "cn-north-1");
    expect(found).toEqual([
      "partition-literal: writes arn:aws:, amazonaws.com in the aws-cn partition (build ARNs and domains from aws_partition)",
    ]);
  });
});
