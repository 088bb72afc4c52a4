import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogDeliverySource } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-source";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";

export interface DistributionAccessLogsProps {
  /** Names the log group (`/aws/cloudfront/<name>`), the delivery source and destination (`<name>-access`). */
  readonly name: string;
  readonly distributionArn: string;
  readonly retentionInDays: number;
  /**
   * The provider of us-east-1, where CloudFront's log delivery source exists (and the log group
   * must be too).
   * @default the scope's default provider (a stack in us-east-1)
   */
  readonly provider?: TerraformProvider;
}

/**
 * CloudFront standard logging v2 into a CloudWatch Logs group with a retention, chosen over legacy
 * standard logging, which needs an S3 bucket with ACLs enabled (every s3-edge bucket keeps ACLs off).
 */
export class DistributionAccessLogs extends Construct {
  readonly group: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: DistributionAccessLogsProps) {
    super(scope, id);
    const { name, provider } = props;
    this.group = new CloudwatchLogGroup(this, "access-logs", {
      provider,
      name: `/aws/cloudfront/${name}`,
      retentionInDays: props.retentionInDays,
    });
    const source = new CloudwatchLogDeliverySource(this, "access-log-source", {
      provider,
      name: `${name}-access`,
      logType: "ACCESS_LOGS",
      resourceArn: props.distributionArn,
    });
    const destination = new CloudwatchLogDeliveryDestination(this, "access-log-destination", {
      provider,
      name: `${name}-access`,
      outputFormat: "json",
      deliveryDestinationConfiguration: [{ destinationResourceArn: this.group.arn }],
    });
    new CloudwatchLogDelivery(this, "access-log-delivery", {
      provider,
      deliverySourceName: source.name,
      deliveryDestinationArn: destination.arn,
    });
  }
}
