/**
 * Realistic stand-in values for what an offline `terraform plan` cannot read: the outputs of the
 * stacks a stack reads through `terraform_remote_state`, and the data sources that call AWS. Each
 * value has the shape of what it stands for (an ARN of the right service, region and account; a
 * bucket name; a zone id), derived from the producing resource in the synthesized JSON, and is the
 * same on every run so that plans are comparable. Used by `terraform-check.ts` to write a
 * `terraform test` file with `override_data` blocks: Terraform's own mechanism, the synthesized
 * JSON is never edited.
 */
import { createHash } from "node:crypto";
import { CLOUDFRONT_HOME_REGION } from "../config/aws-facts";

/** The account every fabricated ARN names. */
export const OFFLINE_ACCOUNT_ID = "123456789012";

/** Data sources the aws provider evaluates without calling AWS: never overridden. */
export const LOCAL_DATA_SOURCES: ReadonlySet<string> = new Set([
  "aws_iam_policy_document",
  "aws_partition",
  "aws_region",
  "aws_service_principal",
  "terraform_remote_state", // overridden by its own rule (the producer's outputs)
]);

/** The parts of a synthesized stack this module reads. */
export interface SynthesizedStack {
  provider?: Record<string, Array<Record<string, unknown>>>;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown }>;
  /** Terraform `import` blocks (cdktf `importFrom`): existing objects the plan would read. */
  import?: Array<{ to: string; id: string; provider?: string }>;
}

/** One value stood in for, and what it was derived from (for the report). */
export interface Fabricated {
  readonly value: unknown;
  /** e.g. `aws_s3_bucket.arn` or `generic` when no rule knows the attribute. */
  readonly from: string;
}

const partitionOf = (region: string) => (region.startsWith("cn-") ? "aws-cn" : "aws");
const dnsSuffixOf = (region: string) => (region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com");

/** Deterministic characters from an address: the same address gives the same id on every run. */
function digest(address: string, length: number, alphabet = "0123456789abcdef"): string {
  const bytes = createHash("sha256").update(address).digest();
  return Array.from(bytes.subarray(0, length), (b) => alphabet[b % alphabet.length]).join("");
}
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const uuid = (address: string) => {
  const hex = digest(address, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** A literal string argument of a resource, or undefined when it is computed (`${...}`) or absent. */
function literal(body: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = body[name];
    if (typeof value === "string" && !value.includes("${")) return value;
  }
  return undefined;
}

/** What a resource is called: its name argument when literal, else one derived from its address. */
function nameOf(logicalName: string, body: Record<string, unknown>): string {
  const named = literal(body, "name", "function_name", "bucket", "repository_name", "domain_name");
  if (named) return named;
  const prefix = literal(body, "name_prefix", "bucket_prefix");
  return `${prefix ?? "s3-edge-"}${logicalName.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.slice(0, 63);
}

interface ResourceContext {
  readonly type: string;
  readonly address: string;
  readonly name: string;
  readonly region: string;
  readonly partition: string;
  readonly body: Record<string, unknown>;
}

/** The ARN of a resource, in the format its service documents. */
function arnOf(c: ResourceContext): string {
  const a = OFFLINE_ACCOUNT_ID;
  const prefix = (service: string, region = c.region) => `arn:${c.partition}:${service}:${region}:${a}`;
  switch (c.type) {
    case "aws_s3_bucket":
      return `arn:${c.partition}:s3:::${c.name}`;
    case "aws_sqs_queue":
      return `${prefix("sqs")}:${c.name}`;
    case "aws_sns_topic":
      return `${prefix("sns")}:${c.name}`;
    case "aws_dynamodb_table":
      return `${prefix("dynamodb")}:table/${c.name}`;
    case "aws_lambda_function":
      return `${prefix("lambda")}:function:${c.name}`;
    case "aws_cloudfront_distribution":
      return `${prefix("cloudfront", "")}:distribution/${cloudFrontId(c.address)}`;
    case "aws_cloudfront_function":
      return `${prefix("cloudfront", "")}:function/${c.name}`;
    case "aws_cloudfront_vpc_origin":
      return `${prefix("cloudfront", "")}:vpcorigin/vo_${digest(c.address, 22, UPPER.toLowerCase())}`;
    case "aws_acm_certificate":
    case "aws_acm_certificate_validation":
      return `${prefix("acm", CLOUDFRONT_HOME_REGION)}:certificate/${uuid(c.address)}`;
    case "aws_iam_role":
      return `arn:${c.partition}:iam::${a}:role/${c.name}`;
    case "aws_iam_policy":
      return `arn:${c.partition}:iam::${a}:policy/${c.name}`;
    case "aws_kms_key":
      return `${prefix("kms")}:key/${uuid(c.address)}`;
    case "aws_secretsmanager_secret":
      return `${prefix("secretsmanager")}:secret:${c.name}-${digest(c.address, 6, UPPER)}`;
    case "aws_cloudwatch_log_group":
      return `${prefix("logs")}:log-group:${c.name}`;
    case "aws_lb":
      return `${prefix("elasticloadbalancing")}:loadbalancer/app/${c.name}/${digest(c.address, 16)}`;
    case "aws_ecr_repository":
      return `${prefix("ecr")}:repository/${c.name}`;
    case "aws_route53_zone":
      return `arn:${c.partition}:route53:::hostedzone/${zoneId(c.address)}`;
    case "aws_apigatewayv2_api":
      return `arn:${c.partition}:apigateway:${c.region}::/apis/${digest(c.address, 10, "abcdefghijklmnopqrstuvwxyz0123456789")}`;
    default: {
      // aws_<service>_<thing>: the service's namespace is the first word of the type.
      const [, service = "unknown", ...rest] = c.type.split("_");
      return `${prefix(service)}:${rest.join("-") || "resource"}/${c.name}`;
    }
  }
}

const cloudFrontId = (address: string) => `E${digest(address, 13, UPPER)}`;
const zoneId = (address: string) => `Z${digest(address, 20, UPPER)}`;

/** A stand-in for one attribute of one resource (or data source). */
function attributeValue(c: ResourceContext, attribute: string): Fabricated {
  const from = `${c.type}.${attribute}`;
  const known = (value: unknown): Fabricated => ({ value, from });
  const apiId = digest(c.address, 10, "abcdefghijklmnopqrstuvwxyz0123456789");
  switch (`${c.type}.${attribute}`) {
    case "aws_s3_bucket.bucket":
    case "aws_s3_bucket.id":
      return known(c.name);
    case "aws_s3_bucket.bucket_regional_domain_name":
      return known(`${c.name}.s3.${c.region}.${dnsSuffixOf(c.region)}`);
    case "aws_s3_bucket.bucket_domain_name":
      return known(`${c.name}.s3.${dnsSuffixOf(c.region)}`);
    case "aws_sqs_queue.url":
    case "aws_sqs_queue.id":
      return known(`https://sqs.${c.region}.${dnsSuffixOf(c.region)}/${OFFLINE_ACCOUNT_ID}/${c.name}`);
    case "aws_lambda_function.qualified_arn":
      return known(`${arnOf(c)}:1`);
    case "aws_lambda_function.version":
      return known("1");
    case "aws_lambda_function.invoke_arn":
      return known(
        `arn:${c.partition}:apigateway:${c.region}:lambda:path/2015-03-31/functions/${arnOf(c)}/invocations`,
      );
    case "aws_lambda_function_url.function_url":
      return known(
        `https://${digest(c.address, 32, "abcdefghijklmnopqrstuvwxyz0123456789")}.lambda-url.${c.region}.on.aws/`,
      );
    case "aws_cloudfront_distribution.id":
      return known(cloudFrontId(c.address));
    case "aws_cloudfront_distribution.domain_name":
      return known(
        `d${digest(c.address, 13, "abcdefghijklmnopqrstuvwxyz0123456789")}.${c.partition === "aws-cn" ? "cloudfront.cn" : "cloudfront.net"}`,
      );
    case "aws_cloudfront_distribution.hosted_zone_id":
      return known("Z2FDTNDATAQYW2"); // CloudFront's one alias-target zone
    case "aws_acm_certificate_validation.certificate_arn":
    case "aws_acm_certificate.id":
      return known(arnOf(c));
    case "aws_route53_zone.zone_id":
    case "aws_route53_zone.id":
      return known(zoneId(c.address));
    case "aws_apigatewayv2_api.api_endpoint":
      return known(`https://${apiId}.execute-api.${c.region}.${dnsSuffixOf(c.region)}`);
    case "aws_apigatewayv2_api.id":
      return known(apiId);
    case "aws_lb.dns_name":
      return known(`${c.name}-${digest(c.address, 10, "0123456789")}.${c.region}.elb.${dnsSuffixOf(c.region)}`);
    case "google_storage_hmac_key.access_id":
      return known(`GOOG1E${digest(c.address, 55, UPPER)}`);
    case "google_storage_hmac_key.secret":
      return known(Buffer.from(digest(c.address, 30)).toString("base64"));
  }
  if (attribute === "arn" || (attribute.endsWith("_arn") && !attribute.startsWith("source"))) {
    return known(arnOf(c));
  }
  if (["name", "function_name", "bucket", "repository_name", "table_name"].includes(attribute)) return known(c.name);
  if (attribute === "id") return known(c.name);
  if (attribute === "region") return known(c.region);
  return { value: `offline-${c.type}-${attribute}`, from: "generic" };
}

/** The region of a resource: its provider alias's region, else the stack's default provider's. */
function regionOf(stack: SynthesizedStack, body: Record<string, unknown>): string {
  const providers = stack.provider?.aws ?? [];
  const alias = typeof body.provider === "string" ? body.provider.replace(/^aws\./, "") : undefined;
  const provider = providers.find((p) => (alias ? p.alias === alias : p.alias === undefined));
  return typeof provider?.region === "string" ? provider.region : "us-east-1";
}

function contextOf(stack: SynthesizedStack, kind: "resource" | "data", type: string, logicalName: string) {
  const body = stack[kind]?.[type]?.[logicalName];
  if (!body) return undefined;
  const region = regionOf(stack, body);
  return {
    type,
    address: `${kind === "data" ? "data." : ""}${type}.${logicalName}`,
    name: nameOf(logicalName, body),
    region,
    partition: partitionOf(region),
    body,
  } satisfies ResourceContext;
}

/** `type.name.attr` or `data.type.name.attr` (with an optional `[0]` on the name) in an expression. */
const REFERENCE = /^(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\[\d+\])?\.([a-z0-9_]+)$/;

/**
 * A stand-in for an output of a producing stack: each `${...}` reference in its value expression is
 * replaced by the stand-in for that resource attribute (a whole-expression reference keeps its type).
 */
export function fabricateOutput(producer: SynthesizedStack, outputName: string): Fabricated {
  const output = producer.output?.[outputName];
  if (!output) return { value: `offline-missing-output-${outputName}`, from: "missing" };
  if (typeof output.value !== "string") return { value: output.value, from: "literal" };
  const sources: string[] = [];
  const resolve = (expression: string): unknown => {
    const match = REFERENCE.exec(expression.trim());
    const context = match && contextOf(producer, match[1] ? "data" : "resource", match[2], match[3]);
    if (!match || !context) {
      sources.push("generic");
      return `offline-${expression.replace(/[^A-Za-z0-9]+/g, "-")}`;
    }
    const data = match[1] ? dataSourceValues(context) : undefined;
    const fabricated: Fabricated =
      data && data.values[match[4]] !== undefined
        ? { value: data.values[match[4]], from: `data.${context.type}.${match[4]}` }
        : attributeValue(context, match[4]);
    sources.push(fabricated.from);
    return fabricated.value;
  };
  const whole = /^\$\{([^}]*)\}$/.exec(output.value);
  const value = whole
    ? resolve(whole[1])
    : output.value.replace(/\$\{([^}]*)\}/g, (_, expression: string) => String(resolve(expression)));
  return { value, from: sources.join("+") || "literal" };
}

/**
 * Values for an AWS-reading data source, shaped like AWS's answer to its arguments. Attributes not
 * named here are filled by Terraform's override mechanism with generated values.
 */
function dataSourceValues(c: ResourceContext): { values: Record<string, unknown>; from: string } {
  const from = `data.${c.type}`;
  switch (c.type) {
    case "aws_caller_identity":
      return {
        from,
        values: {
          account_id: OFFLINE_ACCOUNT_ID,
          arn: `arn:${c.partition}:iam::${OFFLINE_ACCOUNT_ID}:user/offline-plan`,
          user_id: `AIDA${digest(c.address, 17, UPPER)}`,
          id: OFFLINE_ACCOUNT_ID,
        },
      };
    case "aws_route53_zone": {
      const id = literal(c.body, "zone_id") ?? zoneId(c.address);
      const name = literal(c.body, "name") ?? "example.com";
      return {
        from,
        values: {
          zone_id: id,
          id,
          name,
          arn: `arn:${c.partition}:route53:::hostedzone/${id}`,
          private_zone: false,
          name_servers: ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"],
        },
      };
    }
    case "aws_availability_zones":
      return {
        from,
        values: {
          id: c.region,
          names: ["a", "b", "c"].map((zone) => `${c.region}${zone}`),
          zone_ids: [1, 2, 3].map((n) => `${c.region.replace(/-/g, "").slice(0, 4)}-az${n}`),
        },
      };
    case "aws_ec2_managed_prefix_list": {
      const id = literal(c.body, "id") ?? `pl-${digest(c.address + c.region, 8)}`;
      return {
        from,
        values: {
          id,
          name: literal(c.body, "name") ?? "com.amazonaws.global.cloudfront.origin-facing",
          arn: `arn:${c.partition}:ec2:${c.region}:aws:prefix-list/${id}`,
          address_family: "IPv4",
          max_entries: 55,
        },
      };
    }
    case "aws_secretsmanager_random_password": {
      const length = typeof c.body.password_length === "number" ? c.body.password_length : 32;
      return { from, values: { random_password: digest(c.address, length, UPPER + "abcdefghijklmnopqrstuvwxyz") } };
    }
    default:
      return { from: `data.${c.type} (terraform-generated)`, values: {} };
  }
}

/** The `override_data` values for every AWS-reading data source of a stack. */
export function fabricateDataSources(stack: SynthesizedStack): Array<{ target: string; values: object; from: string }> {
  const overrides: Array<{ target: string; values: object; from: string }> = [];
  for (const [type, instances] of Object.entries(stack.data ?? {})) {
    if (LOCAL_DATA_SOURCES.has(type)) continue;
    for (const logicalName of Object.keys(instances)) {
      const context = contextOf(stack, "data", type, logicalName)!;
      const { values, from } = dataSourceValues(context);
      overrides.push({ target: context.address, values, from });
    }
  }
  return overrides;
}

/** Attributes of an imported resource that the stack reads, per type; others are terraform-generated. */
const IMPORTED_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  aws_s3_bucket: ["id", "bucket", "arn", "region", "bucket_regional_domain_name", "bucket_domain_name"],
};

/**
 * The `override_resource` values for every resource a stack imports: the import would read the
 * existing object from AWS, so the plan is given one shaped like it, in the region its provider
 * names (so that postconditions on the region hold, as they must for a bucket the config places
 * there). The import itself is still planned (`N to import`).
 */
export function fabricateImports(stack: SynthesizedStack): Array<{ target: string; values: object; from: string }> {
  return (stack.import ?? []).flatMap(({ to, id }) => {
    const [type, logicalName] = to.split(".");
    const context = contextOf(stack, "resource", type, logicalName);
    if (!context) return [];
    const imported = { ...context, name: id };
    const values = Object.fromEntries(
      (IMPORTED_ATTRIBUTES[type] ?? ["id", "arn"]).map((attribute) => [
        attribute,
        attributeValue(imported, attribute).value,
      ]),
    );
    return [{ target: to, values, from: `import of ${id}` }];
  });
}

/** The producing stack a remote-state reader names (cdktf: `cross-stack-reference-input-<stack>`). */
export function producerOf(remoteStateName: string): string | undefined {
  return /^cross-stack-reference-input-(.+)$/.exec(remoteStateName)?.[1];
}

/** Every output of `data.terraform_remote_state.<name>` that the stack reads. */
export function outputsRead(stack: SynthesizedStack, remoteStateName: string): string[] {
  const text = JSON.stringify(stack);
  const escaped = remoteStateName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`data\\.terraform_remote_state\\.${escaped}\\.outputs\\.([A-Za-z0-9_-]+)`, "g");
  return [...new Set(Array.from(text.matchAll(pattern), (m) => m[1]))].sort();
}
