/**
 * Operations: the dashboard names only metrics that exist, every alarm notifies the ops topic of its
 * own region, topics are created where config gives none, additional CloudFront metrics on demand.
 */
import {
  METRIC_CATALOGUE,
  METRICS_NAMESPACE,
  METRICS_WITH_REASON,
  SERVICE_DIMENSION,
} from "../../functions/shared/metrics";
import { parseConfig } from "../../config";
import { resourcesOf, fullConfigInput, synthApp, type SynthesizedApp } from "../support/synth";
import { configProblems } from "../support/config-problems";

type Resource = { stack: string; type: string; name: string; body: Record<string, unknown> };

function everyResource(app: SynthesizedApp): Resource[] {
  return Object.entries(app.stacks).flatMap(([stack, json]) =>
    Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
      Object.entries(byName).map(([name, body]) => ({ stack, type, name, body })),
    ),
  );
}

/** `${aws_x.y.attr}` or a remote-state output of another stack → the resource it names. */
function resolve(app: SynthesizedApp, value: string): Resource | undefined {
  const local = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value);
  if (local) return everyResource(app).find((r) => r.type === local[1] && r.name === local[2]);
  const remote =
    /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/.exec(
      value,
    );
  const output = remote && app.stacks[remote[1]]?.output?.[remote[2]]?.value;
  if (typeof output !== "string") return undefined;
  const inStack = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(output);
  return inStack
    ? everyResource(app).find((r) => r.stack === remote![1] && r.type === inStack[1] && r.name === inStack[2])
    : undefined;
}

/** Every function or ECS service name that prints figures, with the code it runs. */
function meteredServices(app: SynthesizedApp): Map<string, string> {
  const services = new Map<string, string>();
  for (const r of everyResource(app)) {
    if (r.type === "aws_lambda_function") {
      const name = String(r.body.function_name);
      const kind = name.endsWith("-invalidate")
        ? "invalidate"
        : name.endsWith("-backfill-worker")
          ? "backfill-worker"
          : name.endsWith("-object-stats")
            ? "object-stats"
            : name.endsWith("-image")
              ? "image"
              : "";
      if (kind) services.set(name, kind);
    }
    if (r.type === "aws_ecs_task_definition") {
      const containers = JSON.parse(String(r.body.container_definitions)) as Array<{
        environment: Array<{ name: string; value: string }>;
      }>;
      const service = containers[0].environment.find((e) => e.name === "POWERTOOLS_SERVICE_NAME")?.value;
      if (service) services.set(service, "image");
    }
  }
  return services;
}

/** Checks one dashboard metric row against the app; returns what does not exist. */
function problemOf(app: SynthesizedApp, row: unknown[]): string | undefined {
  const [namespace, metric, ...rest] = row as string[];
  const pairs: Record<string, string> = {};
  for (let i = 0; i + 1 < rest.length && typeof rest[i] === "string"; i += 2) pairs[rest[i]] = rest[i + 1];
  const resources = everyResource(app);
  const named = (type: string, attribute: string, value: string) =>
    resources.some((r) => r.type === type && r.body[attribute] === value) || resolve(app, value)?.type === type;
  switch (namespace) {
    case "AWS/CloudFront":
      return pairs.Region === "Global" && resolve(app, pairs.DistributionId)?.type === "aws_cloudfront_distribution"
        ? undefined
        : `no distribution ${pairs.DistributionId}`;
    case "AWS/SQS":
      return named("aws_sqs_queue", "name", pairs.QueueName) ? undefined : `no queue ${pairs.QueueName}`;
    case "AWS/S3":
      return named("aws_s3_bucket", "bucket", pairs.BucketName) ? undefined : `no bucket ${pairs.BucketName}`;
    case METRICS_NAMESPACE: {
      const kind = meteredServices(app).get(pairs[SERVICE_DIMENSION]);
      if (!kind) return `no function prints figures as ${pairs[SERVICE_DIMENSION]}`;
      const catalogue = Object.values(METRIC_CATALOGUE[kind as keyof typeof METRIC_CATALOGUE]) as string[];
      if (!catalogue.includes(metric)) return `${kind} emits no ${metric}`;
      const extra = Object.keys(pairs).filter((d) => d !== SERVICE_DIMENSION);
      return extra.length === 0 || METRICS_WITH_REASON.includes(metric) ? undefined : `extra dimensions ${extra}`;
    }
    default:
      return `unexpected namespace ${namespace}`;
  }
}

function dashboardOf(app: SynthesizedApp) {
  const [[, dashboard]] = resourcesOf(app.stacks.operations, "aws_cloudwatch_dashboard");
  return JSON.parse(String(dashboard.dashboard_body)) as {
    widgets: Array<{ type: string; properties: { title?: string; region?: string; metrics?: unknown[][] } }>;
  };
}

describe.each([
  ["default config", {}],
  ["full example config", fullConfigInput()],
  ["ECS and Lambda image engines, no legacy origin", { legacyOrigin: null, image: { variant: "both" } }],
] as const)("%s", (_label, input) => {
  const app = synthApp(input as never);

  it("has one dashboard whose every metric and dimension exists in the app", () => {
    const widgets = dashboardOf(app).widgets.filter((w) => w.type === "metric");
    expect(widgets.length).toBeGreaterThan(5);
    const rows = widgets.flatMap((w) => (w.properties.metrics ?? []).filter((row) => typeof row[0] === "string"));
    expect(rows.length).toBeGreaterThan(10);
    const problems = rows.map((row) => [row.slice(0, 2).join(" "), problemOf(app, row)]).filter(([, p]) => p);
    expect(problems).toEqual([]);
    for (const widget of widgets) {
      const cloudfront = (widget.properties.metrics ?? []).some((row) => row[0] === "AWS/CloudFront");
      expect(widget.properties.region).toBe(cloudfront ? "us-east-1" : app.config.primaryRegion);
    }
  });

  it("makes every alarm notify, on ALARM and on OK, the ops topic of its own region", () => {
    const alarms = everyResource(app).filter((r) => r.type === "aws_cloudwatch_metric_alarm");
    expect(alarms.length).toBeGreaterThan(5);
    const configured = app.config.operations.topicArns as Record<string, string>;
    for (const alarm of alarms) {
      const stack = app.stacks[alarm.stack];
      const alias = typeof alarm.body.provider === "string" ? alarm.body.provider.slice(4) : undefined;
      const region = stack.provider!.aws!.find((p) => p.alias === alias)!.region;
      for (const actions of [alarm.body.alarm_actions, alarm.body.ok_actions] as string[][]) {
        expect(actions).toHaveLength(1);
        if (configured[region as string]) {
          expect(actions[0]).toBe(configured[region as string]);
          continue;
        }
        const topic = resolve(app, actions[0]);
        expect(topic?.type).toBe("aws_sns_topic");
        const topicStack = app.stacks[topic!.stack];
        const topicAlias =
          typeof topic!.body.provider === "string" ? (topic!.body.provider as string).slice(4) : undefined;
        expect(topicStack.provider!.aws!.find((p) => p.alias === topicAlias)!.region).toBe(region);
      }
    }
  });
});

describe("ops topics and alarms", () => {
  const defaults = synthApp({});
  const storage = defaults.stacks["storage-replication"];

  it("creates an encrypted ops topic in the primary region and in us-east-1, each subscribed to nobody by default", () => {
    const topics = resourcesOf(storage, "aws_sns_topic").map(([, t]) => t);
    expect(topics.map((t) => [t.name, t.provider ?? "aws"]).sort()).toEqual([
      ["s3edge-example-ops", "aws"],
      ["s3edge-example-ops", "aws.us_east_1"],
    ]);
    for (const topic of topics) expect(String(topic.kms_master_key_id)).toMatch(/^\$\{aws_kms_key\./);
    expect(resourcesOf(storage, "aws_sns_topic_subscription")).toEqual([]);
    const [, policy] = resourcesOf(storage, "aws_sns_topic_policy").find(([, p]) => p.provider === undefined)!;
    const publish = (JSON.parse(String(policy.policy)) as { Statement: Array<Record<string, unknown>> }).Statement.find(
      (s) => s.Sid === "AlarmsOfThisAccountAndRegionPublish",
    );
    expect(publish).toMatchObject({
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Condition: {
        ArnLike: {
          "aws:SourceArn": expect.stringMatching(/^arn:aws:cloudwatch:us-east-2:\$\{local\.[^}]+\}:alarm:\*$/),
        },
      },
    });
  });

  it("uses a configured topic as it is and subscribes the e-mail addresses to the topics it creates", () => {
    const app = synthApp({
      operations: {
        emails: ["oncall@example.com"],
        topicArns: { "us-east-2": "arn:aws:sns:us-east-2:123456789012:pager" },
      },
    });
    const stack = app.stacks["storage-replication"];
    expect(resourcesOf(stack, "aws_sns_topic").map(([, t]) => t.provider)).toEqual(["aws.us_east_1"]);
    expect(resourcesOf(stack, "aws_sns_topic_subscription").map(([, s]) => [s.protocol, s.endpoint])).toEqual([
      ["email", "oncall@example.com"],
    ]);
  });

  it("alarms on every DLQ, the backfill queue's age, every regional function, the image engines and the distributions", () => {
    const names = everyResource(defaults)
      .filter((r) => r.type === "aws_cloudwatch_metric_alarm")
      .map((r) => String(r.body.alarm_name))
      .sort();
    expect(names).toEqual(
      expect.arrayContaining([
        "s3edge-example-backfill-dlq-not-empty",
        "s3edge-example-backfill-sweeper-dlq-not-empty",
        "s3edge-example-backfill-oldest-message-age",
        "s3edge-example-backfill-worker-errors",
        "s3edge-example-backfill-worker-throttles",
        "s3edge-example-invalidate-dlq-not-empty",
        "s3edge-example-invalidate-failures",
        "s3edge-example-content-5xx-rate",
        "s3edge-example-image-5xx-rate",
        "s3edge-example-image-errors",
        "s3edge-example-image-invalidate-failures",
        "s3edge-example-object-stats-dead-letters-not-empty",
        "s3edge-example-object-stats-errors",
      ]),
    );
    const oldest = everyResource(defaults).find(
      (r) => r.body.alarm_name === "s3edge-example-backfill-oldest-message-age",
    )!;
    expect(oldest.body).toMatchObject({ threshold: 3600, metric_name: "ApproximateAgeOfOldestMessage" });
  });

  it("alarms on the ECS engine's busy rejections and missing tasks, with thresholds from config", () => {
    const app = synthApp({
      image: { variant: "ecs" },
      operations: { alarmThresholds: { ecsTasksBelowDesiredMinutes: 3 } },
    });
    const alarms = resourcesOf(app.stacks.image, "aws_cloudwatch_metric_alarm").map(([, a]) => a);
    const tasks = alarms.find((a) => a.alarm_name === "s3edge-example-image-tasks-below-desired")!;
    expect(tasks.evaluation_periods).toBe(3);
    expect(alarms.map((a) => a.alarm_name)).toContain("s3edge-example-image-busy");
  });

  it("subscribes every distribution to CloudFront's additional metrics only when asked", () => {
    expect(resourcesOf(defaults.stacks.operations, "aws_cloudfront_monitoring_subscription")).toEqual([]);
    const rows = dashboardOf(defaults).widgets.flatMap((w) => w.properties.metrics ?? []);
    expect(rows.some((row) => row[1] === "CacheHitRate")).toBe(false);
    const full = synthApp(fullConfigInput());
    // The content distribution and three image distributions (primary and two extra buckets).
    expect(resourcesOf(full.stacks.operations, "aws_cloudfront_monitoring_subscription")).toHaveLength(4);
    expect(
      dashboardOf(full)
        .widgets.flatMap((w) => w.properties.metrics ?? [])
        .some((r) => r[1] === "CacheHitRate"),
    ).toBe(true);
  });
});

describe("operations config", () => {
  it("refuses a topic of another region and a malformed e-mail address", () => {
    expect(
      configProblems({
        operations: {
          emails: ["not-an-address"],
          topicArns: { "us-east-1": "arn:aws:sns:eu-west-1:123456789012:pager" },
        },
      }),
    ).toEqual([
      "operations.emails.0: must be an e-mail address",
      "operations.topicArns.us-east-1: the topic is in eu-west-1, not us-east-1: an alarm can only notify a topic of its own region",
    ]);
    expect(parseConfig({}).operations).toMatchObject({ emails: [], topicArns: {}, cloudfrontAdditionalMetrics: false });
  });
});
