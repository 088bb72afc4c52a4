import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import {
  CLOUDFRONT_FREE_INVALIDATION_PATHS_PER_MONTH,
  CLOUDFRONT_INVALIDATION_PATH_PRICE_USD,
  cloudFrontMetricsRegion,
} from "../config/aws-facts";
import {
  BACKFILL_METRICS,
  IMAGE_METRICS,
  INVALIDATION_METRICS,
  METRICS_NAMESPACE,
  OBJECT_STATS_METRICS,
  SERVICE_DIMENSION,
} from "../functions/shared/metrics";

/** A CloudWatch dashboard metric row: namespace, name, dimension name/value pairs, then options. */
type MetricRow = Array<string | Record<string, unknown>>;

export interface DashboardDistribution {
  /** Shown in the legend: `content`, `image`, `image-extra-1`. */
  readonly label: string;
  readonly id: string;
}

/** An invalidation function's `service` name and the region it runs (and publishes figures) in. */
export interface InvalidationFunctionRef {
  readonly name: string;
  readonly region: string;
}

export interface OperationsDashboardProps {
  readonly dashboardName: string;
  /** The region of the dashboard and of every regional metric. */
  readonly region: string;
  readonly provider?: TerraformProvider;
  readonly distributions: readonly DashboardDistribution[];
  /** Cache hit rate and origin latency need CloudFront's additional metrics. @default false */
  readonly cloudfrontAdditionalMetrics?: boolean;
  /** @default no migration row */
  readonly backfill?: {
    readonly queueName: string;
    readonly deadLetterQueueName: string;
    readonly workerFunctionName: string;
  };
  /** The `service` names of the image engines. @default no image row */
  readonly imageEngines?: readonly string[];
  /** Invalidation functions (one per distribution with automatic invalidation). */
  readonly invalidationFunctions: readonly InvalidationFunctionRef[];
  /** @default no object-stats figures */
  readonly objectStatsFunction?: string;
  readonly primaryBucketName: string;
}

const WIDTH = 8;
const HEIGHT = 6;

/**
 * One dashboard for the deployment: delivery, migration, images, invalidations, objects. Every
 * metric is one the app creates or emits (asserted by __tests__/stacks/operations.test.ts); CloudFront's
 * widgets read the region where its metrics are (us-east-1; cn-northwest-1 in China).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const { region } = props;
    const widgets: Array<Record<string, unknown>> = [];
    let x = 0;
    let y = 0;
    const row = () => {
      x = 0;
      y += HEIGHT;
    };
    const graph = (title: string, metrics: MetricRow[], options: Record<string, unknown> = {}) => {
      if (x + WIDTH > 24) row();
      widgets.push({
        type: "metric",
        x,
        y,
        width: WIDTH,
        height: HEIGHT,
        properties: {
          title,
          region,
          view: "timeSeries",
          stacked: false,
          period: 300,
          stat: "Sum",
          metrics,
          ...options,
        },
      });
      x += WIDTH;
    };
    const header = (text: string) => {
      if (x > 0 || widgets.length > 0) row();
      widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${text}` } });
      y += 1;
    };
    const figure = (metricName: string, service: string, options: Record<string, unknown> = {}): MetricRow => [
      METRICS_NAMESPACE,
      metricName,
      SERVICE_DIMENSION,
      service,
      options,
    ];

    const cloudfront = { region: cloudFrontMetricsRegion(region) };
    header(`Delivery (CloudFront, ${cloudfront.region})`);
    const perDistribution = (metricName: string, stat: string) =>
      props.distributions.map((d): MetricRow => [
        "AWS/CloudFront",
        metricName,
        "DistributionId",
        d.id,
        "Region",
        "Global",
        { label: d.label, stat },
      ]);
    graph("Requests", perDistribution("Requests", "Sum"), cloudfront);
    graph("Bytes downloaded", perDistribution("BytesDownloaded", "Sum"), cloudfront);
    graph(
      "4xx / 5xx error rate (%)",
      [...perDistribution("4xxErrorRate", "Average"), ...perDistribution("5xxErrorRate", "Average")],
      { ...cloudfront, stat: "Average" },
    );
    if (props.cloudfrontAdditionalMetrics) {
      graph("Cache hit rate (%)", perDistribution("CacheHitRate", "Average"), { ...cloudfront, stat: "Average" });
      graph("Origin latency (ms)", perDistribution("OriginLatency", "p90"), { ...cloudfront, stat: "p90" });
    }

    if (props.backfill) {
      const { queueName, deadLetterQueueName, workerFunctionName: worker } = props.backfill;
      header("Migration (lazy backfill)");
      graph("Legacy fetches queued, copies", [
        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", queueName, { label: "copy jobs queued" }],
        figure(BACKFILL_METRICS.copied, worker, { label: "copied" }),
        figure(BACKFILL_METRICS.skipped, worker, { label: "already there" }),
        figure(BACKFILL_METRICS.failed, worker, { label: "failed for good" }),
        figure(BACKFILL_METRICS.retried, worker, { label: "retried" }),
      ]);
      graph("Bytes copied", [figure(BACKFILL_METRICS.bytesCopied, worker)]);
      graph(
        "Queue depth, oldest job (s), DLQ",
        [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queueName, { label: "waiting" }],
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queueName, { label: "oldest (s)", yAxis: "right" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", deadLetterQueueName, { label: "DLQ" }],
        ],
        { stat: "Maximum" },
      );
    }

    if (props.imageEngines?.length) {
      header("Images");
      const engines = props.imageEngines;
      graph(
        "Requests by status",
        engines.flatMap((service) =>
          [IMAGE_METRICS.status2xx, IMAGE_METRICS.status4xx, IMAGE_METRICS.status5xx].map((name) =>
            figure(name, service, { label: `${service} ${name.slice(-3)}` }),
          ),
        ),
      );
      graph(
        "Processing time (ms)",
        engines.flatMap((service) => [
          figure(IMAGE_METRICS.processingTime, service, { stat: "p50", label: `${service} p50` }),
          figure(IMAGE_METRICS.processingTime, service, { stat: "p99", label: `${service} p99` }),
        ]),
      );
      graph(
        "Bytes in and out, busy",
        engines.flatMap((service) => [
          figure(IMAGE_METRICS.sourceBytes, service, { label: `${service} source` }),
          figure(IMAGE_METRICS.outputBytes, service, { label: `${service} output` }),
          figure(IMAGE_METRICS.busy, service, { label: `${service} busy`, yAxis: "right" }),
        ]),
      );
    }

    if (props.invalidationFunctions.length > 0) {
      header("Invalidations");
      const day = 86_400;
      // A standalone pipeline runs in its bucket's region: its figures are read there.
      const at = (fn: InvalidationFunctionRef) => (fn.region === region ? {} : { region: fn.region });
      const paths = props.invalidationFunctions.map((fn, index) =>
        figure(INVALIDATION_METRICS.paths, fn.name, {
          id: `paths${index}`,
          label: `${fn.name} paths`,
          period: day,
          ...at(fn),
        }),
      );
      const sum = props.invalidationFunctions.map((_, index) => `paths${index}`).join(" + ");
      graph(
        `Paths per day and their cost at $${CLOUDFRONT_INVALIDATION_PATH_PRICE_USD}/path (first ${CLOUDFRONT_FREE_INVALIDATION_PATHS_PER_MONTH} a month free)`,
        [
          ...paths,
          [
            {
              expression: `(${sum}) * ${CLOUDFRONT_INVALIDATION_PATH_PRICE_USD}`,
              label: "USD at list price",
              yAxis: "right",
            },
          ],
        ],
        { period: day, view: "bar" },
      );
      graph(
        "Keys, wildcards, retries, failures",
        props.invalidationFunctions.flatMap((fn) => [
          figure(INVALIDATION_METRICS.keysSeen, fn.name, { label: `${fn.name} keys`, ...at(fn) }),
          figure(INVALIDATION_METRICS.migrationWritesSkipped, fn.name, {
            label: `${fn.name} migration writes skipped`,
            ...at(fn),
          }),
          figure(INVALIDATION_METRICS.wildcards, fn.name, { label: `${fn.name} wildcards`, ...at(fn) }),
          figure(INVALIDATION_METRICS.retries, fn.name, { label: `${fn.name} retries`, ...at(fn) }),
          figure(INVALIDATION_METRICS.failures, fn.name, { label: `${fn.name} failures`, ...at(fn) }),
        ]),
      );
    }

    header("Objects");
    graph(
      "Objects in the primary bucket (daily)",
      [
        ["AWS/S3", "NumberOfObjects", "BucketName", props.primaryBucketName, "StorageType", "AllStorageTypes"],
        [
          "AWS/S3",
          "BucketSizeBytes",
          "BucketName",
          props.primaryBucketName,
          "StorageType",
          "StandardStorage",
          { yAxis: "right" },
        ],
      ],
      { stat: "Average", period: 86_400 },
    );
    if (props.objectStatsFunction) {
      const service = props.objectStatsFunction;
      graph("Object events counted", [
        figure(OBJECT_STATS_METRICS.eventsCounted, service, { label: "counted" }),
        figure(OBJECT_STATS_METRICS.duplicatesIgnored, service, { label: "duplicates ignored" }),
        figure(OBJECT_STATS_METRICS.apiRequests, service, { label: "GET /count" }),
      ]);
    }

    this.dashboard = new CloudwatchDashboard(this, "dashboard", {
      provider: props.provider,
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify({ widgets }),
    });
  }
}
