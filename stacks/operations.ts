import { CloudfrontMonitoringSubscription } from "@cdktf/provider-aws/lib/cloudfront-monitoring-subscription";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import type { PartitionName } from "../config/aws-facts";
import { OperationsDashboard, type OperationsDashboardProps } from "../constructs/operations-dashboard";

export const OPERATIONS_STACK_ID = "operations";

/** The AWS console of a region: China has its own (console.amazonaws.cn). */
export function consoleUrl(partition: PartitionName, region: string): string {
  return partition === "aws-cn" ? "https://console.amazonaws.cn" : `https://${region}.console.aws.amazon.com`;
}

/** What the dashboard shows: every stack's names and ids (the dashboard's own settings come from config). */
export type OperationsStackProps = Omit<
  OperationsDashboardProps,
  "dashboardName" | "region" | "provider" | "cloudfrontAdditionalMetrics"
>;

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
      cloudfrontAdditionalMetrics: additional,
      ...props,
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
