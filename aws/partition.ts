import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsServicePrincipal } from "@cdktf/provider-aws/lib/data-aws-service-principal";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";

/**
 * The AWS partition of a stack (`aws`, `aws-cn`) as Terraform knows it: every ARN, service
 * principal and service domain s3-edge writes comes from here, so that one config synthesizes for
 * the global regions and for China alike. The values are tokens of the stack's `aws_partition` and
 * `aws_service_principal` data sources, which the provider answers from its region without calling
 * AWS (one of each per stack, created on first use, read through the stack's default provider).
 */
export class Partition {
  private static readonly ID = "partition";
  private readonly principals = new Map<string, string>();

  private constructor(
    private readonly stack: TerraformStack,
    private readonly data: DataAwsPartition,
  ) {}

  /** The partition of `scope`'s stack. */
  static of(scope: Construct): Partition {
    const stack = TerraformStack.of(scope);
    const cached = partitions.get(stack);
    if (cached) return cached;
    const partition = new Partition(stack, new DataAwsPartition(stack, Partition.ID));
    partitions.set(stack, partition);
    return partition;
  }

  /** `aws` or `aws-cn`. */
  get name(): string {
    return this.data.partition;
  }

  /** `amazonaws.com` or `amazonaws.com.cn`: the domain of regional service endpoints. */
  get dnsSuffix(): string {
    return this.data.dnsSuffix;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; region and account may be empty or `*`. */
  arn(service: string, region: string, account: string, resource: string): string {
    return `arn:${this.name}:${service}:${region}:${account}:${resource}`;
  }

  /** The ARN that stands for a whole account in policies (`arn:<partition>:iam::<account>:root`). */
  accountRoot(account: string): string {
    return this.arn("iam", "", account, "root");
  }

  /** `arn:<partition>:s3:::<bucket>` */
  bucketArn(bucket: string): string {
    return this.arn("s3", "", "", bucket);
  }

  /** `<service>.<region>.<dnsSuffix>`, e.g. the `kms:ViaService` of S3 in a region. */
  serviceDomain(service: string, region: string): string {
    return `${service}.${region}.${this.dnsSuffix}`;
  }

  /**
   * The service principal of an AWS service in this partition (`lambda.amazonaws.com`; some
   * services use `amazonaws.com.cn` in China), as the provider knows it.
   */
  servicePrincipal(service: string): string {
    let principal = this.principals.get(service);
    if (!principal) {
      principal = new DataAwsServicePrincipal(this.stack, `${Partition.ID}-principal-${service.replace(/\./g, "-")}`, {
        serviceName: service,
      }).name;
      this.principals.set(service, principal);
    }
    return principal;
  }
}

const partitions = new WeakMap<TerraformStack, Partition>();
