import { parsePolicy, policyViolations, type Statement } from "../support/policy-checks";
import { fullConfigInput, referenceTo, resourceAt, resourcesOf, synthApp, type StackJson } from "../support/synth";

const statementsOf = (resource: Record<string, unknown>, attribute = "policy"): Statement[] => {
  const parsed = parsePolicy(resource[attribute]);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

const only = (stack: StackJson, type: string): Record<string, unknown> => {
  const found = resourcesOf(stack, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0][1];
};

const ACCOUNT = "${data.aws_caller_identity.account.account_id}";
const PRIMARY_NAME =
  "data.terraform_remote_state.cross-stack-reference-input-storage-replication.outputs.cross-stack-output-aws_s3_bucketprimary_bucket_E04143E5bucket";

describe("object-stats with the default config", () => {
  const app = synthApp();
  const stack = app.stacks["object-stats"];
  const ref = (type: string, path: string, attribute: string) => referenceTo(stack, type, path, attribute);
  const table = ref("aws_dynamodb_table", "object-stats/table", "arn");
  const topic = ref("aws_sns_topic", "object-stats/notifications/topic", "arn");
  const key = ref("aws_kms_key", "object-stats/notifications/key", "arn");
  const role = ref("aws_iam_role", "object-stats/function/role", "arn");
  const deadLetters = ref("aws_sqs_queue", "object-stats/dead-letters", "arn");

  it("runs in the primary region and follows every security rule", () => {
    expect(stack.provider?.aws).toEqual([expect.objectContaining({ region: "us-east-2" })]);
    expect(policyViolations(app.stacks)).toEqual([]);
  });

  it("keeps counters in an on-demand, encrypted table with point-in-time recovery and TTL for dedupe records", () => {
    expect(only(stack, "aws_dynamodb_table")).toMatchObject({
      name: "s3edge-example-object-stats",
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "pk",
      range_key: "sk",
      attribute: [
        { name: "pk", type: "S" },
        { name: "sk", type: "S" },
      ],
      ttl: { attribute_name: "expiresAt", enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  it("gives the function the table, topic, bucket list and dedupe TTL through its environment", () => {
    const fn = only(stack, "aws_lambda_function");
    expect((fn.environment as { variables: Record<string, string> }).variables).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      TABLE_NAME: ref("aws_dynamodb_table", "object-stats/table", "name"),
      TOPIC_ARN: `arn:aws:sns:us-east-2:${ACCOUNT}:s3edge-example-object-stats`,
      NOTIFICATION_MODE: "per-change",
      MONITORED_BUCKETS: `\${join(",", [${PRIMARY_NAME}])}`,
      DEDUPE_TTL_DAYS: "7",
    });
    expect(fn).toMatchObject({ handler: "index.handler", runtime: "nodejs22.x", architectures: ["arm64"] });
  });

  it("lets the function do only what it needs, on this table, topic, key and queue only", () => {
    const policies = resourcesOf(stack, "aws_iam_role_policy").map(([, body]) => body);
    const allows = policies.flatMap((policy) => statementsOf(policy)).filter((s) => s.Effect === "Allow");
    const granted = allows
      .flatMap((s) => ([] as string[]).concat(s.Action ?? []).map((action) => `${action} on ${String(s.Resource)}`))
      .sort();
    expect(granted).toEqual(
      [
        `dynamodb:GetItem on ${table}`,
        `dynamodb:Query on ${table}`,
        `dynamodb:UpdateItem on ${table}`,
        `kms:Decrypt on ${key}`,
        `kms:GenerateDataKey* on ${key}`,
        `logs:CreateLogStream on ${ref("aws_cloudwatch_log_group", "object-stats/function/logs", "arn")}:*`,
        `logs:PutLogEvents on ${ref("aws_cloudwatch_log_group", "object-stats/function/logs", "arn")}:*`,
        `sns:Publish on ${topic}`,
        `sqs:SendMessage on ${deadLetters}`,
      ].sort(),
    );
  });

  it("routes the buckets' Object Created and Object Deleted events to the function, with retries and a DLQ", () => {
    const rule = resourceAt(stack, "aws_cloudwatch_event_rule", "object-stats/s3-events");
    expect(rule.event_pattern).toBe(
      `\${jsonencode({"source" = ["aws.s3"], "detail-type" = ["Object Created", "Object Deleted"], "detail" = {"bucket" = {"name" = [${PRIMARY_NAME}]}}})}`,
    );
    expect(resourceAt(stack, "aws_cloudwatch_event_target", "object-stats/s3-events-target")).toMatchObject({
      rule: ref("aws_cloudwatch_event_rule", "object-stats/s3-events", "name"),
      arn: ref("aws_lambda_function", "object-stats/function", "arn"),
      dead_letter_config: { arn: deadLetters },
      retry_policy: { maximum_retry_attempts: 185, maximum_event_age_in_seconds: 86_400 },
    });
    expect(resourceAt(stack, "aws_lambda_permission", "object-stats/s3-events-invoke")).toMatchObject({
      principal: "events.amazonaws.com",
      source_arn: ref("aws_cloudwatch_event_rule", "object-stats/s3-events", "arn"),
    });
    // Lambda's own retries of the asynchronous invocation end in the same queue.
    expect(only(stack, "aws_lambda_function_event_invoke_config")).toMatchObject({
      maximum_retry_attempts: 2,
      destination_config: { on_failure: { destination: deadLetters } },
    });
    expect(only(stack, "aws_sqs_queue")).toMatchObject({
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1_209_600,
    });
    expect(statementsOf(only(stack, "aws_sqs_queue_policy"))).toEqual([
      {
        Sid: "RuleTargetDeadLetters",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: deadLetters,
        Condition: {
          ArnEquals: { "aws:SourceArn": [ref("aws_cloudwatch_event_rule", "object-stats/s3-events", "arn")] },
        },
      },
    ]);
    expect(resourcesOf(stack, "aws_cloudwatch_event_rule")).toHaveLength(1);
  });

  it("serves GET /count through an HTTP API with IAM authorization, payload 2.0, throttling and access logs", () => {
    const api = ref("aws_apigatewayv2_api", "object-stats/api", "id");
    expect(only(stack, "aws_apigatewayv2_api")).toMatchObject({ protocol_type: "HTTP" });
    expect(only(stack, "aws_apigatewayv2_api").cors_configuration).toBeUndefined();
    expect(only(stack, "aws_apigatewayv2_integration")).toMatchObject({
      api_id: api,
      integration_type: "AWS_PROXY",
      integration_uri: ref("aws_lambda_function", "object-stats/function", "arn"),
      payload_format_version: "2.0",
    });
    expect(resourcesOf(stack, "aws_apigatewayv2_route").map(([, route]) => route)).toEqual([
      expect.objectContaining({ route_key: "GET /count", authorization_type: "AWS_IAM" }),
    ]);
    expect(resourcesOf(stack, "aws_apigatewayv2_authorizer")).toEqual([]);
    expect(only(stack, "aws_apigatewayv2_stage")).toMatchObject({
      name: "$default",
      auto_deploy: true,
      default_route_settings: { throttling_burst_limit: 20, throttling_rate_limit: 10 },
      access_log_settings: { destination_arn: ref("aws_cloudwatch_log_group", "object-stats/api/access-logs", "arn") },
    });
    expect(resourceAt(stack, "aws_cloudwatch_log_group", "object-stats/api/access-logs")).toMatchObject({
      name: "/aws/apigateway/s3edge-example-object-stats",
      retention_in_days: 30,
    });
    expect(resourceAt(stack, "aws_lambda_permission", "object-stats/api/invoke-0")).toMatchObject({
      principal: "apigateway.amazonaws.com",
      source_arn: `${ref("aws_apigatewayv2_api", "object-stats/api", "execution_arn")}/*/GET/count`,
    });
    expect(stack.output?.count_url.value).toBe(
      `${ref("aws_apigatewayv2_api", "object-stats/api", "api_endpoint")}/count`,
    );
  });

  it("encrypts the topic with a rotating key that only admins, the function and SNS (for this topic) use", () => {
    expect(only(stack, "aws_sns_topic")).toMatchObject({ name: "s3edge-example-object-stats", kms_master_key_id: key });
    const keyResource = only(stack, "aws_kms_key");
    expect(keyResource).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    const statements = statementsOf(keyResource);
    expect(statements.map((s) => [s.Sid, s.Principal])).toEqual([
      ["KeyAdministration", { AWS: `arn:aws:iam::${ACCOUNT}:root` }],
      ["PublishersUseKey", { AWS: [role] }],
      ["SnsUsesKeyForThisTopic", { Service: "sns.amazonaws.com" }],
    ]);
    expect(statements[0].Action).not.toEqual(expect.arrayContaining(["kms:Decrypt", "kms:Encrypt", "kms:*"]));
    expect(statements[2].Condition).toEqual({
      StringEquals: { "aws:SourceAccount": ACCOUNT },
      ArnEquals: { "aws:SourceArn": `arn:aws:sns:us-east-2:${ACCOUNT}:s3edge-example-object-stats` },
    });
  });

  it("lets only the function publish and nobody subscribe when config names no subscriber", () => {
    const statements = statementsOf(only(stack, "aws_sns_topic_policy"));
    const allows = statements.filter((s) => s.Effect === "Allow");
    for (const statement of allows) expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
    expect(allows.find((s) => s.Action === "sns:Publish")).toMatchObject({
      Principal: { AWS: [role] },
      Resource: topic,
    });
    expect(allows.flatMap((s) => ([] as string[]).concat(s.Action ?? []))).not.toContain("sns:Subscribe");
    expect(statements.find((s) => s.Effect === "Deny")).toEqual({
      Sid: "NobodyElseSubscribes",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "sns:Subscribe",
      Resource: topic,
    });
  });
});

describe("object-stats with the full example config", () => {
  const app = synthApp(fullConfigInput());
  const stack = app.stacks["object-stats"];
  const ref = (type: string, path: string, attribute: string) => referenceTo(stack, type, path, attribute);
  const topic = ref("aws_sns_topic", "object-stats/notifications/topic", "arn");

  it("follows every security rule", () => {
    expect(policyViolations(app.stacks)).toEqual([]);
  });

  it("monitors the configured extra bucket beside the primary one", () => {
    expect(resourceAt(stack, "aws_cloudwatch_event_rule", "object-stats/s3-events").event_pattern).toContain(
      `"name" = [${PRIMARY_NAME}, "acme-media-uploads"]`,
    );
  });

  it("authorizes with the configured JWT issuer and audience, and answers CORS for the configured origin", () => {
    const authorizer = only(stack, "aws_apigatewayv2_authorizer");
    expect(authorizer).toMatchObject({
      authorizer_type: "JWT",
      identity_sources: ["$request.header.Authorization"],
      jwt_configuration: {
        issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        audience: ["7d1example2client3id"],
      },
    });
    expect(only(stack, "aws_apigatewayv2_route")).toMatchObject({
      route_key: "GET /count",
      authorization_type: "JWT",
      authorizer_id: ref("aws_apigatewayv2_authorizer", "object-stats/api/authorizer", "id"),
    });
    expect(only(stack, "aws_apigatewayv2_api").cors_configuration).toEqual({
      allow_origins: ["https://ops.acme.example"],
      allow_methods: ["GET"],
      allow_headers: ["authorization", "content-type", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"],
      allow_credentials: false,
      max_age: 600,
    });
    expect(only(stack, "aws_apigatewayv2_stage").default_route_settings).toMatchObject({
      throttling_burst_limit: 50,
      throttling_rate_limit: 25,
    });
  });

  it("publishes summaries on a schedule of the configured window, with the same DLQ and retries", () => {
    expect(resourceAt(stack, "aws_cloudwatch_event_rule", "object-stats/summary-schedule")).toMatchObject({
      schedule_expression: "rate(30 minutes)",
    });
    expect(resourceAt(stack, "aws_cloudwatch_event_target", "object-stats/summary-schedule-target")).toMatchObject({
      dead_letter_config: { arn: ref("aws_sqs_queue", "object-stats/dead-letters", "arn") },
      retry_policy: { maximum_retry_attempts: 185 },
    });
    const fn = only(stack, "aws_lambda_function");
    expect((fn.environment as { variables: Record<string, string> }).variables).toMatchObject({
      NOTIFICATION_MODE: "summary",
      DEDUPE_TTL_DAYS: "14",
    });
  });

  it("lets exactly the configured principals subscribe", () => {
    const statements = statementsOf(only(stack, "aws_sns_topic_policy"));
    expect(statements.find((s) => s.Sid === "NamedSubscribers")).toEqual({
      Sid: "NamedSubscribers",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::210987654321:root", "arn:aws:iam::123456789012:role/media-ops"] },
      Action: "sns:Subscribe",
      Resource: topic,
    });
    expect(statements.find((s) => s.Effect === "Deny")).toEqual({
      Sid: "NobodyElseSubscribes",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "sns:Subscribe",
      Resource: topic,
      Condition: {
        StringNotEquals: { "aws:PrincipalAccount": ["210987654321"] },
        ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::123456789012:role/media-ops"] },
      },
    });
  });
});

describe("object-stats subscribers given as account root ARNs", () => {
  const app = synthApp({
    legacyOrigin: null,
    domain: null,
    edge: { enabled: false },
    cdn: { enabled: false },
    image: { enabled: false },
    objectStats: {
      notifications: {
        subscriberPrincipals: [
          "arn:aws:iam::333344445555:root",
          "444455556666",
          "arn:aws:iam::123456789012:role/media-ops",
        ],
      },
    },
  });
  const statements = statementsOf(only(app.stacks["object-stats"], "aws_sns_topic_policy"));

  it("exempts every role and user of a root-ARN account from the deny, by account (no caller's PrincipalArn is the root)", () => {
    expect(statements.find((s) => s.Sid === "NamedSubscribers")?.Principal).toEqual({
      AWS: [
        "arn:aws:iam::333344445555:root",
        "arn:aws:iam::444455556666:root",
        "arn:aws:iam::123456789012:role/media-ops",
      ],
    });
    expect(statements.find((s) => s.Sid === "NobodyElseSubscribes")?.Condition).toEqual({
      StringNotEquals: { "aws:PrincipalAccount": ["333344445555", "444455556666"] },
      ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::123456789012:role/media-ops"] },
    });
  });

  it("denies a role of another account and lets a role of the root-ARN account through (policy evaluation)", () => {
    const deny = statements.find((s) => s.Sid === "NobodyElseSubscribes")!;
    // IAM: conditions of one statement are ANDed, the values of one condition key ORed.
    const denied = (caller: { account: string; arn: string }) =>
      !(deny.Condition!.StringNotEquals["aws:PrincipalAccount"] as string[]).includes(caller.account) &&
      !(deny.Condition!.ArnNotEquals["aws:PrincipalArn"] as string[]).includes(caller.arn);
    expect(denied({ account: "333344445555", arn: "arn:aws:iam::333344445555:role/consumer" })).toBe(false);
    expect(denied({ account: "123456789012", arn: "arn:aws:iam::123456789012:role/media-ops" })).toBe(false);
    expect(denied({ account: "123456789012", arn: "arn:aws:iam::123456789012:role/other" })).toBe(true);
    expect(denied({ account: "999999999999", arn: "arn:aws:iam::999999999999:role/consumer" })).toBe(true);
  });
});
