import type { S3EdgeConfigInput } from "../../config";
import { parseConfig } from "../../config";
import { configProblems } from "../support/config-problems";
import { policyViolations } from "../support/policy-checks";
import { chinaConfigInput, resourcesOf, synthApp, type StackJson, type SynthesizedApp } from "../support/synth";

const CHINA_REGIONS = { primaryRegion: "cn-north-1", replicaRegion: "cn-northwest-1" } as const;
const CHINA_DELIVERY = {
  iamCertificateId: "ASCACKCEVSQ6C2EXAMPLE",
  contentAliases: ["media.example.com.cn"],
  imageAliases: ["images.example.com.cn"],
};
/** The smallest China config that delivers: what the China defaults of each section must be. */
const MINIMAL_CHINA: S3EdgeConfigInput = {
  ...CHINA_REGIONS,
  domain: null,
  edge: { enabled: false },
  cdn: { logging: false },
  china: CHINA_DELIVERY,
};

describe("config: one partition per deployment", () => {
  it("reads China regions as an aws-cn deployment", () => {
    expect(parseConfig(chinaConfigInput()).partition).toBe("aws-cn");
    expect(parseConfig(MINIMAL_CHINA).partition).toBe("aws-cn");
    expect(parseConfig({}).partition).toBe("aws");
  });

  it("refuses regions and ARNs of another partition, naming each field", () => {
    expect(
      configProblems({
        ...MINIMAL_CHINA,
        replicaRegion: "us-west-2",
        backend: { type: "s3", bucket: "state-bucket", region: "eu-west-1" },
        operations: { topicArns: { "cn-north-1": "arn:aws:sns:cn-north-1:123456789012:ops" } },
        objectStats: { notifications: { subscriberPrincipals: ["arn:aws:iam::123456789012:role/ops"] } },
      }),
    ).toEqual([
      "replicaRegion: us-west-2 is in partition aws, but primaryRegion cn-north-1 is in partition aws-cn (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
      "backend.region: eu-west-1 is in partition aws, but primaryRegion cn-north-1 is in partition aws-cn (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
      "operations.topicArns.cn-north-1: the ARN is in partition aws, but primaryRegion cn-north-1 is in partition aws-cn (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
      "objectStats.notifications.subscriberPrincipals.0: the ARN is in partition aws, but primaryRegion cn-north-1 is in partition aws-cn (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
    ]);
    expect(
      configProblems({
        standaloneInvalidation: [
          { name: "site", bucket: "site-bucket", distributionId: "E2QWRUHEXAMPLE", region: "cn-north-1" },
        ],
        storage: { encryption: { type: "sse-kms", primaryKeyArn: "arn:aws-cn:kms:us-east-2:123456789012:key/a" } },
        china: CHINA_DELIVERY,
      }),
    ).toEqual([
      "standaloneInvalidation.0.region: cn-north-1 is in partition aws-cn, but primaryRegion us-east-2 is in partition aws (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
      "storage.encryption.primaryKeyArn: the ARN is in partition aws-cn, but primaryRegion us-east-2 is in partition aws (one deployment stays in one partition: their accounts, credentials and ARNs are separate)",
      "china: applies to the China regions (aws-cn) only; primaryRegion is us-east-2",
    ]);
  });

  it("says, for each default CloudFront China cannot honour, what to set instead", () => {
    const problems = configProblems(CHINA_REGIONS);
    expect(problems.map((p) => p.split(":")[0])).toEqual(["domain", "china", "edge.enabled", "cdn.logging"]);
    expect(problems[2]).toContain("failover to the legacy store still serves misses");
    expect(problems[2]).toContain("`npm run migrate` copies the legacy objects in bulk");
  });

  it("refuses what CloudFront China does not offer", () => {
    expect(
      configProblems({
        ...MINIMAL_CHINA,
        china: { ...CHINA_DELIVERY, contentAliases: [] },
        storage: { encryption: { type: "sse-kms" } },
        legacyOrigin: { bucket: "legacy-bucket", access: "private", project: "legacy-project" },
        cdn: { logging: false, originShieldRegion: "cn-north-1" },
        image: {
          variant: "both",
          extraSourceBuckets: [{ name: "extra-bucket", kmsKeyArn: "arn:aws-cn:kms:cn-north-1:123456789012:key/a" }],
        },
      }).map((p) => p.split(":")[0]),
    ).toEqual([
      "china.contentAliases",
      "cdn.failover",
      "cdn.originShieldRegion",
      "storage.encryption.type",
      "image.variant",
      "image.extraSourceBuckets.0.hostname",
      "image.extraSourceBuckets.0.kmsKeyArn",
    ]);
    expect(configProblems({ ...MINIMAL_CHINA, china: null })).toEqual([
      "china: is required in the China regions while cdn or image is enabled: CloudFront China serves only ICP-recorded alternate domain names over an IAM server certificate; give iamCertificateId, contentAliases and imageAliases",
    ]);
    expect(
      configProblems({ ...MINIMAL_CHINA, china: { ...CHINA_DELIVERY, iamCertificateId: "arn:aws-cn:iam::1:x" } }),
    ).toEqual([
      "china.iamCertificateId: must be an IAM server certificate id (ASCA..., `aws iam list-server-certificates`)",
    ]);
  });

  it("needs no china section when nothing is delivered", () => {
    const config = parseConfig({
      ...CHINA_REGIONS,
      domain: null,
      legacyOrigin: null,
      cdn: { enabled: false },
      image: { enabled: false },
    });
    expect(config.china).toBeNull();
  });
});

describe("the China example synthesizes for the aws-cn partition", () => {
  let app: SynthesizedApp;
  beforeAll(() => {
    app = synthApp(chinaConfigInput(), { rawPartition: true });
  });
  const distributionOf = (stack: StackJson, index = 0) => resourcesOf(stack, "aws_cloudfront_distribution")[index][1];

  it("has no dns-cert, edge or gcs-origin stack, and passes the whole-app policy checks", () => {
    expect(Object.keys(app.stacks).sort()).toEqual([
      "cdn",
      "image",
      "object-stats",
      "operations",
      "storage-replication",
    ]);
    expect(policyViolations(app.stacks)).toEqual([]);
  });

  it("writes no global-partition ARN, endpoint or region anywhere: they come from aws_partition", () => {
    for (const [id, stack] of Object.entries(app.stacks)) {
      const text = JSON.stringify(stack);
      expect({ id, found: text.match(/arn:aws:|amazonaws\.com(?!\.cn)|cloudfront\.net|us-east-1/g) }).toEqual({
        id,
        found: null,
      });
      // Every ARN is built on the partition data source, or is one the config gave (aws-cn, checked there).
      expect({ id, found: text.match(/arn:(?!\$\{data\.aws_partition\.partition\.partition\}:|aws-cn:)/g) }).toEqual({
        id,
        found: null,
      });
    }
    const principals = Object.values(app.stacks.image.data?.aws_service_principal ?? {}).map((d) => d.service_name);
    expect(principals.sort()).toEqual(["apigateway", "events", "lambda"]);
  });

  it("serves content on the ICP aliases with the IAM certificate, through an OAI, without Origin Shield or edge functions", () => {
    const cdn = app.stacks.cdn;
    const distribution = distributionOf(cdn);
    expect(distribution.aliases).toEqual(["media.acme.com.cn"]);
    expect(distribution.viewer_certificate).toEqual({
      iam_certificate_id: "ASCACKCEVSQ6C2EXAMPLE",
      ssl_support_method: "sni-only",
      minimum_protocol_version: "TLSv1.2_2021",
    });
    expect([distribution.http_version, distribution.is_ipv6_enabled, distribution.price_class]).toEqual([
      "http2",
      false,
      "PriceClass_All",
    ]);
    expect(distribution.web_acl_id).toBeUndefined();
    const origins = distribution.origin as Array<Record<string, unknown>>;
    expect(origins.map((o) => o.origin_shield)).toEqual([undefined, undefined, undefined]);
    for (const s3 of origins.slice(0, 2)) {
      expect(s3.s3_origin_config).toEqual({
        origin_access_identity: expect.stringContaining("aws_cloudfront_origin_access_identity."),
      });
      expect(s3.origin_access_control_id).toBeUndefined();
    }
    expect(resourcesOf(cdn, "aws_cloudfront_origin_access_control")).toEqual([]);
    expect(
      (distribution.default_cache_behavior as { lambda_function_association: unknown[] }).lambda_function_association,
    ).toEqual([]);
    expect(resourcesOf(cdn, "aws_route53_record")).toEqual([]);
    expect(resourcesOf(cdn, "aws_cloudwatch_log_delivery")).toEqual([]);
    expect(cdn.output?.dns_records.value).toEqual({
      "media.acme.com.cn": `CNAME \${${"aws_cloudfront_distribution." + resourcesOf(cdn, "aws_cloudfront_distribution")[0][0]}.domain_name}`,
    });
  });

  it("grants both OAIs (cdn's and image's) reads of the primary bucket, by principal", () => {
    const [, primaryPolicy] = resourcesOf(app.stacks.cdn, "aws_s3_bucket_policy").find(([name]) =>
      name.startsWith("primary"),
    )!;
    const statements = JSON.parse(primaryPolicy.policy as string).Statement as Array<{
      Sid: string;
      Principal: { AWS: string[] };
      Action: string;
    }>;
    const reads = statements.filter((s) => s.Sid.startsWith("CloudFrontIdentities"));
    expect(reads.map((s) => s.Action)).toEqual(["s3:GetObject", "s3:ListBucket"]);
    expect(reads[0].Principal.AWS).toEqual([
      expect.stringMatching(/^\$\{aws_cloudfront_origin_access_identity\.content_oai_identity_[0-9A-F]+\.iam_arn\}$/),
      expect.stringContaining("data.terraform_remote_state.cross-stack-reference-input-image.outputs."),
    ]);
  });

  it("serves images through an HTTP API origin (no Function URL, no CloudFront Function) on the ICP aliases", () => {
    const image = app.stacks.image;
    expect(resourcesOf(image, "aws_lambda_function_url")).toEqual([]);
    expect(resourcesOf(image, "aws_cloudfront_function")).toEqual([]);
    expect(resourcesOf(image, "aws_cloudfront_origin_access_control")).toEqual([]);
    expect(resourcesOf(image, "aws_apigatewayv2_route").map(([, r]) => [r.route_key, r.authorization_type])).toEqual([
      ["GET /{proxy+}", "NONE"],
      ["HEAD /{proxy+}", "NONE"],
    ]);
    const [api] = resourcesOf(image, "aws_apigatewayv2_api")[0];
    const distributions = Object.fromEntries(resourcesOf(image, "aws_cloudfront_distribution"));
    const byPath = (prefix: string) => Object.entries(distributions).find(([name]) => name.startsWith(prefix))![1];
    const [primary, extra] = [byPath("primary_"), byPath("extra-1_")];
    expect([primary.aliases, extra.aliases]).toEqual([["images.acme.com.cn"], ["catalog-img.acme.com.cn"]]);
    const [engine, s3] = primary.origin as Array<Record<string, unknown>>;
    expect(engine.domain_name).toContain(`aws_apigatewayv2_api.${api}.api_endpoint`);
    expect(engine.origin_access_control_id).toBeUndefined();
    expect(s3.s3_origin_config).toBeDefined();
    expect((primary.default_cache_behavior as { function_association?: unknown }).function_association).toBeUndefined();
    expect(Object.keys(image.output ?? {})).toEqual(
      expect.arrayContaining(["primary_dns_records", "extra_1_dns_records"]),
    );
  });

  it("alarms on CloudFront metrics in cn-northwest-1, notifying the ops topic there", () => {
    const providers = app.stacks.cdn.provider!.aws;
    const metrics = providers.find((p) => p.alias === "cn_northwest_1");
    expect(metrics?.region).toBe("cn-northwest-1");
    const alarms = resourcesOf(app.stacks.cdn, "aws_cloudwatch_metric_alarm").filter(
      ([, a]) => a.namespace === "AWS/CloudFront",
    );
    expect(alarms.map(([, a]) => a.provider)).toEqual(["aws.cn_northwest_1"]);
    expect(Object.keys(app.stacks["storage-replication"].output ?? {})).toEqual(
      expect.arrayContaining(["ops_topic_arn_cn_north_1", "ops_topic_arn_cn_northwest_1"]),
    );
  });
});

describe("China without CloudFront from s3-edge: storage and the standalone invalidation of a distribution it does not own", () => {
  it("synthesizes with partition values only and passes the policy checks", () => {
    const app = synthApp(
      {
        ...CHINA_REGIONS,
        domain: null,
        legacyOrigin: null,
        cdn: { enabled: false },
        image: { enabled: false },
        objectStats: { enabled: false },
        standaloneInvalidation: [{ name: "site", bucket: "acme-cn-site", distributionId: "E2QWRUHEXAMPLE" }],
      },
      { rawPartition: true },
    );
    expect(Object.keys(app.stacks).sort()).toEqual(["invalidation", "operations", "storage-replication"]);
    expect(policyViolations(app.stacks)).toEqual([]);
    for (const [id, stack] of Object.entries(app.stacks)) {
      expect({ id, found: JSON.stringify(stack).match(/arn:aws:|amazonaws\.com(?!\.cn)|us-east-1/g) }).toEqual({
        id,
        found: null,
      });
    }
  });
});
