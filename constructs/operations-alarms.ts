import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmConfig,
} from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import type { AlarmThresholds } from "../config/sections/operations";
import { EdgeFunction } from "./edge-function";
import { IMAGE_METRICS, INVALIDATION_METRICS, METRICS_NAMESPACE, SERVICE_DIMENSION } from "../functions/shared/metrics";

/** The period of every alarm but the ECS one: five minutes, CloudWatch's standard resolution for these metrics. */
export const ALARM_PERIOD_SECONDS = 300;

export interface OperationsAlarmsProps {
  /** The ops topic of the alarms' region: alarm and OK notifications go there. */
  readonly topicArn: string;
  /** Provider of the region the metrics live in. @default the stack's default provider */
  readonly provider?: TerraformProvider;
  readonly thresholds: AlarmThresholds;
}

type AlarmSettings = Omit<CloudwatchMetricAlarmConfig, "provider" | "alarmActions" | "okActions">;

/**
 * The alarms of one region of a stack, each notifying the ops topic of that region on ALARM and
 * on OK. One method per kind of alarm (docs/operations.md lists them with what to do).
 */
export class OperationsAlarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: OperationsAlarmsProps,
  ) {
    super(scope, id);
  }

  private alarm(id: string, settings: AlarmSettings): CloudwatchMetricAlarm {
    const alarm = new CloudwatchMetricAlarm(this, id, {
      provider: this.props.provider,
      alarmActions: [this.props.topicArn],
      okActions: [this.props.topicArn],
      ...settings,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  /** A dead-letter queue holds a message: something failed for good and waits for a look. */
  deadLetterQueue(id: string, queueName: string, what: string): void {
    this.alarm(`${id}-not-empty`, {
      alarmName: `${queueName}-not-empty`,
      alarmDescription: `${what} wait in the dead-letter queue ${queueName}`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueName },
      statistic: "Maximum",
      period: ALARM_PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** The oldest message of a queue is older than the threshold: consumers do not keep up, or fail. */
  oldestMessageAge(id: string, queueName: string, maxSeconds: number): void {
    this.alarm(`${id}-oldest-message`, {
      alarmName: `${queueName}-oldest-message-age`,
      alarmDescription: `Messages of ${queueName} wait longer than ${maxSeconds} s`,
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: queueName },
      statistic: "Maximum",
      period: ALARM_PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: maxSeconds,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** Errors and throttles of one function (by its literal name). */
  lambdaFunction(fn: LambdaFunction): void {
    const name = fn.functionNameInput;
    if (!name) throw new Error("OperationsAlarms: a function needs a literal function_name to be alarmed on");
    const { thresholds } = this.props;
    for (const [kind, threshold] of [
      ["errors", thresholds.lambdaErrors],
      ["throttles", thresholds.lambdaThrottles],
    ] as const) {
      const metric = kind === "errors" ? "Errors" : "Throttles";
      this.alarm(`${fn.node.path.replace(/\//g, "-")}-${kind}`, {
        alarmName: `${name}-${kind}`,
        alarmDescription: `${name}: ${threshold} or more ${kind} in 5 minutes`,
        namespace: "AWS/Lambda",
        metricName: metric,
        dimensions: { FunctionName: name },
        statistic: "Sum",
        period: ALARM_PERIOD_SECONDS,
        evaluationPeriods: 1,
        threshold,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
    }
  }

  /**
   * Errors and throttles of every Lambda function below `scope` (regional functions only: a
   * Lambda@Edge function's metrics are spread over the regions that ran it, and its failures show
   * as the distribution's 5xx instead).
   */
  functionsIn(scope: Construct): void {
    for (const node of scope.node.findAll()) {
      if (node instanceof LambdaFunction && !isEdgeFunction(node)) this.lambdaFunction(node);
    }
  }

  /** A distribution's 5xx error rate, two periods in a row (the metric is in us-east-1). */
  distribution5xx(id: string, distributionId: string, label: string): void {
    const threshold = this.props.thresholds.cloudfront5xxPercent;
    this.alarm(`${id}-5xx`, {
      alarmName: `${label}-5xx-rate`,
      alarmDescription: `CloudFront distribution ${label} answers more than ${threshold}% 5xx`,
      namespace: "AWS/CloudFront",
      metricName: "5xxErrorRate",
      dimensions: { DistributionId: distributionId, Region: "Global" },
      statistic: "Average",
      period: ALARM_PERIOD_SECONDS,
      evaluationPeriods: 2,
      threshold,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** The image engine's 5xx share (its own figures) and, for the ECS server, busy rejections. */
  imageEngine(id: string, service: string, ecs: boolean): void {
    const { thresholds } = this.props;
    const figure = (metricName: string) => ({
      metric: {
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensions: { [SERVICE_DIMENSION]: service },
        stat: "Sum",
        period: ALARM_PERIOD_SECONDS,
      },
    });
    this.alarm(`${id}-5xx`, {
      alarmName: `${service}-5xx-rate`,
      alarmDescription: `The image engine ${service} answers more than ${thresholds.image5xxPercent}% of requests with 5xx`,
      metricQuery: [
        { id: "failed", ...figure(IMAGE_METRICS.status5xx) },
        { id: "requests", ...figure(IMAGE_METRICS.requests) },
        {
          id: "rate",
          expression: "100 * FILL(failed, 0) / requests",
          label: "5xx %",
          returnData: true,
        },
      ],
      evaluationPeriods: 1,
      threshold: thresholds.image5xxPercent,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    if (!ecs) return;
    this.alarm(`${id}-busy`, {
      alarmName: `${service}-busy`,
      alarmDescription: `The image server ${service} turned away ${thresholds.imageBusyRejections} or more requests as busy in 5 minutes`,
      namespace: METRICS_NAMESPACE,
      metricName: IMAGE_METRICS.busy,
      dimensions: { [SERVICE_DIMENSION]: service },
      statistic: "Sum",
      period: ALARM_PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: thresholds.imageBusyRejections,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** The ECS service runs fewer tasks than desired (Container Insights, on for the image cluster). */
  ecsTasksBelowDesired(id: string, clusterName: string, serviceName: string): void {
    const minutes = this.props.thresholds.ecsTasksBelowDesiredMinutes;
    const insight = (metricName: string) => ({
      metric: {
        namespace: "ECS/ContainerInsights",
        metricName,
        dimensions: { ClusterName: clusterName, ServiceName: serviceName },
        stat: "Average",
        period: 60,
      },
    });
    this.alarm(`${id}-tasks`, {
      alarmName: `${serviceName}-tasks-below-desired`,
      alarmDescription: `${serviceName} ran fewer tasks than desired for ${minutes} minutes`,
      metricQuery: [
        { id: "running", ...insight("RunningTaskCount") },
        { id: "desired", ...insight("DesiredTaskCount") },
        { id: "missing", expression: "desired - running", label: "tasks missing", returnData: true },
      ],
      evaluationPeriods: minutes,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** Invalidation batches that failed after every retry (the invalidation function's figure). */
  invalidationFailures(id: string, functionName: string): void {
    const threshold = this.props.thresholds.invalidationFailures;
    this.alarm(`${id}-failures`, {
      alarmName: `${functionName}-failures`,
      alarmDescription: `${functionName}: ${threshold} or more invalidations failed after every retry in 5 minutes`,
      namespace: METRICS_NAMESPACE,
      metricName: INVALIDATION_METRICS.failures,
      dimensions: { [SERVICE_DIMENSION]: functionName },
      statistic: "Sum",
      period: ALARM_PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
  }
}

function isEdgeFunction(fn: LambdaFunction): boolean {
  return fn.node.scopes.some((scope) => scope instanceof EdgeFunction);
}
