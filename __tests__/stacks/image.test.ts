import { App, TerraformOutput, Testing } from "cdktf";
import { unzipSync } from "fflate";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { LAMBDA_DIRECT_UPLOAD_LIMIT_BYTES, LAMBDA_UNZIPPED_PACKAGE_LIMIT_BYTES } from "../../config/aws-facts";
import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { ACCEPT_FUNCTION_FILE } from "../../constructs/image-distribution";
import { engineImageTag } from "../../packaging/engine-image-tag";
import { SHIPPED_FONTS } from "../../functions/image/fonts";
import { ImageStack } from "../../stacks/image";
import type { S3EdgeStacks } from "../../stacks";
import { StorageReplicationStack } from "../../stacks/storage-replication";
import { parsePolicy, policyViolations, type Statement } from "../support/policy-checks";
import {
  fullConfigInput,
  logicalName,
  referenceTo,
  resourceAt,
  resourcesOf,
  synthApp,
  type StackJson,
} from "../support/synth";

const PRIMARY_ARN =
  "${data.terraform_remote_state.cross-stack-reference-input-storage-replication.outputs.cross-stack-output-aws_s3_bucketprimary_bucket_E04143E5arn}";
const CERTIFICATE = {
  certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000",
  hostedZoneId: "Z0123456789ABCDEFGHIJ",
};

function synthImage(input: S3EdgeConfigInput): { json: StackJson; built: S3EdgeStacks } {
  let built: S3EdgeStacks | undefined;
  const app = synthApp(input, {
    extend: (_app, stacks) => {
      built = stacks;
      // How the cdn stack will read the field: it must resolve to the distributions' ARNs.
      new TerraformOutput(stacks.image!, "test_primary_readers", {
        value: stacks.image!.primaryReaderDistributionArns,
      });
    },
  });
  expect(policyViolations(app.stacks)).toEqual([]);
  return { json: app.stacks.image, built: built! };
}

function statementsOf(stack: StackJson, type: string, path: string): Statement[] {
  const body = resourceAt(stack, type, path);
  const statements = parsePolicy(body.policy ?? body.assume_role_policy);
  if (typeof statements === "string") throw new Error(statements);
  return statements;
}

type Distribution = {
  origin: Array<{
    origin_id: string;
    domain_name: string;
    origin_access_control_id?: string;
    custom_header?: Array<{ name: string; value: string }>;
    custom_origin_config?: { origin_protocol_policy: string };
    vpc_origin_config?: Record<string, unknown>;
  }>;
  origin_group: Array<{ origin_id: string; failover_criteria: { status_codes: number[] }; member: unknown[] }>;
  default_cache_behavior: Record<string, unknown> & {
    function_association: Array<{ event_type: string; function_arn: string }>;
  };
  aliases?: string[];
  viewer_certificate: Record<string, unknown>;
};

const distributionAt = (stack: StackJson, label: string) =>
  resourceAt(stack, "aws_cloudfront_distribution", `${label}/distribution`) as unknown as Distribution;

describe("image stack, Lambda variant (default config)", () => {
  const { json, built } = synthImage({});
  const image = built.image!;

  it("puts the function behind an IAM-authenticated Function URL that CloudFront signs for (OAC of type lambda)", () => {
    expect(resourceAt(json, "aws_lambda_function_url", "lambda/url")).toMatchObject({
      authorization_type: "AWS_IAM",
      invoke_mode: "BUFFERED",
      function_name: referenceTo(json, "aws_lambda_function", "lambda/engine/function", "function_name"),
    });
    expect(resourceAt(json, "aws_cloudfront_origin_access_control", "lambda/oac")).toMatchObject({
      origin_access_control_origin_type: "lambda",
      signing_behavior: "always",
      signing_protocol: "sigv4",
    });
    const origin = distributionAt(json, "primary").origin.find((o) => o.origin_id === "image")!;
    expect(origin.origin_access_control_id).toBe(
      referenceTo(json, "aws_cloudfront_origin_access_control", "lambda/oac", "id"),
    );
    expect(origin.domain_name).toBe(
      `\${element(split("/", ${referenceTo(json, "aws_lambda_function_url", "lambda/url", "function_url").slice(2, -1)}), 2)}`,
    );
    expect(origin.custom_origin_config?.origin_protocol_policy).toBe("https-only");
  });

  it("lets only the distribution invoke the Function URL", () => {
    const permissions = resourcesOf(json, "aws_lambda_permission").map(([, body]) => body);
    const distributionArn = referenceTo(json, "aws_cloudfront_distribution", "primary/distribution", "arn");
    expect(permissions).toHaveLength(2);
    expect(permissions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "lambda:InvokeFunctionUrl",
          function_url_auth_type: "AWS_IAM",
          principal: "cloudfront.amazonaws.com",
          source_arn: distributionArn,
        }),
        expect.objectContaining({
          action: "lambda:InvokeFunction",
          principal: "cloudfront.amazonaws.com",
          source_arn: distributionArn,
        }),
      ]),
    );
  });

  it("configures the function per the engine's contract", () => {
    const fn = resourceAt(json, "aws_lambda_function", "lambda/engine/function");
    expect(fn).toMatchObject({
      architectures: ["arm64"],
      memory_size: 1536,
      timeout: 30,
      // A flood of image requests is throttled at 100 instead of taking the region's concurrency.
      reserved_concurrent_executions: 100,
      handler: "index.handler",
      environment: {
        variables: {
          SOURCE_BUCKET: expect.stringContaining("primary_bucket"),
          SOURCE_BUCKETS: expect.stringContaining("primary_bucket"),
          STYLE_TABLE: referenceTo(json, "aws_dynamodb_table", "styles/table", "name"),
          AUTO_FORMAT: "true",
          FONTCONFIG_FILE: "/var/task/fonts/fonts.conf",
          MALLOC_ARENA_MAX: "1",
          DEADLINE_MS: "25000", // below the distributions' 30 s origin read timeout
        },
      },
    });
    expect((fn.environment as { variables: Record<string, string> }).variables.SOURCE_BUCKET_REGIONS).toBeUndefined(); // no bucket outside the region
  });

  it("ships the fonts of text watermarks, their licences and a fontconfig file naming only them", () => {
    const zip = unzipSync(readFileSync(image.lambda!.fn.bundle.zipPath));
    const fonts = Object.keys(zip)
      .filter((name) => name.startsWith("fonts/"))
      .sort();
    expect(fonts).toEqual([
      "fonts/DroidSansFallbackFull.ttf",
      "fonts/fonts.conf",
      "fonts/licenses/fonts-droid-fallback.copyright",
      "fonts/licenses/fonts-wqy-microhei.copyright",
      "fonts/licenses/fonts-wqy-zenhei.copyright",
      "fonts/wqy-microhei.ttc",
      "fonts/wqy-zenhei.ttc",
    ]);
    for (const font of SHIPPED_FONTS) {
      expect(createHash("sha256").update(zip[`fonts/${font.file}`]).digest("hex")).toBe(font.sha256);
    }
    const conf = Buffer.from(zip["fonts/fonts.conf"]).toString("utf8");
    expect(conf).toContain('<dir prefix="relative">.</dir>');
    expect(conf).not.toMatch(/<include|\/usr\/share|\/etc\/fonts/);
    // Within Lambda's limits: the zip is uploaded directly (50 MB), unzipped under 250 MB.
    const unzipped = Object.values(zip).reduce((sum, data) => sum + data.byteLength, 0);
    expect(image.lambda!.fn.bundle.zipBytes).toBeLessThan(LAMBDA_DIRECT_UPLOAD_LIMIT_BYTES);
    expect(unzipped).toBeLessThan(LAMBDA_UNZIPPED_PACKAGE_LIMIT_BYTES);
  });

  it("packages sharp and its arm64 linux binaries in the zip, and no other platform's", () => {
    const zip = unzipSync(readFileSync(image.lambda!.fn.bundle.zipPath));
    const names = Object.keys(zip);
    for (const required of [
      "index.js",
      "node_modules/sharp/package.json",
      "node_modules/sharp/lib/index.js",
      "node_modules/@img/sharp-linux-arm64/lib/sharp-linux-arm64.node",
      "node_modules/@img/sharp-libvips-linux-arm64/package.json",
      "node_modules/@img/colour/package.json",
      "node_modules/detect-libc/package.json",
      "node_modules/semver/package.json",
    ]) {
      expect(names).toContain(required);
    }
    expect(
      names.some((name) => /^node_modules\/@img\/sharp-libvips-linux-arm64\/lib\/libvips-cpp\.so/.test(name)),
    ).toBe(true);
    expect(names.filter((name) => /x64|darwin|win32|musl/.test(name))).toEqual([]);
    expect(names.filter((name) => name.startsWith("node_modules/sharp/src/") || name.includes(".bin/"))).toEqual([]);
    expect(Buffer.from(zip["index.js"]).toString("utf8")).toContain('require("sharp")');
  });

  it("scopes the function's role to the source bucket's objects and the style table", () => {
    const statements = statementsOf(json, "aws_iam_role_policy", "lambda/engine/policy");
    expect(statements.filter((s) => s.Sid !== "WriteOwnLogs")).toEqual([
      { Sid: "ReadSourceObjects", Effect: "Allow", Action: "s3:GetObject", Resource: [`${PRIMARY_ARN}/*`] },
      {
        Sid: "ReadStyles",
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: referenceTo(json, "aws_dynamodb_table", "styles/table", "arn"),
      },
    ]);
  });

  it("keeps styles in an on-demand table with point-in-time recovery and encryption", () => {
    expect(resourceAt(json, "aws_dynamodb_table", "styles/table")).toMatchObject({
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "id",
      attribute: [{ name: "id", type: "S" }],
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  it("fails over from the image origin to S3 (OAC) on 403 and tells the engine the bucket", () => {
    const distribution = distributionAt(json, "primary");
    expect(distribution.origin_group).toEqual([
      {
        origin_id: "image-then-s3",
        failover_criteria: { status_codes: [403] },
        member: [{ origin_id: "image" }, { origin_id: "s3" }],
      },
    ]);
    const [imageOrigin, s3Origin] = ["image", "s3"].map((id) => distribution.origin.find((o) => o.origin_id === id)!);
    expect(imageOrigin.custom_header).toEqual([{ name: "x-s3edge-source-bucket", value: expect.any(String) }]);
    expect(imageOrigin.custom_header![0].value).toContain("primary_bucket");
    expect(s3Origin).toMatchObject({
      domain_name: expect.stringContaining("primary_bucket"),
      origin_access_control_id: referenceTo(
        json,
        "aws_cloudfront_origin_access_control",
        "distribution-defaults/s3-oac",
        "id",
      ),
    });
    expect(distribution.default_cache_behavior).toMatchObject({
      target_origin_id: "image-then-s3",
      viewer_protocol_policy: "redirect-to-https",
      cache_policy_id: referenceTo(json, "aws_cloudfront_cache_policy", "distribution-defaults/cache", "id"),
      function_association: [
        {
          event_type: "viewer-request",
          function_arn: referenceTo(json, "aws_cloudfront_function", "distribution-defaults/accept", "arn"),
        },
      ],
    });
    // The default config has a domain: the image hostname with dns-cert's certificate (remote state).
    expect(distribution.aliases).toEqual(["img.example.com"]);
    expect(distribution.viewer_certificate).toMatchObject({
      acm_certificate_arn: expect.stringMatching(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-dns-cert\./,
      ),
      minimum_protocol_version: "TLSv1.2_2021",
    });
  });

  it("invalidates its cache, query-string variants included, when the primary bucket changes", () => {
    const fn = resourceAt(json, "aws_lambda_function", "invalidation/function");
    expect(fn.environment).toMatchObject({
      variables: {
        DISTRIBUTION_ID: referenceTo(json, "aws_cloudfront_distribution", "primary/distribution", "id"),
        QUERY_STRING_VARIANTS: "true",
      },
    });
  });

  it("serves from the cloudfront.net name only when no domain is configured", () => {
    const { json: withoutDomain } = synthImage({ domain: null });
    const distribution = resourceAt(withoutDomain, "aws_cloudfront_distribution", "primary/distribution");
    expect(distribution.aliases).toBeUndefined();
    expect(distribution.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
  });

  it("keys the cache on x-oss-process and the normalized Accept only, with long TTLs", () => {
    expect(resourceAt(json, "aws_cloudfront_cache_policy", "distribution-defaults/cache")).toMatchObject({
      default_ttl: 2592000,
      max_ttl: 31536000,
      parameters_in_cache_key_and_forwarded_to_origin: {
        query_strings_config: { query_string_behavior: "whitelist", query_strings: { items: ["x-oss-process"] } },
        headers_config: { header_behavior: "whitelist", headers: { items: ["Accept"] } },
        cookies_config: { cookie_behavior: "none" },
      },
    });
    expect(resourceAt(json, "aws_cloudfront_function", "distribution-defaults/accept")).toMatchObject({
      runtime: "cloudfront-js-2.0",
      publish: true,
      code: readFileSync(ACCEPT_FUNCTION_FILE, "utf8"),
    });
  });

  it("exposes the distributions that read the primary bucket and writes no bucket policy", () => {
    expect(json.output!.test_primary_readers.value).toEqual([
      referenceTo(json, "aws_cloudfront_distribution", "primary/distribution", "arn"),
    ]);
    expect(json.resource?.aws_s3_bucket_policy).toBeUndefined();
    expect(Object.keys(json.output ?? {}).filter((name) => name.includes("policy_statement"))).toEqual([]);
    expect(json.resource?.aws_ecs_service).toBeUndefined();
  });
});

describe("image stack, both variants (full example config)", () => {
  const { json, built } = synthImage(fullConfigInput());
  const container = () =>
    (
      JSON.parse(resourceAt(json, "aws_ecs_task_definition", "ecs/task").container_definitions as string) as Array<
        Record<string, unknown>
      >
    )[0];

  it("runs an arm64 Fargate task of the configured size, non-root, read-only, with a health check and logs", () => {
    expect(resourceAt(json, "aws_ecs_task_definition", "ecs/task")).toMatchObject({
      requires_compatibilities: ["FARGATE"],
      network_mode: "awsvpc",
      cpu: "1024",
      memory: "3072",
      runtime_platform: { cpu_architecture: "ARM64", operating_system_family: "LINUX" },
      execution_role_arn: referenceTo(json, "aws_iam_role", "ecs/execution-role", "arn"),
      task_role_arn: referenceTo(json, "aws_iam_role", "ecs/task-role", "arn"),
    });
    expect(container()).toMatchObject({
      image: `${referenceTo(json, "aws_ecr_repository", "ecs/repository", "repository_url")}:${engineImageTag()}`,
      user: "1000:1000",
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: 8080, protocol: "tcp" }],
      healthCheck: { command: ["CMD-SHELL", expect.stringContaining("http://127.0.0.1:8080/ping")] },
      logConfiguration: {
        logDriver: "awslogs",
        options: expect.objectContaining({
          "awslogs-group": referenceTo(json, "aws_cloudwatch_log_group", "ecs/logs", "name"),
          "awslogs-region": "eu-west-1",
        }),
      },
    });
    const environment = Object.fromEntries(
      (container().environment as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
    );
    expect(environment.PORT).toBe("8080");
    expect(environment.SOURCE_BUCKETS.split(",").slice(1)).toEqual(["acme-catalog-images", "acme-user-uploads"]);
    // The primary region is eu-west-1: only the eu-central-1 bucket needs a client of another region.
    expect(environment.SOURCE_BUCKET_REGIONS).toBe("acme-user-uploads=eu-central-1");
    expect(environment.DEADLINE_MS).toBe("25000");
    expect(resourceAt(json, "aws_cloudwatch_log_group", "ecs/logs").retention_in_days).toBe(90);
  });

  it("keeps images in a scanned, immutable ECR repository with a lifecycle policy", () => {
    expect(resourceAt(json, "aws_ecr_repository", "ecs/repository")).toMatchObject({
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: { scan_on_push: true },
    });
    const lifecycle = JSON.parse(
      resourceAt(json, "aws_ecr_lifecycle_policy", "ecs/repository-lifecycle").policy as string,
    ) as { rules: Array<{ selection: { tagStatus: string } }> };
    expect(lifecycle.rules.map((r) => r.selection.tagStatus)).toEqual(["untagged", "any"]);
  });

  it("scopes the task role to the three source buckets, their keys (through S3 only) and the table", () => {
    const statements = statementsOf(json, "aws_iam_role_policy", "ecs/task-policy");
    expect(statements).toEqual([
      {
        Sid: "ReadSourceObjects",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: [`${PRIMARY_ARN}/*`, "arn:aws:s3:::acme-catalog-images/*", "arn:aws:s3:::acme-user-uploads/*"],
      },
      {
        Sid: "ReadStyles",
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: referenceTo(json, "aws_dynamodb_table", "styles/table", "arn"),
      },
      {
        Sid: "DecryptSourceObjects",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: [
          expect.stringContaining("primary_key"),
          "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ],
        Condition: {
          StringEquals: { "kms:ViaService": ["s3.eu-west-1.amazonaws.com", "s3.eu-central-1.amazonaws.com"] },
        },
      },
    ]);
    const execution = statementsOf(json, "aws_iam_role_policy", "ecs/execution-policy");
    expect(execution.find((s) => s.Sid === "PullEngineImage")?.Resource).toBe(
      referenceTo(json, "aws_ecr_repository", "ecs/repository", "arn"),
    );
  });

  it("puts the ALB in private subnets with no route to the internet, reached only through a CloudFront VPC origin", () => {
    const alb = resourceAt(json, "aws_lb", "ecs/alb");
    expect(alb).toMatchObject({ internal: true, load_balancer_type: "application" });
    const privateSubnets = [0, 1].map((index) => referenceTo(json, "aws_subnet", `ecs/network/private-${index}`, "id"));
    expect(alb.subnets).toEqual(privateSubnets);
    const privateRoutes = referenceTo(json, "aws_route_table", "ecs/network/private-routes", "id");
    expect(resourceAt(json, "aws_route_table", "ecs/network/private-routes").route).toBeUndefined();
    for (const index of [0, 1]) {
      expect(resourceAt(json, "aws_route_table_association", `ecs/network/private-${index}-routes`)).toMatchObject({
        subnet_id: privateSubnets[index],
        route_table_id: privateRoutes,
      });
    }
    // CloudFront requires an internet gateway in a VPC origin's VPC (the tasks use it for egress too).
    expect(resourceAt(json, "aws_internet_gateway", "ecs/network/igw").vpc_id).toBe(
      referenceTo(json, "aws_vpc", "ecs/network/vpc", "id"),
    );
    expect(resourceAt(json, "aws_cloudfront_vpc_origin", "ecs/vpc-origin").vpc_origin_endpoint_config).toEqual([
      {
        name: "acme-media-image",
        arn: referenceTo(json, "aws_lb", "ecs/alb", "arn"),
        http_port: 80,
        https_port: 443,
        origin_protocol_policy: "http-only",
        origin_ssl_protocols: [{ items: ["TLSv1.2"], quantity: 1 }],
      },
    ]);
    for (const label of ["primary", "extra-1", "extra-2"]) {
      const origin = distributionAt(json, label).origin.find((o) => o.origin_id === "image")!;
      expect(origin.domain_name).toBe(referenceTo(json, "aws_lb", "ecs/alb", "dns_name"));
      expect(origin.vpc_origin_config).toEqual({
        vpc_origin_id: referenceTo(json, "aws_cloudfront_vpc_origin", "ecs/vpc-origin", "id"),
        origin_read_timeout: 30,
        origin_keepalive_timeout: 5,
      });
      expect(origin.custom_origin_config).toBeUndefined();
    }
  });

  it("admits only CloudFront's origin-facing addresses to the ALB and only the ALB to the tasks", () => {
    expect(Object.values(json.data!.aws_ec2_managed_prefix_list)[0]).toMatchObject({
      name: "com.amazonaws.global.cloudfront.origin-facing",
    });
    const ingress = resourcesOf(json, "aws_vpc_security_group_ingress_rule").map(([, body]) => body);
    expect(ingress).toHaveLength(2);
    expect(resourceAt(json, "aws_vpc_security_group_ingress_rule", "ecs/alb-from-cloudfront")).toMatchObject({
      security_group_id: referenceTo(json, "aws_security_group", "ecs/alb-sg", "id"),
      prefix_list_id: expect.stringContaining("data.aws_ec2_managed_prefix_list."),
      from_port: 80,
      to_port: 80,
    });
    expect(resourceAt(json, "aws_vpc_security_group_ingress_rule", "ecs/task-from-alb")).toMatchObject({
      security_group_id: referenceTo(json, "aws_security_group", "ecs/task-sg", "id"),
      referenced_security_group_id: referenceTo(json, "aws_security_group", "ecs/alb-sg", "id"),
      from_port: 8080,
    });
    expect(ingress.some((rule) => rule.cidr_ipv4 !== undefined || rule.cidr_ipv6 !== undefined)).toBe(false);
    expect(resourceAt(json, "aws_default_security_group", "ecs/network/default-sg")).toMatchObject({
      ingress: [],
      egress: [],
    });
  });

  it("needs no shared secret: the listener forwards everything, and no distribution sends a secret header", () => {
    expect(resourceAt(json, "aws_lb_listener", "ecs/http").default_action).toEqual([
      { type: "forward", target_group_arn: referenceTo(json, "aws_lb_target_group", "ecs/targets", "arn") },
    ]);
    expect(json.resource?.aws_lb_listener_rule).toBeUndefined();
    expect(json.resource?.aws_ssm_parameter).toBeUndefined();
    expect(json.data?.aws_secretsmanager_random_password).toBeUndefined();
    for (const label of ["primary", "extra-1", "extra-2"]) {
      const origin = distributionAt(json, label).origin.find((o) => o.origin_id === "image")!;
      expect(origin.custom_header!.map((header) => header.name)).toEqual(["x-s3edge-source-bucket"]);
    }
  });

  it("health-checks /ping and scales on CPU between the configured bounds", () => {
    expect(resourceAt(json, "aws_lb_target_group", "ecs/targets")).toMatchObject({
      target_type: "ip",
      port: 8080,
      health_check: { path: "/ping", matcher: "200" },
    });
    expect(resourceAt(json, "aws_appautoscaling_target", "ecs/scaling-target")).toMatchObject({
      min_capacity: 2,
      max_capacity: 8,
      scalable_dimension: "ecs:service:DesiredCount",
    });
    expect(resourceAt(json, "aws_appautoscaling_policy", "ecs/cpu-scaling")).toMatchObject({
      policy_type: "TargetTrackingScaling",
      target_tracking_scaling_policy_configuration: {
        target_value: 55,
        predefined_metric_specification: { predefined_metric_type: "ECSServiceAverageCPUUtilization" },
      },
    });
    expect(resourceAt(json, "aws_ecs_service", "ecs/service")).toMatchObject({
      launch_type: "FARGATE",
      desired_count: 2,
      network_configuration: { assign_public_ip: true },
      deployment_circuit_breaker: { enable: true, rollback: true },
      lifecycle: { ignore_changes: ["desired_count"] },
    });
  });

  it("keeps the Lambda function on standby: it exists but no distribution may invoke it", () => {
    expect(resourceAt(json, "aws_lambda_function", "lambda/engine/function").memory_size).toBe(2048);
    expect(json.resource?.aws_lambda_permission).toBeUndefined();
  });

  it("gives each source bucket its own distribution and prints the statements for buckets it does not own", () => {
    const image = built.image!;
    expect(image.distributions.map((d) => d.bucket.name).slice(1)).toEqual([
      "acme-catalog-images",
      "acme-user-uploads",
    ]);
    expect(image.primaryReaderDistributionArns).toHaveLength(1);
    for (const [label, bucket] of [
      ["extra-1", "acme-catalog-images"],
      ["extra-2", "acme-user-uploads"],
    ]) {
      const distribution = distributionAt(json, label);
      expect(distribution.origin.find((o) => o.origin_id === "image")!.custom_header).toContainEqual({
        name: "x-s3edge-source-bucket",
        value: bucket,
      });
      const output = label.replace("-", "_");
      expect(JSON.parse(json.output![`${output}_bucket_policy_statement`].value as string)).toEqual({
        Sid: "S3EdgeImageDistributionRead",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${bucket}/*`,
        Condition: {
          StringEquals: {
            "AWS:SourceArn": referenceTo(json, "aws_cloudfront_distribution", `${label}/distribution`, "arn"),
          },
        },
      });
    }
    expect(json.output!.extra_2_kms_key_policy_statement).toBeDefined();
    expect(json.output!.extra_1_kms_key_policy_statement).toBeUndefined();
    expect(json.output!.primary_bucket_policy_statement).toBeUndefined();
  });

  it("skips the migration's creations on the primary bucket's distribution only (the migration writes nowhere else)", () => {
    const variables = (path: string) =>
      (resourceAt(json, "aws_lambda_function", path).environment as { variables: Record<string, string> }).variables;
    expect(variables("invalidation/function").MIGRATION_BUCKET).toMatch(/^\$\{data\.terraform_remote_state\./);
    // extra-1 is in the primary region (eu-west-1): it has a pipeline, without the check.
    expect(variables("invalidation-extra-1/function")).not.toHaveProperty("MIGRATION_BUCKET");
  });

  it("seeds the configured styles into the table", () => {
    const items = resourcesOf(json, "aws_dynamodb_table_item").map(([, body]) => JSON.parse(body.item as string));
    expect(items).toEqual(
      expect.arrayContaining([
        { id: { S: "thumbnail" }, style: { S: "image/resize,m_fill,w_200,h_200/quality,q_80" } },
        { id: { S: "banner.webp" }, style: { S: "image/resize,w_1200/format,webp" } },
      ]),
    );
  });
});

describe("image stack, ECS variant in an existing VPC with a given image", () => {
  const { json } = synthImage({
    image: {
      variant: "ecs",
      ecs: {
        imageUri: "210987654321.dkr.ecr.us-east-2.amazonaws.com/shared/engine:v7",
        vpc: {
          vpcId: "vpc-0123456789abcdef0",
          privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
        },
      },
    },
  });

  it("uses the given subnets and image, creates no network and no engine function", () => {
    expect(json.resource?.aws_vpc).toBeUndefined();
    // The only function is the invalidation's.
    expect(Object.keys(json.resource?.aws_lambda_function ?? {})).toEqual([
      logicalName(json, "aws_lambda_function", "invalidation/function"),
    ]);
    expect(resourceAt(json, "aws_lb", "ecs/alb")).toMatchObject({
      internal: true,
      subnets: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    });
    expect(resourceAt(json, "aws_ecs_service", "ecs/service").network_configuration).toEqual({
      subnets: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
      security_groups: [referenceTo(json, "aws_security_group", "ecs/task-sg", "id")],
      assign_public_ip: false,
    });
    const containers = JSON.parse(
      resourceAt(json, "aws_ecs_task_definition", "ecs/task").container_definitions as string,
    );
    expect(containers[0].image).toBe("210987654321.dkr.ecr.us-east-2.amazonaws.com/shared/engine:v7");
    const pull = statementsOf(json, "aws_iam_role_policy", "ecs/execution-policy").find(
      (s) => s.Sid === "PullEngineImage",
    );
    expect(pull?.Resource).toBe("arn:aws:ecr:us-east-2:210987654321:repository/shared/engine");
  });
});

describe("image stack with a certificate from dns-cert", () => {
  const config = parseConfig(fullConfigInput());
  const app = new App({ outdir: Testing.app().outdir });
  const storage = new StorageReplicationStack(app, config, {
    gcsHmacKey: { accessId: "GOOG1EXAMPLE", secret: "test" },
  });
  const stack = new ImageStack(app, config, {
    primaryBucket: storage.primary,
    certificate: CERTIFICATE,
    opsTopicArns: storage.opsTopicArns,
  });
  const json = JSON.parse(Testing.synth(stack)) as StackJson;

  it.each([
    ["primary", "images.acme.example"],
    ["extra-1", "img-1.acme.example"],
    ["extra-2", "uploads-img.acme.example"],
  ])("serves %s at %s with TLS 1.2 (2021) and alias records", (label, hostname) => {
    const distribution = distributionAt(json, label);
    expect(distribution.aliases).toEqual([hostname]);
    expect(distribution.viewer_certificate).toEqual({
      acm_certificate_arn: CERTIFICATE.certificateArn,
      ssl_support_method: "sni-only",
      minimum_protocol_version: "TLSv1.2_2021",
    });
    for (const type of ["a", "aaaa"]) {
      expect(resourceAt(json, "aws_route53_record", `${label}/alias-${type}`)).toMatchObject({
        zone_id: CERTIFICATE.hostedZoneId,
        name: hostname,
        type: type.toUpperCase(),
        alias: {
          name: referenceTo(json, "aws_cloudfront_distribution", `${label}/distribution`, "domain_name"),
          zone_id: referenceTo(json, "aws_cloudfront_distribution", `${label}/distribution`, "hosted_zone_id"),
          evaluate_target_health: false,
        },
      });
    }
  });
});

describe("image stack on x86_64", () => {
  it("packages the x64 binaries and no arm64 ones", () => {
    const { built } = synthImage({ lambda: { architecture: "x86_64" } });
    const names = Object.keys(unzipSync(readFileSync(built.image!.lambda!.fn.bundle.zipPath)));
    expect(names).toContain("node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node");
    expect(names.filter((name) => name.includes("arm64"))).toEqual([]);
  });
});
