import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import type { ITerraformDependable, TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { denyInsecureTransport, policyDocument, type PolicyStatement } from "../aws/iam";
import { cloudFrontStatement } from "../aws/cloudfront";
import { Partition } from "../aws/partition";
import { identityReadStatements } from "./cloudfront-china";

/** The bucket statements every s3-edge bucket carries: no plain HTTP, no TLS older than 1.2. */
export function transportSecurityStatements(bucketArn: string): PolicyStatement[] {
  const bucketAndObjects = [bucketArn, `${bucketArn}/*`];
  return [
    denyInsecureTransport("s3:*", bucketAndObjects),
    {
      Sid: "DenyOutdatedTls",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: bucketAndObjects,
      Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
    },
  ];
}

/**
 * Read access for CloudFront distributions through Origin Access Control: the CloudFront service
 * principal, only on behalf of the named distributions (`AWS:SourceArn`). ListBucket (so a
 * missing key answers 404 rather than 403) only when asked for.
 */
export function cloudFrontReadStatements(
  partition: Partition,
  bucketArn: string,
  distributionArns: readonly string[],
  allowListBucket: boolean,
): PolicyStatement[] {
  const read = (sid: string, action: string, resource: string) =>
    cloudFrontStatement(partition, { sid, action, resource, distributionArns });
  return [
    read("CloudFrontReadObjects", "s3:GetObject", `${bucketArn}/*`),
    ...(allowListBucket ? [read("CloudFrontListForReal404", "s3:ListBucket", bucketArn)] : []),
  ];
}

export interface BucketPolicyProps {
  /** Name of the bucket (S3 allows one policy per bucket: this construct must be the only one). */
  readonly bucketName: string;
  readonly bucketArn: string;
  /**
   * Distributions that read the bucket through OAC (their ARNs).
   * @default none: the policy carries only the transport-security denies
   */
  readonly readerDistributionArns?: readonly string[];
  /**
   * Origin access identities that read the bucket (CloudFront China, which has no OAC): their IAM ARNs.
   * @default none
   */
  readonly readerIdentityArns?: readonly string[];
  /**
   * Grant the readers s3:ListBucket so that a missing key answers 404 instead of 403.
   * @default false
   */
  readonly allowListBucket?: boolean;
  /** @default the stack's default aws provider (it must be the bucket's region) */
  readonly provider?: TerraformProvider;
  /**
   * Resources the policy write must wait for (S3 refuses policy writes that race the
   * public-access-block write on a new bucket).
   * @default none
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * The one policy of a bucket: the TLS-only denies plus the CloudFront reads of every distribution
 * that serves from it. A bucket can have exactly one policy resource, so whoever creates it must
 * know every reader: see `bucketPolicyOwners` in stacks/index.ts for where it lives.
 */
export class BucketPolicy extends Construct {
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: BucketPolicyProps) {
    super(scope, id);
    const readers = props.readerDistributionArns ?? [];
    const identities = props.readerIdentityArns ?? [];
    this.policy = new S3BucketPolicy(this, "policy", {
      provider: props.provider,
      bucket: props.bucketName,
      policy: policyDocument([
        ...transportSecurityStatements(props.bucketArn),
        ...(readers.length > 0
          ? cloudFrontReadStatements(Partition.of(this), props.bucketArn, readers, props.allowListBucket ?? false)
          : []),
        ...(identities.length > 0
          ? identityReadStatements(props.bucketArn, identities, props.allowListBucket ?? false)
          : []),
      ]),
      dependsOn: props.dependsOn,
    });
  }
}
