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
  /**
   * Private subnets (no route to an internet gateway) of the internal load balancer, in at least
   * two availability zones: CloudFront's VPC origin places its network interfaces there.
   */
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
 * processing). Two private subnets (no default route) hold the internal load balancer, which
 * CloudFront reaches through a VPC origin; two public subnets hold the tasks. Tasks get a public IP
 * for egress only (ECR, CloudWatch Logs); their security group admits nothing but the load
 * balancer, so the address accepts no connection from the internet. The internet gateway also
 * marks the VPC as one that receives internet traffic, which CloudFront requires of a VPC origin's
 * VPC. Free gateway endpoints keep S3 and DynamoDB traffic (the source images, the styles) inside
 * AWS's network. The default security group is emptied so that nothing lands in an open group by
 * accident.
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
    const privateRoutes = new RouteTable(this, "private-routes", {
      vpcId: this.vpc.id,
      tags: { Name: `${props.name}-private` },
    });
    const subnetsOf = (kind: "public" | "private", table: RouteTable, firstIndex: number) =>
      Array.from({ length: AVAILABILITY_ZONES }, (_, index) => {
        const subnet = new Subnet(this, `${kind}-${index}`, {
          vpcId: this.vpc.id,
          cidrBlock: Fn.cidrsubnet(cidrBlock, 8, firstIndex + index),
          availabilityZone: Fn.element(zones.names, index),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${props.name}-${kind}-${index}` },
        });
        new RouteTableAssociation(this, `${kind}-${index}-routes`, { subnetId: subnet.id, routeTableId: table.id });
        return subnet.id;
      });
    const publicSubnets = subnetsOf("public", routes, 0);
    const privateSubnets = subnetsOf("private", privateRoutes, AVAILABILITY_ZONES);
    for (const service of ["s3", "dynamodb"]) {
      new VpcEndpoint(this, `${service}-endpoint`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Gateway",
        routeTableIds: [routes.id],
        tags: { Name: `${props.name}-${service}` },
      });
    }
    this.subnets = {
      vpcId: this.vpc.id,
      loadBalancerSubnetIds: privateSubnets,
      taskSubnetIds: publicSubnets,
      assignPublicIp: true,
    };
  }
}
