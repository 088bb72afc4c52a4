/**
 * Security rules every synthesized stack must follow, checked on the Terraform JSON so that stacks
 * added later are covered without new tests. Each rule has a negative test in policy.test.ts.
 */
import type { StackJson } from "./synth";

export interface Violation {
  readonly stack: string;
  /** `type.name` of the offending resource. */
  readonly resource: string;
  readonly rule: string;
  readonly detail: string;
}

/**
 * Actions that AWS does not let a policy scope to a resource ARN, so `Resource: "*"` is the only
 * option. Every entry says why.
 */
export const UNSCOPABLE_ACTIONS: Readonly<Record<string, string>> = {
  "xray:PutTraceSegments": "X-Ray has no resource types",
  "xray:PutTelemetryRecords": "X-Ray has no resource types",
  "cloudwatch:PutMetricData": "CloudWatch metrics have no ARNs (scope with the cloudwatch:namespace condition)",
  "ecr:GetAuthorizationToken": "the registry token is account-wide",
  "ec2:CreateNetworkInterface": "Lambda in a VPC creates its ENIs before they have ARNs",
  "ec2:DescribeNetworkInterfaces": "EC2 Describe* actions do not support resource-level permissions",
  "ec2:DeleteNetworkInterface": "Lambda in a VPC deletes ENIs it cannot name in advance",
};

export interface Statement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** Attributes that hold policy documents, by resource type. */
const POLICY_ATTRIBUTES: Readonly<Record<string, string>> = {
  aws_iam_role_policy: "policy",
  aws_iam_policy: "policy",
  aws_iam_role: "assume_role_policy",
  aws_s3_bucket_policy: "policy",
  aws_sqs_queue_policy: "policy",
  aws_sns_topic_policy: "policy",
  aws_kms_key: "policy",
  aws_kms_key_policy: "policy",
  aws_secretsmanager_secret_policy: "policy",
  aws_ecr_repository_policy: "policy",
  aws_cloudwatch_log_resource_policy: "policy_document",
};

/** Policies attached to a principal; every other policy attribute is a resource (or trust) policy. */
const IDENTITY_POLICY_TYPES = new Set(["aws_iam_role_policy", "aws_iam_policy"]);

/**
 * Key policies: `Resource: "*"` there means the key itself, and `kms:*` for the account root is
 * AWS's default statement that delegates the key to IAM (without it the key is unmanageable).
 */
const KEY_POLICY_TYPES = new Set(["aws_kms_key", "aws_kms_key_policy"]);
const ACCOUNT_ROOT = /^arn:(aws|aws-cn|\$\{data\.aws_partition\.[^}]+\}):iam::(\d{12}|\$\{[^}]+\}):root$/;

/** A stack of the China partition: its default provider is in a China region. */
const inChina = (stack: StackJson) => String(providerRegion(stack, undefined) ?? "").startsWith("cn-");

/** What a China stack must not contain: global-partition ARNs and endpoints (China uses `arn:aws-cn:`, `amazonaws.com.cn`). */
const GLOBAL_PARTITION_LITERALS = /arn:aws:|amazonaws\.com(?!\.cn)|cloudfront\.net/g;

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : ([] as string[]).concat(value);

export function parsePolicy(text: unknown): Statement[] | string {
  if (typeof text !== "string") return "policy is not a string";
  if (text.startsWith("${") && text.endsWith("}")) return "policy is a Terraform expression, not a literal document";
  try {
    const parsed = JSON.parse(text) as { Statement?: Statement | Statement[] };
    return ([] as Statement[]).concat(parsed.Statement ?? []);
  } catch {
    return "policy is not valid JSON";
  }
}

function iamDocumentStatements(body: Record<string, unknown>): Statement[] {
  const statements = (body.statement ?? []) as Array<Record<string, unknown>>;
  return statements.map((s) => ({
    Effect: (s.effect as string | undefined) ?? "Allow",
    Action: s.actions as string[] | undefined,
    NotAction: s.not_actions as string[] | undefined,
    Resource: s.resources as string[] | undefined,
    Principal: s.principals,
  }));
}

function checkStatements(
  statements: Statement[],
  isResourcePolicy: boolean,
  report: (rule: string, detail: string) => void,
  isKeyPolicy = false,
) {
  for (const statement of statements) {
    if (statement.Effect !== "Allow") continue;
    const label = statement.Sid ? `statement ${statement.Sid}` : "a statement";
    if (statement.NotAction !== undefined) report("iam-wildcard-action", `${label} allows NotAction`);
    const actions = list(statement.Action);
    const principalAws = (statement.Principal as { AWS?: unknown } | undefined)?.AWS;
    const toAccountRoot = typeof principalAws === "string" && ACCOUNT_ROOT.test(principalAws);
    for (const action of actions) {
      if (isKeyPolicy && action === "kms:*" && toAccountRoot) continue;
      if (action === "*" || /^[A-Za-z0-9-]+:\*$/.test(action)) {
        report("iam-wildcard-action", `${label} allows "${action}"`);
      }
    }
    const resources = list(statement.Resource);
    if (resources.includes("*") && !isKeyPolicy) {
      const unscopable = actions.length > 0 && actions.every((action) => action in UNSCOPABLE_ACTIONS);
      if (!unscopable) report("iam-wildcard-resource", `${label} allows ${actions.join(", ")} on Resource "*"`);
    }
    const principal = statement.Principal;
    const anyone =
      principal === "*" ||
      (typeof principal === "object" && principal !== null && (principal as { AWS?: unknown }).AWS === "*");
    if (isResourcePolicy && anyone && !statement.Condition) {
      report("public-resource-policy", `${label} allows any principal without a condition`);
    }
  }
}

/** `${aws_s3_bucket.name.attr}` → `aws_s3_bucket.name`, following cdktf cross-stack outputs. */
function referencedAddress(stacks: Readonly<Record<string, StackJson>>, value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const local = /^\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value);
  if (local) return local[1];
  const remote =
    /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/.exec(
      value,
    );
  if (remote) return referencedAddress(stacks, stacks[remote[1]]?.output?.[remote[2]]?.value);
  return undefined;
}

/** Attributes that hold credentials: an output of one must be sensitive. */
const SECRET_ATTRIBUTES: readonly RegExp[] = [
  /google_storage_hmac_key\.[^.]+\.secret\b/,
  /google_service_account_key\.[^.]+\.private_key\b/,
  /aws_iam_access_key\.[^.]+\.secret\b/,
  /aws_secretsmanager_secret_version\.[^.]+\.secret_string\b/,
];

/** The region of the aws provider a resource uses (`aws` or `aws.<alias>`). */
function providerRegion(stack: StackJson, provider: unknown): unknown {
  const alias = typeof provider === "string" && provider.startsWith("aws.") ? provider.slice(4) : undefined;
  return stack.provider?.aws?.find((p) => p.alias === alias)?.region;
}

export function policyViolations(stacks: Readonly<Record<string, StackJson>>): Violation[] {
  const violations: Violation[] = [];
  const everyResource = Object.entries(stacks).flatMap(([stackId, stack]) =>
    Object.entries(stack.resource ?? {}).flatMap(([type, byName]) =>
      Object.entries(byName).map(([name, body]) => ({ stackId, type, name, body })),
    ),
  );
  const resourcesFor = (type: string, bucketAddress: string) =>
    everyResource.filter((r) => r.type === type && referencedAddress(stacks, r.body.bucket) === bucketAddress);

  for (const { stackId, type, name, body } of everyResource) {
    const report = (rule: string, detail: string) =>
      violations.push({ stack: stackId, resource: `${type}.${name}`, rule, detail });

    const attribute = POLICY_ATTRIBUTES[type];
    if (attribute && body[attribute] !== undefined) {
      const statements = parsePolicy(body[attribute]);
      if (typeof statements === "string") report("policy-not-checkable", statements);
      else checkStatements(statements, !IDENTITY_POLICY_TYPES.has(type), report, KEY_POLICY_TYPES.has(type));
    }

    if (type === "aws_s3_bucket") {
      const address = `aws_s3_bucket.${name}`;
      const blocks = resourcesFor("aws_s3_bucket_public_access_block", address);
      const allBlocked = blocks.some(
        (b) =>
          b.body.block_public_acls &&
          b.body.block_public_policy &&
          b.body.ignore_public_acls &&
          b.body.restrict_public_buckets,
      );
      if (!allBlocked) report("bucket-public-access-block", "missing one of the four public access blocks");
      const ownership = resourcesFor("aws_s3_bucket_ownership_controls", address);
      if (
        !ownership.some(
          (o) => (o.body.rule as { object_ownership?: string })?.object_ownership === "BucketOwnerEnforced",
        )
      ) {
        report("bucket-owner-enforced", "object ownership is not BucketOwnerEnforced (ACLs stay on)");
      }
      const encryption = resourcesFor("aws_s3_bucket_server_side_encryption_configuration", address);
      const encrypted = encryption.some((e) =>
        (e.body.rule as Array<{ apply_server_side_encryption_by_default?: { sse_algorithm?: string } }>).some((rule) =>
          ["AES256", "aws:kms", "aws:kms:dsse"].includes(
            rule.apply_server_side_encryption_by_default?.sse_algorithm ?? "",
          ),
        ),
      );
      if (!encrypted) report("bucket-encryption", "no default server-side encryption");
      const policies = resourcesFor("aws_s3_bucket_policy", address);
      if (policies.length !== 1)
        report("bucket-single-policy", `${policies.length} bucket policy resources (need exactly one)`);
      const tlsOnly = policies.some((p) => {
        const statements = parsePolicy(p.body.policy);
        return (
          typeof statements !== "string" &&
          statements.some(
            (s) =>
              s.Effect === "Deny" &&
              list(s.Action).includes("s3:*") &&
              s.Condition?.Bool?.["aws:SecureTransport"] === "false",
          )
        );
      });
      if (!tlsOnly) report("bucket-tls-only", "bucket policy does not deny requests without TLS");
    }

    if (type === "aws_lambda_function") {
      const stack = stacks[stackId];
      const logGroups = Object.entries(stack.resource?.aws_cloudwatch_log_group ?? {});
      const configured = referencedAddress(
        stacks,
        (body.logging_config as { log_group?: string } | undefined)?.log_group,
      );
      const logGroup = logGroups.find(
        ([groupName, group]) =>
          `aws_cloudwatch_log_group.${groupName}` === configured ||
          group.name === `/aws/lambda/${String(body.function_name)}`,
      );
      if (!logGroup || typeof logGroup[1].retention_in_days !== "number") {
        report("lambda-log-retention", "no log group with retention for this function");
      }
      const roleAddress = referencedAddress(stacks, body.role);
      const trust = roleAddress
        ? stack.resource?.aws_iam_role?.[roleAddress.split(".")[1]]?.assume_role_policy
        : undefined;
      const isEdge = typeof trust === "string" && trust.includes("edgelambda.amazonaws.com");
      if (isEdge && body.environment !== undefined)
        report("edge-no-environment", "Lambda@Edge functions cannot have environment variables");
      if (isEdge && body.publish !== true)
        report("edge-published", "Lambda@Edge needs a published version (publish = true)");
      if (isEdge && providerRegion(stack, body.provider) !== "us-east-1")
        report("edge-us-east-1", "Lambda@Edge functions must be created in us-east-1");
      if (isEdge && JSON.stringify(body.architectures ?? ["x86_64"]) !== JSON.stringify(["x86_64"]))
        report("edge-x86_64", "Lambda@Edge runs x86_64 functions only");
    }

    if (type === "aws_cloudwatch_log_group" && typeof body.retention_in_days !== "number") {
      report("log-retention", "log group keeps logs forever (no retention_in_days)");
    }

    if (type === "aws_lambda_event_source_mapping") {
      const queue = referencedAddress(stacks, body.event_source_arn);
      if (queue?.startsWith("aws_sqs_queue.")) {
        const owner = everyResource.find((r) => `${r.type}.${r.name}` === queue);
        if (owner && owner.body.redrive_policy === undefined) {
          report("sqs-consumer-dlq", `${queue} is consumed by Lambda but has no dead-letter queue (redrive_policy)`);
        }
      }
    }

    if (type === "aws_sqs_queue" && body.sqs_managed_sse_enabled !== true && body.kms_master_key_id === undefined) {
      report("sqs-encryption", "queue without server-side encryption (SSE-SQS or SSE-KMS)");
    }

    if (type === "aws_sns_topic" && !body.kms_master_key_id) {
      report("sns-encryption", "topic is not encrypted with a KMS key (kms_master_key_id)");
    }

    if (type === "aws_cloudwatch_event_target" && !(body.dead_letter_config as { arn?: string } | undefined)?.arn) {
      report("event-target-dlq", "EventBridge target has no dead-letter queue: undeliverable events are dropped");
    }

    // CloudFront China offers no origin access control: an OAI is how it reads private buckets there.
    if (type === "aws_cloudfront_origin_access_identity" && !inChina(stacks[stackId]))
      report("cloudfront-oac", "use Origin Access Control, not an OAI");
    if (type === "aws_cloudfront_distribution") {
      type Behavior = { viewer_protocol_policy?: string };
      const behaviors = [
        body.default_cache_behavior as Behavior,
        ...((body.ordered_cache_behavior ?? []) as Behavior[]),
      ];
      if (behaviors.some((b) => b.viewer_protocol_policy === "allow-all")) {
        report("cloudfront-https", "a cache behaviour lets viewers use plain HTTP");
      }
    }
  }

  violations.push(...operationsViolations(stacks, everyResource));

  for (const [stackId, stack] of Object.entries(stacks)) {
    if (inChina(stack)) {
      const found = new Set(JSON.stringify(stack).match(GLOBAL_PARTITION_LITERALS));
      if (found.size > 0) {
        violations.push({
          stack: stackId,
          resource: "(stack)",
          rule: "partition-literal",
          detail: `writes ${[...found].join(", ")} in the aws-cn partition (build ARNs and domains from aws_partition)`,
        });
      }
    }
    for (const [name, output] of Object.entries(stack.output ?? {})) {
      const secret = SECRET_ATTRIBUTES.find((pattern) => pattern.test(JSON.stringify(output.value)));
      if (secret && output.sensitive !== true) {
        violations.push({
          stack: stackId,
          resource: `output.${name}`,
          rule: "sensitive-output",
          detail: `exposes ${secret.source} without sensitive = true`,
        });
      }
    }
    for (const [name, body] of Object.entries(stack.data?.aws_iam_policy_document ?? {})) {
      checkStatements(iamDocumentStatements(body), false, (rule, detail) =>
        violations.push({ stack: stackId, resource: `data.aws_iam_policy_document.${name}`, rule, detail }),
      );
    }
  }
  return violations;
}

type ResourceEntry = { stackId: string; type: string; name: string; body: Record<string, unknown> };

/** The queue addresses that serve as dead-letter queues: of a redrive policy, an EventBridge target, an async invoke config. */
function deadLetterQueueAddresses(
  stacks: Readonly<Record<string, StackJson>>,
  resources: ResourceEntry[],
): Set<string> {
  const found = new Set<string>();
  const add = (value: unknown) => {
    const address = referencedAddress(stacks, value);
    if (address?.startsWith("aws_sqs_queue.")) found.add(address);
  };
  for (const { type, body } of resources) {
    if (type === "aws_sqs_queue" && typeof body.redrive_policy === "string") {
      try {
        add((JSON.parse(body.redrive_policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn);
      } catch {
        // A redrive policy that is a Terraform expression names its queue elsewhere.
      }
    }
    if (type === "aws_cloudwatch_event_target") add((body.dead_letter_config as { arn?: string } | undefined)?.arn);
    if (type === "aws_lambda_function_event_invoke_config") {
      const destination = body.destination_config as { on_failure?: { destination?: string } } | undefined;
      add(destination?.on_failure?.destination);
    }
  }
  return found;
}

/** Operations rules: alarms notify someone, every DLQ has an alarm, SNS topics are encrypted and scoped. */
function operationsViolations(stacks: Readonly<Record<string, StackJson>>, resources: ResourceEntry[]): Violation[] {
  const violations: Violation[] = [];
  const report = (r: ResourceEntry, rule: string, detail: string) =>
    violations.push({ stack: r.stackId, resource: `${r.type}.${r.name}`, rule, detail });
  const alarms = resources.filter((r) => r.type === "aws_cloudwatch_metric_alarm");
  for (const alarm of alarms) {
    for (const attribute of ["alarm_actions", "ok_actions"]) {
      const actions = alarm.body[attribute];
      if (!Array.isArray(actions) || actions.length === 0) {
        report(alarm, "alarm-actions", `no ${attribute}: nobody hears of this alarm`);
      }
    }
  }
  const watchedQueues = alarms.flatMap((alarm) => {
    const queries = (alarm.body.metric_query ?? []) as Array<{ metric?: { dimensions?: Record<string, string> } }>;
    return [alarm.body.dimensions as Record<string, string> | undefined, ...queries.map((q) => q.metric?.dimensions)]
      .map((dimensions) => dimensions?.QueueName)
      .filter((name): name is string => name !== undefined);
  });
  for (const address of deadLetterQueueAddresses(stacks, resources)) {
    const queue = resources.find((r) => `${r.type}.${r.name}` === address);
    if (!queue) continue;
    const watched = watchedQueues.some(
      (name) => name === queue.body.name || referencedAddress(stacks, name) === address,
    );
    if (!watched) report(queue, "dlq-alarm", `dead-letter queue ${String(queue.body.name)} has no alarm`);
  }
  for (const topic of resources.filter((r) => r.type === "aws_sns_topic")) {
    const address = `aws_sns_topic.${topic.name}`;
    const policies = resources.filter(
      (r) => r.type === "aws_sns_topic_policy" && referencedAddress(stacks, r.body.arn) === address,
    );
    if (policies.length !== 1) {
      report(topic, "sns-topic-policy", `${policies.length} topic policies (need exactly one)`);
      continue;
    }
    const statements = parsePolicy(policies[0].body.policy);
    if (typeof statements === "string") continue; // reported by the policy rules
    for (const statement of statements) {
      const service = (statement.Principal as { Service?: unknown } | undefined)?.Service;
      const conditions = Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block));
      const scoped = conditions.some((key) => ["aws:SourceArn", "aws:SourceAccount"].includes(key));
      if (statement.Effect === "Allow" && service !== undefined && !scoped) {
        report(
          topic,
          "sns-topic-policy",
          `${statement.Sid ?? "a statement"} lets ${String(service)} in without aws:SourceArn or aws:SourceAccount`,
        );
      }
    }
  }
  return violations;
}
