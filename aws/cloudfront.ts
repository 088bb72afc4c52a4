import type { CloudfrontDistributionViewerCertificate } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import type { Construct } from "constructs";
import type { PolicyStatement } from "./iam";
import type { Partition } from "./partition";

/** Oldest TLS policy viewers may use with a custom certificate (ACM, or IAM in China). */
export const MINIMUM_VIEWER_TLS = "TLSv1.2_2021";

/** How a distribution presents itself to viewers. */
export type ViewerCertificate =
  /** The `*.cloudfront.net` certificate: CloudFront fixes its minimum protocol itself. */
  | { readonly kind: "cloudfront" }
  /** An ACM certificate in us-east-1 (the dns-cert stack's). */
  | { readonly kind: "acm"; readonly certificateArn: string }
  /** CloudFront China: an IAM server certificate (no ACM there). */
  | { readonly kind: "iam"; readonly iamCertificateId: string };

/** The `viewer_certificate` block of a distribution: SNI and TLS 1.2 at least with a custom certificate. */
export function viewerCertificate(certificate: ViewerCertificate): CloudfrontDistributionViewerCertificate {
  switch (certificate.kind) {
    case "cloudfront":
      return { cloudfrontDefaultCertificate: true };
    case "acm":
      return {
        acmCertificateArn: certificate.certificateArn,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: MINIMUM_VIEWER_TLS,
      };
    case "iam":
      return {
        iamCertificateId: certificate.iamCertificateId,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: MINIMUM_VIEWER_TLS,
      };
  }
}

export interface AliasRecordsProps {
  readonly zoneId: string;
  readonly hostname: string;
  readonly distribution: { readonly domainName: string; readonly hostedZoneId: string };
}

/** Route53 A and AAAA alias records of `hostname` to a distribution (ids `alias-a`, `alias-aaaa` in `scope`). */
export function aliasRecords(scope: Construct, props: AliasRecordsProps): Route53Record[] {
  return (["A", "AAAA"] as const).map(
    (type) =>
      new Route53Record(scope, `alias-${type.toLowerCase()}`, {
        zoneId: props.zoneId,
        name: props.hostname,
        type,
        alias: {
          name: props.distribution.domainName,
          zoneId: props.distribution.hostedZoneId,
          evaluateTargetHealth: false,
        },
      }),
  );
}

export interface CloudFrontStatementProps {
  readonly sid: string;
  readonly action: string;
  readonly resource: string;
  /** The distributions CloudFront acts for (`AWS:SourceArn`): the tightest scope a service grant has. */
  readonly distributionArns: string | readonly string[];
}

/** A grant to the CloudFront service principal, on behalf of the named distributions only. */
export function cloudFrontStatement(partition: Partition, props: CloudFrontStatementProps): PolicyStatement {
  const sourceArns = typeof props.distributionArns === "string" ? props.distributionArns : [...props.distributionArns];
  return {
    Sid: props.sid,
    Effect: "Allow",
    Principal: { Service: partition.servicePrincipal("cloudfront") },
    Action: props.action,
    Resource: props.resource,
    Condition: { StringEquals: { "AWS:SourceArn": sourceArns } },
  };
}
