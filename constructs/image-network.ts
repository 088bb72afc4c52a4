import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { Fn } from "cdktf";
import { Construct } from "constructs";

export const DEFAULT_IMAGE_VPC_CIDR = "10.64.0.0/16";
/** An ALB needs subnets in two availability zones. */
const AVAILABILITY_ZONES = 2;

/** Where the load balancer and the tasks of the image service live. */
export interface ImageServiceSubnets {
  readonly vpcId: string;
  /** Subnets of the internet-facing load balancer. */
  readonly loadBalancerSubnetIds: string[];
  /** Subnets of the tasks. */
  readonly taskSubnetIds: string[];
  /** Whether tasks get a public IP (their only route to ECR and CloudWatch Logs in a subnet without NAT). */
  readonly assignPublicIp: boolean;
}

export interface ImageNetworkProps {
  readonly name: string;
  /** The VPC's region: names the gateway endpoints' services. */
  readonly region: string;
  /** @default DEFAULT_IMAGE_VPC_CIDR */
  readonly cidrBlock?: string;
}

/**
 * A VPC for the image service without NAT gateways (about 32 USD a month each, plus data
 * processing): two public subnets in two zones hold the load balancer and the tasks. Tasks get a
 * public IP for egress only; their security group admits nothing but the load balancer, so the
 * address accepts no connection from the internet. Free gateway endpoints keep S3 and DynamoDB
 * traffic (the source images, the styles) inside AWS's network. The default security group is
 * emptied so that nothing lands in an open group by accident.
 */
export class ImageNetwork extends Construct {
  readonly vpc: Vpc;
  readonly subnets: ImageServiceSubnets;

  constructor(scope: Construct, id: string, props: ImageNetworkProps) {
    super(scope, id);
    const cidrBlock = props.cidrBlock ?? DEFAULT_IMAGE_VPC_CIDR;
    this.vpc = new Vpc(this, "vpc", {
      cidrBlock,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: props.name },
    });
    new DefaultSecurityGroup(this, "default-sg", { vpcId: this.vpc.id, ingress: [], egress: [] });
    const zones = new DataAwsAvailabilityZones(this, "zones", {
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    const gateway = new InternetGateway(this, "igw", { vpcId: this.vpc.id, tags: { Name: props.name } });
    const routes = new RouteTable(this, "public-routes", {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
      tags: { Name: `${props.name}-public` },
    });
    const subnets = Array.from({ length: AVAILABILITY_ZONES }, (_, index) => {
      const subnet = new Subnet(this, `public-${index}`, {
        vpcId: this.vpc.id,
        cidrBlock: Fn.cidrsubnet(cidrBlock, 8, index),
        availabilityZone: Fn.element(zones.names, index),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${props.name}-public-${index}` },
      });
      new RouteTableAssociation(this, `public-${index}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet.id;
    });
    for (const service of ["s3", "dynamodb"]) {
      new VpcEndpoint(this, `${service}-endpoint`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Gateway",
        routeTableIds: [routes.id],
        tags: { Name: `${props.name}-${service}` },
      });
    }
    this.subnets = { vpcId: this.vpc.id, loadBalancerSubnetIds: subnets, taskSubnetIds: subnets, assignPublicIp: true };
  }
}
