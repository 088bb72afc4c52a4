import { CloudfrontMonitoringSubscription } from "@cdktf/provider-aws/lib/cloudfront-monitoring-subscription";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import type { PartitionName } from "../config/aws-facts";
import {
  OperationsDashboard,
  type DashboardDistribution,
  type InvalidationFunctionRef,
} from "../constructs/operations-dashboard";

export const OPERATIONS_STACK_ID = "operations";

/** The AWS console of a region: China has its own (console.amazonaws.cn). */
export function consoleUrl(partition: PartitionName, region: string): string {
  return partition === "aws-cn" ? "https://console.amazonaws.cn" : `https://${region}.console.aws.amazon.com`;
}

export interface OperationsStackProps {
  /** Every distribution of the deployment (cdn's and image's), ids through remote state. */
  readonly distributions: readonly DashboardDistribution[];
  readonly backfill?: {
    readonly queueName: string;
    readonly deadLetterQueueName: string;
    readonly workerFunctionName: string;
  };
  readonly imageEngines?: readonly string[];
  readonly invalidationFunctions: readonly InvalidationFunctionRef[];
  readonly objectStatsFunction?: string;
  readonly primaryBucketName: string;
}

/**
 * The deployment's dashboard (primary region) and, with `operations.cloudfrontAdditionalMetrics`,
 * CloudFront's additional metrics for every distribution. Applied last: it reads the other stacks.
 * The alarms live beside what they watch, in each stack, notifying storage-replication's ops topics.
 */
export class OperationsStack extends S3EdgeStack {
  readonly dashboardName: string;

  constructor(scope: Construct, config: S3EdgeConfig, props: OperationsStackProps) {
    super(scope, OPERATIONS_STACK_ID, config, config.primaryRegion);
    const additional = config.operations.cloudfrontAdditionalMetrics;
    this.dashboardName = config.namePrefix;
    new OperationsDashboard(this, "dashboard", {
      dashboardName: this.dashboardName,
      region: config.primaryRegion,
      distributions: props.distributions,
      cloudfrontAdditionalMetrics: additional,
      backfill: props.backfill,
      imageEngines: props.imageEngines,
      invalidationFunctions: props.invalidationFunctions,
      objectStatsFunction: props.objectStatsFunction,
      primaryBucketName: props.primaryBucketName,
    });
    if (additional) {
      props.distributions.forEach((distribution, index) => {
        new CloudfrontMonitoringSubscription(this, `additional-metrics-${index}`, {
          distributionId: distribution.id,
          monitoringSubscription: {
            realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: "Enabled" },
          },
        });
      });
    }
    new TerraformOutput(this, "dashboard_url", {
      value: `${consoleUrl(config.partition, config.primaryRegion)}/cloudwatch/home?region=${config.primaryRegion}#dashboards/dashboard/${this.dashboardName}`,
    });
  }
}
