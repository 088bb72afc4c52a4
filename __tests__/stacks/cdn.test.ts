import { Testing } from "cdktf";
import { parseConfig } from "../../config";
import { bucketPolicyOwners } from "../../stacks";
import { CdnStack } from "../../stacks/cdn";
import { StorageReplicationStack } from "../../stacks/storage-replication";
import { crossStackProblems, remoteStates } from "../support/cross-stack";
import { parsePolicy, policyViolations, type Statement } from "../support/policy-checks";
import { fullConfigInput, resourcesOf, synthApp, type StackJson, type SynthesizedApp } from "../support/synth";

type Body = Record<string, unknown>;

const only = (stack: StackJson, type: string): Body => {
  const found = resourcesOf(stack, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0][1];
};
const byPath = (stack: StackJson, type: string, path: string): Body => {
  const found = resourcesOf(stack, type).filter(([, body]) =>
    ((body["//"] as { metadata: { path: string } }).metadata.path ?? "").startsWith(`cdn/${path}`),
  );
  if (found.length !== 1) throw new Error(`expected one ${type} at ${path}, found ${found.length}`);
  return found[0][1];
};
const statementsOf = (body: Body, attribute = "policy"): Statement[] => {
  const parsed = parsePolicy(body[attribute]);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};
/** The producer-side expression a remote-state read in a consumer stands for. */
function producerValue(app: SynthesizedApp, expression: unknown): { stack: string; value: unknown } {
  const match =
    /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9-]+)\.outputs\.([^}]+)\}$/.exec(
      String(expression),
    );
  if (!match) throw new Error(`not a remote-state read: ${String(expression)}`);
  return { stack: match[1], value: app.stacks[match[1]].output?.[match[2]]?.value };
}

interface Distribution {
  origin: Array<Body & { origin_id: string; origin_shield?: Body }>;
  origin_group: Array<{ member: Array<{ origin_id: string }>; failover_criteria: { status_codes: number[] } }>;
  default_cache_behavior: Body & { lambda_function_association: Array<Body> };
  viewer_certificate: Body;
  custom_error_response: Body[];
  aliases?: string[];
  [key: string]: unknown;
}
const distributionOf = (app: SynthesizedApp) => only(app.stacks.cdn, "aws_cloudfront_distribution") as Distribution;
const DISTRIBUTION_ARN = "${aws_cloudfront_distribution.content_distribution_ABFCF055.arn}";

describe("cdn with the default config (public legacy origin, domain, edge on)", () => {
  const app = synthApp();
  const cdn = app.stacks.cdn;
  const distribution = distributionOf(app);

  it("reaches both buckets through one Origin Access Control (SigV4, always sign), never an OAI", () => {
    expect(only(cdn, "aws_cloudfront_origin_access_control")).toMatchObject({
      origin_access_control_origin_type: "s3",
      signing_behavior: "always",
      signing_protocol: "sigv4",
    });
    expect(resourcesOf(cdn, "aws_cloudfront_origin_access_identity")).toEqual([]);
    const s3Origins = distribution.origin.filter((o) => o.origin_id.startsWith("s3-"));
    expect(s3Origins.map((o) => o.origin_id)).toEqual(["s3-primary", "s3-replica"]);
    for (const origin of s3Origins) {
      expect(origin.origin_access_control_id).toBe("${aws_cloudfront_origin_access_control.content_oac_EB23EBCC.id}");
      expect(origin.s3_origin_config).toBeUndefined();
      expect(producerValue(app, origin.domain_name)).toEqual({
        stack: "storage-replication",
        value: expect.stringMatching(
          /^\$\{aws_s3_bucket\.(primary|replica)_bucket_[0-9A-F]{8}\.bucket_regional_domain_name\}$/,
        ),
      });
    }
  });

  it("fails over from S3 to GCS (path-style, HTTPS only) on 403, 404 and 5xx while a legacy origin is configured", () => {
    expect(distribution.origin_group).toEqual([
      {
        origin_id: "content",
        member: [{ origin_id: "s3-primary" }, { origin_id: "gcs-legacy" }],
        failover_criteria: { status_codes: [403, 404, 500, 502, 503, 504] },
      },
    ]);
    expect(distribution.origin.find((o) => o.origin_id === "gcs-legacy")).toMatchObject({
      domain_name: "storage.googleapis.com",
      origin_path: "/s3edge-example-legacy",
      custom_origin_config: { origin_protocol_policy: "https-only", origin_ssl_protocols: ["TLSv1.2"] },
    });
    expect(distribution.default_cache_behavior.target_origin_id).toBe("content");
  });

  it("puts Origin Shield on every origin in the configured region (default: the primary region)", () => {
    for (const origin of distribution.origin) {
      expect(origin.origin_shield).toEqual({ enabled: true, origin_shield_region: "us-east-2" });
    }
  });

  it("redirects viewers to HTTPS, serves HTTP/2 and HTTP/3 over IPv6", () => {
    expect(distribution.default_cache_behavior).toMatchObject({
      viewer_protocol_policy: "redirect-to-https",
      allowed_methods: ["GET", "HEAD", "OPTIONS"],
      cached_methods: ["GET", "HEAD"],
      compress: true,
    });
    expect(distribution).toMatchObject({
      http_version: "http2and3",
      is_ipv6_enabled: true,
      price_class: "PriceClass_100",
    });
    expect(distribution.web_acl_id).toBeUndefined();
  });

  it("caches by path with gzip and brotli and the configured TTLs", () => {
    expect(only(cdn, "aws_cloudfront_cache_policy")).toMatchObject({
      min_ttl: 0,
      default_ttl: 86_400,
      max_ttl: 31_536_000,
      parameters_in_cache_key_and_forwarded_to_origin: {
        enable_accept_encoding_gzip: true,
        enable_accept_encoding_brotli: true,
        cookies_config: { cookie_behavior: "none" },
        headers_config: { header_behavior: "none" },
        query_strings_config: { query_string_behavior: "none" },
      },
    });
    expect(only(cdn, "aws_cloudfront_origin_request_policy")).toMatchObject({
      headers_config: {
        header_behavior: "whitelist",
        headers: { items: ["origin", "access-control-request-headers", "access-control-request-method"] },
      },
    });
  });

  it("adds security headers (HSTS, nosniff, frame options, referrer policy)", () => {
    expect(only(cdn, "aws_cloudfront_response_headers_policy").security_headers_config).toEqual({
      strict_transport_security: { access_control_max_age_sec: 63_072_000, include_subdomains: true, override: true },
      content_type_options: { override: true },
      frame_options: { frame_option: "DENY", override: true },
      referrer_policy: { referrer_policy: "strict-origin-when-cross-origin", override: true },
    });
    expect(distribution.default_cache_behavior.response_headers_policy_id).toBe(
      "${aws_cloudfront_response_headers_policy.content_security-headers_713C9822.id}",
    );
  });

  it("caches error answers only briefly", () => {
    expect(distribution.custom_error_response).toEqual(
      [403, 404, 500, 502, 503, 504].map((code) => ({ error_code: code, error_caching_min_ttl: 10 })),
    );
  });

  it("serves the content hostname with the validated dns-cert certificate (remote state), TLSv1.2_2021 minimum", () => {
    expect(distribution.aliases).toEqual(["cdn.example.com"]);
    expect(distribution.viewer_certificate).toMatchObject({
      ssl_support_method: "sni-only",
      minimum_protocol_version: "TLSv1.2_2021",
    });
    expect(producerValue(app, distribution.viewer_certificate.acm_certificate_arn)).toEqual({
      stack: "dns-cert",
      value: "${aws_acm_certificate_validation.validation.certificate_arn}",
    });
  });

  it("writes A and AAAA alias records to the distribution in the zone from dns-cert", () => {
    const records = resourcesOf(cdn, "aws_route53_record").map(([, body]) => body);
    expect(records.map((r) => r.type).sort()).toEqual(["A", "AAAA"]);
    for (const record of records) {
      expect(record).toMatchObject({
        name: "cdn.example.com",
        alias: {
          name: "${aws_cloudfront_distribution.content_distribution_ABFCF055.domain_name}",
          zone_id: "${aws_cloudfront_distribution.content_distribution_ABFCF055.hosted_zone_id}",
          evaluate_target_health: false,
        },
      });
      expect(producerValue(app, record.zone_id)).toEqual({
        stack: "dns-cert",
        value: "${data.aws_route53_zone.zone.zone_id}",
      });
    }
  });

  it("owns both buckets' one policy: TLS-only denies plus GetObject for the distributions that read it", () => {
    expect(bucketPolicyOwners(app.config)).toEqual({ primary: "cdn", replica: "cdn" });
    // Only the batch replication reports bucket (read by no distribution) keeps its policy there.
    expect(resourcesOf(app.stacks["storage-replication"], "aws_s3_bucket_policy").map(([name]) => name)).toEqual([
      expect.stringMatching(/^batch-replication_reports_policy_/),
    ]);
    for (const role of ["primary", "replica"]) {
      const policy = byPath(cdn, "aws_s3_bucket_policy", `${role}-bucket-policy`);
      expect(producerValue(app, policy.bucket).value).toMatch(new RegExp(`^\\$\\{aws_s3_bucket\\.${role}_bucket_`));
      const statements = statementsOf(policy);
      expect(statements.map((s) => s.Sid)).toEqual([
        "DenyInsecureTransport",
        "DenyOutdatedTls",
        "CloudFrontReadObjects",
      ]);
      // The primary bucket is read by the image distribution too (its ARN arrives through remote state).
      const readers = (statements[2].Condition as { StringEquals: { "AWS:SourceArn": string[] } }).StringEquals[
        "AWS:SourceArn"
      ];
      expect(statements[2]).toMatchObject({
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
      });
      expect(readers[0]).toBe(DISTRIBUTION_ARN);
      expect(readers.slice(1).map((arn) => producerValue(app, arn))).toEqual(
        role === "primary"
          ? [
              {
                stack: "image",
                value: expect.stringMatching(
                  /^\$\{aws_cloudfront_distribution\.primary_distribution_[0-9A-F]{8}\.arn\}$/,
                ),
              },
            ]
          : [],
      );
      expect(JSON.stringify(statements)).not.toContain("s3:ListBucket");
    }
    expect(byPath(cdn, "aws_s3_bucket_policy", "replica-bucket-policy").provider).toBe("aws.replica");
  });

  it("keeps exactly one policy per bucket across the whole app, and every security rule", () => {
    expect(policyViolations(app.stacks)).toEqual([]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("sends v2 access logs to a CloudWatch Logs group in us-east-1 with retention", () => {
    const logs = resourcesOf(cdn, "aws_cloudwatch_log_group").find(([name]) => name === "access-logs")![1];
    expect(logs).toMatchObject({ provider: "aws.us_east_1", retention_in_days: 30 });
    expect(only(cdn, "aws_cloudwatch_log_delivery_source")).toMatchObject({
      provider: "aws.us_east_1",
      log_type: "ACCESS_LOGS",
      resource_arn: DISTRIBUTION_ARN,
    });
    expect(only(cdn, "aws_cloudwatch_log_delivery_destination")).toMatchObject({
      delivery_destination_configuration: [{ destination_resource_arn: "${aws_cloudwatch_log_group.access-logs.arn}" }],
    });
    expect(only(cdn, "aws_cloudwatch_log_delivery")).toMatchObject({
      delivery_source_name: "${aws_cloudwatch_log_delivery_source.access-log-source.name}",
      delivery_destination_arn: "${aws_cloudwatch_log_delivery_destination.access-log-destination.arn}",
    });
    expect(cdn.provider?.aws).toEqual(
      expect.arrayContaining([expect.objectContaining({ alias: "us_east_1", region: "us-east-1" })]),
    );
  });

  describe("the invalidation pipeline", () => {
    const queue = byPath(cdn, "aws_sqs_queue", "invalidation/queue");
    const dlq = byPath(cdn, "aws_sqs_queue", "invalidation/dlq");
    const rule = byPath(cdn, "aws_cloudwatch_event_rule", "invalidation/rule");
    const ruleAddress = `aws_cloudwatch_event_rule.${resourcesOf(cdn, "aws_cloudwatch_event_rule")[0][0]}`;
    const queueAddress = `aws_sqs_queue.${resourcesOf(cdn, "aws_sqs_queue").find(([n]) => n.startsWith("invalidation_queue"))![0]}`;

    it("matches Object Created, Object Deleted and Object Restore Completed of every key of the primary bucket", () => {
      const pattern = JSON.parse(rule.event_pattern as string) as { detail: { bucket: { name: string[] } } };
      expect(pattern).toMatchObject({
        source: ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted", "Object Restore Completed"],
      });
      expect(pattern.detail).not.toHaveProperty("object");
      expect(producerValue(app, pattern.detail.bucket.name[0]).value).toMatch(/^\$\{aws_s3_bucket\.primary_bucket_/);
      expect(byPath(cdn, "aws_cloudwatch_event_target", "invalidation/target")).toMatchObject({
        rule: `\${${ruleAddress}.name}`,
        arn: `\${${queueAddress}.arn}`,
      });
    });

    it("lets only the rule send to the queue, and moves poison messages to a DLQ", () => {
      expect(statementsOf(byPath(cdn, "aws_sqs_queue_policy", "invalidation/queue-policy"))).toEqual([
        {
          Sid: "EventBridgeRuleOnly",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: `\${${queueAddress}.arn}`,
          Condition: { ArnEquals: { "aws:SourceArn": `\${${ruleAddress}.arn}` } },
        },
      ]);
      const dlqAddress = `aws_sqs_queue.${resourcesOf(cdn, "aws_sqs_queue").find(([n]) => n.startsWith("invalidation_dlq"))![0]}`;
      expect(JSON.parse(queue.redrive_policy as string)).toEqual({
        deadLetterTargetArn: `\${${dlqAddress}.arn}`,
        maxReceiveCount: 5,
      });
      expect(queue).toMatchObject({ sqs_managed_sse_enabled: true, visibility_timeout_seconds: 750 });
      expect(dlq).toMatchObject({ message_retention_seconds: 1_209_600 });
    });

    it("invokes the function with the batching window, a large batch and partial batch failures", () => {
      expect(byPath(cdn, "aws_lambda_event_source_mapping", "invalidation/source")).toMatchObject({
        event_source_arn: `\${${queueAddress}.arn}`,
        batch_size: 1000,
        maximum_batching_window_in_seconds: 30,
        function_response_types: ["ReportBatchItemFailures"],
      });
      expect(byPath(cdn, "aws_lambda_function", "invalidation/function")).toMatchObject({
        function_name: "s3edge-example-invalidate",
        timeout: 120,
        environment: {
          variables: expect.objectContaining({
            DISTRIBUTION_ID: "${aws_cloudfront_distribution.content_distribution_ABFCF055.id}",
            EXACT_PATH_LIMIT: "100",
            QUERY_STRING_VARIANTS: "false",
            // A legacy origin is configured: the migration's creations in the primary bucket are skipped.
            MIGRATION_BUCKET: expect.stringMatching(
              /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage-replication\./,
            ),
          }),
        },
      });
    });

    it("may invalidate only this distribution", () => {
      const statements = statementsOf(byPath(cdn, "aws_iam_role_policy", "invalidation/function"));
      expect(statements).toEqual(
        expect.arrayContaining([
          {
            Sid: "InvalidateDistribution",
            Effect: "Allow",
            Action: "cloudfront:CreateInvalidation",
            Resource: DISTRIBUTION_ARN,
          },
          {
            Sid: "ConsumeQueue",
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            Resource: `\${${queueAddress}.arn}`,
          },
          {
            Sid: "ReadMigrationMarker",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion"],
            Resource: expect.stringMatching(/^\$\{data\.terraform_remote_state\.[^}]+\}\/\*$/),
          },
        ]),
      );
      // Logs, the queue, the distribution, the marker; no KMS statement under SSE-S3.
      expect(statements).toHaveLength(4);
    });
  });

  describe("the invalidation pipeline without a legacy origin, or with key filters", () => {
    it("reads nothing from S3 when nothing is migrated", () => {
      const { stacks } = synthApp({ legacyOrigin: null });
      const fn = byPath(stacks.cdn, "aws_lambda_function", "invalidation/function");
      expect((fn.environment as { variables: Body }).variables).not.toHaveProperty("MIGRATION_BUCKET");
      const sids = statementsOf(byPath(stacks.cdn, "aws_iam_role_policy", "invalidation/function")).map((s) => s.Sid);
      expect(sids).not.toContain("ReadMigrationMarker");
    });

    it("turns key prefixes and suffixes into the rule's key matchers, as S3 encodes keys in events", () => {
      const pattern = (invalidation: object) => {
        const { stacks } = synthApp({ cdn: { invalidation } });
        const rule = byPath(stacks.cdn, "aws_cloudwatch_event_rule", "invalidation/rule");
        return (JSON.parse(rule.event_pattern as string) as { detail: { object?: unknown } }).detail.object;
      };
      expect(pattern({ keyPrefixes: ["images/", "my docs/"] })).toEqual({
        key: [{ prefix: "images/" }, { prefix: "my+docs/" }],
      });
      expect(pattern({ keySuffixes: [".jpg"] })).toEqual({ key: [{ suffix: ".jpg" }] });
      expect(pattern({ keyPrefixes: ["a/", "b/"], keySuffixes: [".jpg", ".png"] })).toEqual({
        key: [{ wildcard: "a/*.jpg" }, { wildcard: "a/*.png" }, { wildcard: "b/*.jpg" }, { wildcard: "b/*.png" }],
      });
    });
  });
});

describe("cdn failover modes", () => {
  it.each([
    ["failover: replica", { cdn: { failover: "replica" } }],
    ["no legacy origin", { legacyOrigin: null }],
  ] as const)("fails over from the primary to the replica bucket on 5xx only (%s)", (_name, input) => {
    const distribution = distributionOf(synthApp(input));
    expect(distribution.origin_group).toEqual([
      {
        origin_id: "content",
        member: [{ origin_id: "s3-primary" }, { origin_id: "s3-replica" }],
        failover_criteria: { status_codes: [500, 502, 503, 504] },
      },
    ]);
    expect(distribution.origin.map((o) => o.origin_id)).toEqual(["s3-primary", "s3-replica"]);
  });
});

describe("cdn with the edge stack", () => {
  it.each([
    ["private GCS: signer on origin-request, notify on origin-response", "private", ["gcs-signer", "backfill-notify"]],
    ["public GCS: notify on origin-response only", "public", ["backfill-notify"]],
  ] as const)("%s, by qualified ARN through remote state", (_name, access, functions) => {
    const app = synthApp({ legacyOrigin: { bucket: "s3edge-example-legacy", access, project: "demo-project" } });
    const associations = distributionOf(app).default_cache_behavior.lambda_function_association;
    expect(associations.map((a) => a.event_type).sort()).toEqual(
      access === "private" ? ["origin-response", "origin-request"].sort() : ["origin-response"],
    );
    for (const association of associations) {
      const { stack, value } = producerValue(app, association.lambda_arn);
      expect(stack).toBe("edge");
      // Qualified: a published version, never $LATEST.
      expect(value).toMatch(/^\$\{aws_lambda_function\.[a-z-]+_function_[0-9A-F]{8}\.qualified_arn\}$/);
      expect(functions.some((name) => String(value).includes(name))).toBe(true);
      expect(association.include_body).toBe(false);
    }
    expect(Object.keys(remoteStates(app.stacks.cdn)).sort()).toEqual([
      "cross-stack-reference-input-dns-cert",
      "cross-stack-reference-input-edge",
      "cross-stack-reference-input-image",
      "cross-stack-reference-input-storage-replication",
    ]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("attaches no edge function when failing over to the replica (they work on GCS traffic)", () => {
    const app = synthApp({ cdn: { failover: "replica" } });
    expect(distributionOf(app).default_cache_behavior.lambda_function_association).toEqual([]);
  });

  it("attaches no edge function when the edge stack is off", () => {
    const app = synthApp({ edge: { enabled: false } });
    expect(app.stacks.edge).toBeUndefined();
    expect(distributionOf(app).default_cache_behavior.lambda_function_association).toEqual([]);
  });
});

describe("cdn with the full example config", () => {
  const app = synthApp(fullConfigInput());
  const cdn = app.stacks.cdn;
  const distribution = distributionOf(app);

  it("applies Origin Shield region, price class, WAF, TTLs, error TTL and invalidation settings from config", () => {
    for (const origin of distribution.origin)
      expect(origin.origin_shield).toEqual({ enabled: true, origin_shield_region: "eu-west-1" });
    expect(distribution).toMatchObject({
      price_class: "PriceClass_All",
      web_acl_id:
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/acme-media-edge/a1b2c3d4-5678-90ab-cdef-1234567890ab",
      aliases: ["media.acme.example"],
    });
    expect(only(cdn, "aws_cloudfront_cache_policy")).toMatchObject({ min_ttl: 0, default_ttl: 3600, max_ttl: 604_800 });
    expect(distribution.custom_error_response[0]).toEqual({ error_code: 403, error_caching_min_ttl: 5 });
    expect(byPath(cdn, "aws_lambda_event_source_mapping", "invalidation/source")).toMatchObject({
      batch_size: 5000,
      maximum_batching_window_in_seconds: 60,
    });
  });

  it("lets the invalidation function read the marker of objects encrypted with the created key, through S3 only", () => {
    const statements = statementsOf(byPath(cdn, "aws_iam_role_policy", "invalidation/function"));
    expect(statements.find((s) => s.Sid === "DecryptViaS3")).toEqual({
      Sid: "DecryptViaS3",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: expect.stringMatching(/^\$\{data\.terraform_remote_state\./),
      Condition: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
    });
  });

  it("grants ListBucket (real 404s) when config asks for it", () => {
    const statements = statementsOf(byPath(cdn, "aws_s3_bucket_policy", "primary-bucket-policy"));
    expect(statements.find((s) => s.Sid === "CloudFrontListForReal404")).toMatchObject({
      Action: "s3:ListBucket",
      Condition: { StringEquals: { "AWS:SourceArn": [DISTRIBUTION_ARN, expect.stringContaining("input-image")] } },
    });
  });

  it("lets CloudFront decrypt with the keys s3-edge creates, scoped to the account's distributions", () => {
    const storage = app.stacks["storage-replication"];
    const keyPolicies = resourcesOf(storage, "aws_kms_key_policy").filter(([name]) => !name.startsWith("ops-topics_"));
    expect(keyPolicies).toHaveLength(2);
    for (const [, body] of keyPolicies) {
      const statements = statementsOf(body);
      expect(statements[0]).toMatchObject({
        Sid: "EnableIamPolicies",
        Action: "kms:*",
        Principal: { AWS: expect.stringMatching(/^arn:aws:iam::\$\{local\.[^}]+\}:root$/) },
      });
      expect(statements[1]).toEqual({
        Sid: "AllowCloudFrontServeEncryptedObjects",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: {
          StringEquals: { "aws:SourceAccount": expect.stringMatching(/^\$\{local\./) },
          ArnLike: {
            "aws:SourceArn": expect.stringMatching(/^arn:aws:cloudfront::\$\{local\.[^}]+\}:distribution\/\*$/),
          },
        },
      });
    }
    expect(policyViolations(app.stacks)).toEqual([]);
    expect(crossStackProblems(app)).toEqual([]);
  });

  it("prints the statement to add to existing keys", () => {
    const withKeys = synthApp({
      storage: {
        encryption: {
          type: "sse-kms",
          primaryKeyArn: "arn:aws:kms:us-east-2:123456789012:key/a",
          replicaKeyArn: "arn:aws:kms:us-west-2:123456789012:key/b",
        },
      },
    });
    const bucketKeyPolicies = resourcesOf(withKeys.stacks["storage-replication"], "aws_kms_key_policy").filter(
      ([name]) => !name.startsWith("ops-topics_"),
    );
    expect(bucketKeyPolicies).toEqual([]);
    const output = withKeys.stacks.cdn.output?.kms_key_policy_statement_for_cloudfront;
    expect(statementsOf({ policy: output?.value })).toEqual([
      expect.objectContaining({ Action: "kms:Decrypt", Principal: { Service: "cloudfront.amazonaws.com" } }),
    ]);
    expect(synthApp().stacks.cdn.output?.kms_key_policy_statement_for_cloudfront).toBeUndefined();
  });
});

describe("cdn options", () => {
  it("uses the CloudFront certificate and no aliases without a domain (no dns-cert stack)", () => {
    const app = synthApp({ domain: null });
    expect(Object.keys(app.stacks)).not.toContain("dns-cert");
    const distribution = distributionOf(app);
    expect(distribution.aliases).toBeUndefined();
    expect(distribution.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
    expect(resourcesOf(app.stacks.cdn, "aws_route53_record")).toEqual([]);
  });

  it("turns logging and compression off", () => {
    const app = synthApp({ cdn: { logging: false, compression: false } });
    expect(resourcesOf(app.stacks.cdn, "aws_cloudwatch_log_delivery")).toEqual([]);
    expect(distributionOf(app).default_cache_behavior.compress).toBe(false);
    // us-east-1 stays for the distribution's alarms (CloudFront metrics live there).
    expect(app.stacks.cdn.provider?.aws?.map((p) => p.alias)).toEqual([undefined, "replica", "us_east_1"]);
  });

  it("names additional primary readers (the image distributions) in the primary bucket's policy", () => {
    const config = parseConfig({});
    const app = Testing.app();
    const storage = new StorageReplicationStack(app, config, { bucketPolicyOwners: bucketPolicyOwners(config) });
    const imageArn = "arn:aws:cloudfront::123456789012:distribution/EIMAGE";
    const stack = new CdnStack(
      app,
      { ...config, domain: null },
      {
        primary: storage.primary,
        replica: storage.replica,
        additionalPrimaryReaders: [imageArn],
        opsTopicArns: storage.opsTopicArns,
      },
    );
    const json = JSON.parse(Testing.synth(stack)) as StackJson;
    const primary = statementsOf(resourcesOf(json, "aws_s3_bucket_policy").find(([n]) => n.startsWith("primary"))![1]);
    const replica = statementsOf(resourcesOf(json, "aws_s3_bucket_policy").find(([n]) => n.startsWith("replica"))![1]);
    expect(primary[2].Condition).toEqual({ StringEquals: { "AWS:SourceArn": [DISTRIBUTION_ARN, imageArn] } });
    expect(replica[2].Condition).toEqual({ StringEquals: { "AWS:SourceArn": [DISTRIBUTION_ARN] } });
  });
});

describe("bucket policy ownership", () => {
  it.each([
    [{}, { primary: "cdn", replica: "cdn" }],
    [{ cdn: { enabled: false } }, { primary: "image", replica: "storage-replication" }],
    [
      { cdn: { enabled: false }, image: { enabled: false } },
      { primary: "storage-replication", replica: "storage-replication" },
    ],
  ] as const)("%j → %j", (input, owners) => {
    expect(bucketPolicyOwners(parseConfig(input))).toEqual(owners);
  });

  it("keeps the TLS-only policies in storage-replication when no distribution reads the buckets", () => {
    const app = synthApp({ cdn: { enabled: false }, image: { enabled: false }, domain: null });
    // Primary, replica and the batch replication reports bucket.
    expect(resourcesOf(app.stacks["storage-replication"], "aws_s3_bucket_policy")).toHaveLength(3);
    expect(policyViolations(app.stacks)).toEqual([]);
  });
});
