import { CloudfrontOriginAccessIdentity } from "@cdktf/provider-aws/lib/cloudfront-origin-access-identity";
import { Construct } from "constructs";
import type { PolicyStatement } from "../aws/iam";

/**
 * How a distribution is delivered by CloudFront China (partition `aws-cn`). The facts and their
 * sources are in docs/china.md:
 * - only ICP-recorded alternate domain names serve content, over an IAM server certificate (no ACM);
 * - S3 is read through an origin access identity (no origin access control), which cannot decrypt
 *   SSE-KMS objects and cannot be scoped with `AWS:SourceArn`: the identity is the principal;
 * - no Origin Shield, Lambda@Edge or CloudFront Functions;
 * - four edge locations in mainland China: price classes do not apply (every one is used), and
 *   s3-edge keeps HTTP/2 over IPv4 as AWS's China samples do.
 */
export interface ChinaDelivery {
  /** `ServerCertificateId` of the IAM server certificate covering `aliases`. */
  readonly iamCertificateId: string;
  /** The ICP-recorded names the distribution serves (at least one). */
  readonly aliases: readonly string[];
}

/** Distribution settings that differ in China (see `ChinaDelivery`). */
export const CHINA_DISTRIBUTION_SETTINGS = {
  priceClass: "PriceClass_All",
  httpVersion: "http2",
  isIpv6Enabled: false,
} as const;

/**
 * The DNS records the user creates at the Chinese registrar (DNS stays there: no Route53 alias):
 * each alias a CNAME to the distribution's `*.cloudfront.cn` name.
 */
export function cnameRecords(aliases: readonly string[], distributionDomainName: string): Record<string, string> {
  return Object.fromEntries(aliases.map((alias) => [alias, `CNAME ${distributionDomainName}`]));
}

export interface S3OriginAccessIdentityProps {
  /** What the identity is for (its comment). */
  readonly comment: string;
}

/** An origin access identity: how CloudFront China signs its reads of private S3 buckets. */
export class S3OriginAccessIdentity extends Construct {
  readonly identity: CloudfrontOriginAccessIdentity;

  constructor(scope: Construct, id: string, props: S3OriginAccessIdentityProps) {
    super(scope, id);
    this.identity = new CloudfrontOriginAccessIdentity(this, "identity", { comment: props.comment });
  }

  /** The value of an S3 origin's `s3_origin_config.origin_access_identity`. */
  get path(): string {
    return this.identity.cloudfrontAccessIdentityPath;
  }

  /** The identity's IAM ARN: the principal bucket policies grant reads to. */
  get iamArn(): string {
    return this.identity.iamArn;
  }
}

/**
 * The bucket-policy statements that let origin access identities read a bucket's objects, and list
 * it (so a missing key answers 404 rather than 403) only when asked for.
 */
export function identityReadStatements(
  bucketArn: string,
  identityArns: readonly string[],
  allowListBucket: boolean,
): PolicyStatement[] {
  const principal = { AWS: [...identityArns] };
  return [
    {
      Sid: "CloudFrontIdentitiesReadObjects",
      Effect: "Allow",
      Principal: principal,
      Action: "s3:GetObject",
      Resource: `${bucketArn}/*`,
    },
    ...(allowListBucket
      ? [
          {
            Sid: "CloudFrontIdentitiesListForReal404",
            Effect: "Allow" as const,
            Principal: principal,
            Action: "s3:ListBucket",
            Resource: bucketArn,
          },
        ]
      : []),
  ];
}
