/**
 * The standalone automatic invalidation (stack `invalidation`): buckets and distributions s3-edge
 * does not own, from config, with the same pipeline as s3-edge's own distributions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { S3EdgeConfigInput } from "../../config";
import { configProblems } from "../support/config-problems";
import { parsePolicy, policyViolations, type Statement } from "../support/policy-checks";
import { resourcesOf, synthApp, type StackJson } from "../support/synth";
import { PROJECT_ROOT } from "../../config/paths";

const STANDALONE_CONFIG_FILE = join(PROJECT_ROOT, "examples", "standalone-invalidation.config.json");
const input = JSON.parse(readFileSync(STANDALONE_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;

type Body = Record<string, unknown>;
const at = (stack: StackJson, type: string, path: string): Body => {
  const found = resourcesOf(stack, type).filter(
    ([, body]) => (body["//"] as { metadata: { path: string } }).metadata.path === `invalidation/${path}`,
  );
  if (found.length !== 1) throw new Error(`expected one ${type} at ${path}, found ${found.length}`);
  return found[0][1];
};
const statementsOf = (body: Body): Statement[] => {
  const parsed = parsePolicy(body.policy);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

describe("the invalidation stack (standalone mode, examples/standalone-invalidation.config.json)", () => {
  const app = synthApp(input);
  const stack = app.stacks.invalidation;

  it("exists only when targets are configured, and depends only on the ops topics", () => {
    expect(Object.keys(app.stacks).sort()).toEqual(["invalidation", "operations", "storage-replication"]);
    // Only the ops topics come from another stack (its alarms notify them).
    expect(app.manifest.stacks.invalidation.dependencies).toEqual(["storage-replication"]);
    expect(synthApp({}).stacks.invalidation).toBeUndefined();
  });

  it("matches each bucket's invalidating events, with its key filters, in the bucket's region", () => {
    const website = at(stack, "aws_cloudwatch_event_rule", "website/rule");
    expect(JSON.parse(website.event_pattern as string)).toEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created", "Object Deleted", "Object Restore Completed"],
      detail: {
        bucket: { name: ["acme-www-content"] },
        object: { key: [{ suffix: ".html" }, { suffix: ".css" }, { suffix: ".js" }] },
      },
    });
    expect(website).toMatchObject({ name: "acme-site-website-invalidate", provider: "aws" });
    const uploads = at(stack, "aws_cloudwatch_event_rule", "uploads/rule");
    expect(JSON.parse(uploads.event_pattern as string).detail.object).toEqual({ key: [{ prefix: "public/" }] });
    // S3 delivers events in the bucket's region: the whole pipeline lives there.
    for (const type of [
      "aws_cloudwatch_event_rule",
      "aws_sqs_queue",
      "aws_lambda_function",
      "aws_lambda_event_source_mapping",
    ])
      for (const [, body] of resourcesOf(stack, type).filter(([name]) => name.startsWith("uploads_")))
        expect(body.provider).toBe("aws.eu_central_1");
    expect(stack.provider?.aws).toEqual(
      expect.arrayContaining([expect.objectContaining({ alias: "eu_central_1", region: "eu-central-1" })]),
    );
  });

  it("reads the distributions (a mistyped id fails the plan) and may invalidate exactly them, nothing in S3", () => {
    const data = stack.data?.aws_cloudfront_distribution ?? {};
    expect(
      Object.values(data)
        .map((body) => body.id)
        .sort(),
    ).toEqual(["E2QWRUHEXAMPLE", "EDFDVBD6EXAMPLE"]);
    const arnOf = (name: string) =>
      `\${data.aws_cloudfront_distribution.${Object.keys(data).find((key) => key.startsWith(name))}.arn}`;
    for (const name of ["website", "uploads"]) {
      const statements = statementsOf(at(stack, "aws_iam_role_policy", `${name}/function/policy`));
      expect(statements.find((s) => s.Sid === "InvalidateDistribution")).toEqual({
        Sid: "InvalidateDistribution",
        Effect: "Allow",
        Action: "cloudfront:CreateInvalidation",
        Resource: arnOf(`${name}-distribution`),
      });
      expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a?.startsWith("s3:"))).toEqual([]);
    }
  });

  it("configures each function from its target: distribution, planner, query-string variants, no migration check", () => {
    const variables = (name: string) =>
      (at(stack, "aws_lambda_function", `${name}/function/function`).environment as { variables: Body }).variables;
    expect(variables("website")).toEqual(
      expect.objectContaining({
        DISTRIBUTION_ID: "E2QWRUHEXAMPLE",
        EXACT_PATH_LIMIT: "100",
        QUERY_STRING_VARIANTS: "false",
      }),
    );
    expect(variables("uploads")).toEqual(
      expect.objectContaining({
        DISTRIBUTION_ID: "EDFDVBD6EXAMPLE",
        EXACT_PATH_LIMIT: "15",
        QUERY_STRING_VARIANTS: "true",
      }),
    );
    expect(variables("website")).not.toHaveProperty("MIGRATION_BUCKET");
    expect(at(stack, "aws_lambda_event_source_mapping", "website/source")).toMatchObject({
      batch_size: 1000,
      maximum_batching_window_in_seconds: 60,
      function_response_types: ["ReportBatchItemFailures"],
    });
  });

  it("prints each DLQ and the command that turns on the bucket's EventBridge delivery without dropping its other notifications", () => {
    expect(Object.keys(stack.output ?? {}).sort()).toEqual([
      "uploads_dead_letter_queue_url",
      "uploads_enable_eventbridge_command",
      "website_dead_letter_queue_url",
      "website_enable_eventbridge_command",
    ]);
    expect(stack.output!.uploads_enable_eventbridge_command.value).toBe(
      "aws s3api get-bucket-notification-configuration --bucket acme-user-uploads --region eu-central-1" +
        " | jq -s '(.[0] // {}) + {EventBridgeConfiguration: {}}'" +
        " | aws s3api put-bucket-notification-configuration --bucket acme-user-uploads --region eu-central-1 --notification-configuration file:///dev/stdin",
    );
  });

  it("follows every security rule", () => {
    expect(policyViolations(app.stacks)).toEqual([]);
  });
});

describe("standalone invalidation and key filter config", () => {
  const target = { name: "site", bucket: "acme-www-content", distributionId: "E2QWRUHEXAMPLE" };
  it.each([
    [
      "a distribution id that is not one",
      { standaloneInvalidation: [{ ...target, distributionId: "d111111abcdef8.cloudfront.net" }] },
      /^standaloneInvalidation\.0\.distributionId: must be a CloudFront distribution id/,
    ],
    [
      "a name too long for the function's name",
      { standaloneInvalidation: [{ ...target, name: "a-name-far-too-long-for-it" }] },
      /^standaloneInvalidation\.0\.name: must be 2 to 20 lowercase/,
    ],
    [
      "a bucket name S3 refuses",
      { standaloneInvalidation: [{ ...target, bucket: "Acme_WWW" }] },
      /^standaloneInvalidation\.0\.bucket: "Acme_WWW" is not a valid S3 bucket name/,
    ],
    [
      "a region that is not one",
      { standaloneInvalidation: [{ ...target, region: "mars-1" }] },
      /^standaloneInvalidation\.0\.region: "mars-1" is not an AWS region/,
    ],
    [
      "two targets with one name",
      { standaloneInvalidation: [target, { ...target, distributionId: "EDFDVBD6EXAMPLE" }] },
      /^standaloneInvalidation\.1\.name: "site" is the name of target 0 already/,
    ],
    [
      "the same bucket and distribution twice",
      { standaloneInvalidation: [target, { ...target, name: "again" }] },
      /^standaloneInvalidation\.1\.distributionId: target 0 already invalidates E2QWRUHEXAMPLE for acme-www-content/,
    ],
    [
      "an unknown field",
      { standaloneInvalidation: [{ ...target, distribution: "E2QWRUHEXAMPLE" }] },
      /^standaloneInvalidation\.0\.distribution: unknown field/,
    ],
    [
      "a key filter S3 would encode unpredictably",
      { cdn: { invalidation: { keyPrefixes: ["fotos/año/"] } } },
      /^cdn\.invalidation\.keyPrefixes\.0: may contain only letters, digits, space/,
    ],
    [
      "key filters whose rule pattern EventBridge would refuse",
      {
        standaloneInvalidation: [
          {
            ...target,
            keyPrefixes: Array.from({ length: 10 }, (_, i) => `section-${i}/`),
            keySuffixes: [".html", ".css", ".js", ".json", ".xml", ".txt"],
          },
        ],
      },
      /^standaloneInvalidation\.0\.keyPrefixes: with keySuffixes gives an EventBridge pattern of up to \d+ characters; EventBridge accepts 2048/,
    ],
    [
      "more than ten prefixes",
      { cdn: { invalidation: { keyPrefixes: Array.from({ length: 11 }, (_, i) => `p${i}/`) } } },
      /^cdn\.invalidation\.keyPrefixes: /,
    ],
  ] as const)("refuses %s, naming the field", (_name, config, problem) => {
    expect(configProblems(config)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it("defaults a target's region to the primary region and its planner to the shared defaults", () => {
    const { config } = synthApp({
      cdn: { enabled: false },
      image: { enabled: false },
      objectStats: { enabled: false },
    });
    expect(config.standaloneInvalidation).toEqual([]);
    const app = synthApp({ standaloneInvalidation: [target], objectStats: { enabled: false } });
    expect(app.config.standaloneInvalidation[0]).toMatchObject({
      region: "us-east-2",
      queryStringVariants: false,
      batchingWindowSeconds: 30,
      batchSize: 1000,
      exactPathLimit: 100,
      keyPrefixes: [],
      keySuffixes: [],
    });
  });
});
