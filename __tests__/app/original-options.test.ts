/**
 * What the original setups offered: a default root object, failover status codes per mode, and
 * the outputs users script against (bucket names and regions, image URLs, the ECS load balancer,
 * the style table).
 */
import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { CLOUDFRONT_FAILOVER_STATUS_CODES } from "../../config/aws-facts";
import { DEFAULT_LEGACY_FAILOVER_STATUS_CODES, DEFAULT_REPLICA_FAILOVER_STATUS_CODES } from "../../config/sections/cdn";
import { configProblems } from "../support/config-problems";
import { resourceAt, resourcesOf, synthApp, type StackJson } from "../support/synth";

interface Distribution {
  default_root_object?: string;
  origin_group: Array<{ member: Array<{ origin_id: string }>; failover_criteria: { status_codes: number[] } }>;
}
const contentDistribution = (cdn: StackJson) =>
  resourceAt(cdn, "aws_cloudfront_distribution", "content/distribution") as unknown as Distribution;

const ECS_IN_EXISTING_VPC: S3EdgeConfigInput["image"] = {
  variant: "ecs",
  ecs: {
    imageUri: "210987654321.dkr.ecr.us-east-2.amazonaws.com/shared/engine:v7",
    vpc: {
      vpcId: "vpc-0123456789abcdef0",
      privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    },
  },
};

describe("website options and failover codes (legacy origin: failover to GCS)", () => {
  const app = synthApp({
    cdn: { defaultRootObject: "index.html", failoverStatusCodes: { legacy: [404, 403, 500, 503] } },
    image: { extraSourceBuckets: [{ name: "acme-uploads" }] },
  });
  const distribution = contentDistribution(app.stacks.cdn);

  it("serves the default root object for /", () => {
    expect(distribution.default_root_object).toBe("index.html");
  });

  it("fails over to GCS on the configured codes only, sorted", () => {
    expect(distribution.origin_group[0].member[1].origin_id).toBe("gcs-legacy");
    expect(distribution.origin_group[0].failover_criteria.status_codes).toEqual([403, 404, 500, 503]);
  });

  it("outputs each image distribution's URL (custom domains: img.<zone>, img-1.<zone>) and the style table", () => {
    const outputs = app.stacks.image.output ?? {};
    expect(outputs.primary_distribution_url.value).toBe("https://img.example.com");
    expect(outputs.extra_1_distribution_url.value).toBe("https://img-1.example.com");
    expect(outputs.style_table_name.value).toMatch(/^\$\{aws_dynamodb_table\..+\.name\}$/);
    // The Lambda variant has no load balancer.
    expect(outputs.ecs_load_balancer_dns_name).toBeUndefined();
    expect(app.stacks.cdn.output?.distribution_url.value).toBe("https://cdn.example.com");
  });

  it("outputs both buckets' names and regions", () => {
    const outputs = app.stacks["storage-replication"].output ?? {};
    expect(outputs.primary_bucket_region.value).toBe("us-east-2");
    expect(outputs.replica_bucket_region.value).toBe("us-west-2");
    expect(outputs.primary_bucket_name.value).toMatch(/^\$\{aws_s3_bucket\.primary_bucket_[0-9A-F]{8}\.bucket\}$/);
    expect(outputs.replica_bucket_name.value).toMatch(/^\$\{aws_s3_bucket\.replica_bucket_[0-9A-F]{8}\.bucket\}$/);
  });
});

describe("replica failover with 4xx (the workshop's setup), no domain, ECS engine", () => {
  const app = synthApp({
    legacyOrigin: null,
    domain: null,
    cdn: { failoverStatusCodes: { replica: [403, 404, 416, 500, 502, 503, 504] } },
    image: ECS_IN_EXISTING_VPC,
  });
  const distribution = contentDistribution(app.stacks.cdn);

  it("fails over to the replica on the configured codes and sets no root object by default", () => {
    expect(distribution.origin_group[0].member[1].origin_id).toBe("s3-replica");
    expect(distribution.origin_group[0].failover_criteria.status_codes).toEqual([403, 404, 416, 500, 502, 503, 504]);
    expect(distribution.default_root_object).toBeUndefined();
  });

  it("outputs the cloudfront.net URLs and the ECS service's (internal) load balancer DNS name", () => {
    const outputs = app.stacks.image.output ?? {};
    expect(outputs.primary_distribution_url.value).toMatch(
      /^https:\/\/\$\{aws_cloudfront_distribution\.primary_distribution_[0-9A-F]{8}\.domain_name\}$/,
    );
    const [albName] = resourcesOf(app.stacks.image, "aws_lb")[0];
    expect(outputs.ecs_load_balancer_dns_name.value).toBe(`\${aws_lb.${albName}.dns_name}`);
    expect(app.stacks.cdn.output?.distribution_url.value).toMatch(/^https:\/\/\$\{aws_cloudfront_distribution\./);
  });
});

describe("failover codes and root object in config", () => {
  it("defaults to 403/404/5xx towards GCS and 5xx towards the replica", () => {
    const { cdn } = parseConfig({});
    expect(cdn.failoverStatusCodes).toEqual({
      legacy: DEFAULT_LEGACY_FAILOVER_STATUS_CODES,
      replica: DEFAULT_REPLICA_FAILOVER_STATUS_CODES,
    });
    expect(cdn.defaultRootObject).toBeUndefined();
  });

  it("accepts every code CloudFront fails over on", () => {
    const codes = [...CLOUDFRONT_FAILOVER_STATUS_CODES];
    expect(
      parseConfig({ cdn: { failoverStatusCodes: { replica: codes, legacy: codes } } }).cdn.failoverStatusCodes,
    ).toEqual({ replica: codes, legacy: codes });
  });

  it("refuses codes CloudFront does not fail over on, repeats and empty lists, naming the field", () => {
    expect(configProblems({ cdn: { failoverStatusCodes: { replica: [500, 429], legacy: [] } } })).toEqual([
      "cdn.failoverStatusCodes.legacy: must name at least one status code",
      "cdn.failoverStatusCodes.replica.1: 429 is not a status code CloudFront fails over on; choose from 403, 404, 416, 500, 502, 503, 504",
    ]);
    expect(configProblems({ cdn: { failoverStatusCodes: { replica: [500, 500] } } })).toEqual([
      "cdn.failoverStatusCodes.replica: must not repeat a status code",
    ]);
  });

  it.each([
    ["/index.html", "without a leading or trailing slash"],
    ["docs/", "without a leading or trailing slash"],
    ["my index.html", "printable ASCII characters without spaces"],
    ["x".repeat(256), "Too big"],
  ])("refuses the root object %j", (key, message) => {
    expect(configProblems({ cdn: { defaultRootObject: key } })).toEqual([
      expect.stringMatching(new RegExp(`^cdn\\.defaultRootObject: .*${message}`, "i")),
    ]);
  });
});
