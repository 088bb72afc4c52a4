import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { DataAwsRoute53Zone } from "@cdktf/provider-aws/lib/data-aws-route53-zone";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { TerraformIterator, TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import type { DomainCertificate } from "../contracts/cross-stack";

export const DNS_CERT_STACK_ID = "dns-cert";
/** CloudFront accepts certificates only from ACM in us-east-1. */
export const CLOUDFRONT_CERTIFICATE_REGION = "us-east-1";
/** TTL of the DNS validation records (they only need to resolve while ACM validates and renews). */
export const VALIDATION_RECORD_TTL_SECONDS = 300;

export type DomainConfig = NonNullable<S3EdgeConfig["domain"]>;

export interface DnsCertStackProps {
  /** The custom domain (`config.domain`, present when this stack is built). */
  readonly domain: DomainConfig;
}

/**
 * The custom domain's certificate: the Route53 zone (looked up, not created), an ACM certificate
 * for the content and image hostnames (and further names), its DNS validation records and the
 * validation, so that `certificate.certificateArn` is the ARN of an issued certificate. Alias
 * records live with the distributions (avoiding a cycle between this stack and theirs).
 */
export class DnsCertStack extends S3EdgeStack {
  readonly certificate: DomainCertificate;

  constructor(scope: Construct, config: S3EdgeConfig, props: DnsCertStackProps) {
    // us-east-1, declared explicitly: CloudFront only uses ACM certificates from that region. It is
    // this stack's only provider (Route53 is global, so the zone and records need no other).
    super(scope, DNS_CERT_STACK_ID, config, CLOUDFRONT_CERTIFICATE_REGION);
    const { domain } = props;

    const zone = new DataAwsRoute53Zone(
      this,
      "zone",
      domain.hostedZoneId ? { zoneId: domain.hostedZoneId } : { name: domain.zoneName, privateZone: false },
    );
    // The image distributions of extra source buckets serve their own hostnames.
    const extraImageHostnames = config.image.enabled
      ? config.image.extraSourceBuckets.flatMap((bucket) => (bucket.hostname ? [bucket.hostname] : []))
      : [];
    const names = [
      ...new Set([domain.imageHostname, ...extraImageHostnames, ...domain.subjectAlternativeNames]),
    ].filter((name) => name !== domain.contentHostname);
    const certificate = new AcmCertificate(this, "certificate", {
      domainName: domain.contentHostname,
      subjectAlternativeNames: names,
      validationMethod: "DNS",
      keyAlgorithm: "EC_prime256v1",
      // A replacement (new names) is issued before the old one is released by the distributions.
      lifecycle: { createBeforeDestroy: true },
    });

    // One record per name, keyed by domain name (names sharing a record, such as a name and its
    // wildcard, are merged by allow_overwrite). The provider knows each option's domain_name at plan
    // time, but only while the set is iterated as a set: cdktf's fromComplexList wraps it in
    // tolist(), whose keys Terraform cannot determine before apply ("Invalid for_each argument" on
    // the first plan, found by the offline plan of `npm run validate -- --plan`).
    const validationOptions = TerraformIterator.fromMap(
      Token.asAnyMap(
        `\${{ for option in ${certificate.fqn}.domain_validation_options : option.domain_name => option }}`,
      ),
    );
    const records = new Route53Record(this, "validation-record", {
      forEach: validationOptions,
      zoneId: zone.zoneId,
      name: validationOptions.getString("resource_record_name"),
      type: validationOptions.getString("resource_record_type"),
      records: [validationOptions.getString("resource_record_value")],
      ttl: VALIDATION_RECORD_TTL_SECONDS,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "validation", {
      certificateArn: certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(records).pluckProperty("fqdn")),
    });

    this.certificate = { certificateArn: validation.certificateArn, hostedZoneId: zone.zoneId };
    new TerraformOutput(this, "certificate_arn", { value: validation.certificateArn });
    new TerraformOutput(this, "hosted_zone_id", { value: zone.zoneId });
  }
}
