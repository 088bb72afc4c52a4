import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import {
  CloudfrontDistribution,
  type CloudfrontDistributionOrigin,
} from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { CloudfrontOriginRequestPolicy } from "@cdktf/provider-aws/lib/cloudfront-origin-request-policy";
import { CloudfrontResponseHeadersPolicy } from "@cdktf/provider-aws/lib/cloudfront-response-headers-policy";
import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogDeliverySource } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-source";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { Fn, TerraformLocal, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { S3EdgeConfig } from "../config";
import { AutomaticInvalidation } from "../constructs/automatic-invalidation";
import { configureBackend } from "../constructs/backend";
import { BucketPolicy } from "../constructs/bucket-policy";
import { policyDocument } from "../constructs/iam";
import { awsProvider } from "../constructs/providers";
import { cloudFrontDecryptStatement } from "../constructs/secure-bucket";
import {
  legacyOriginEndpoint,
  type DomainCertificate,
  type EdgeAttachments,
  type LegacyOriginEndpoint,
} from "./contracts";
import type { BucketReference } from "./storage-replication";

export const CDN_STACK_ID = "cdn";

/** Origin ids inside the distribution. */
export const ORIGIN_IDS = {
  primary: "s3-primary",
  replica: "s3-replica",
  legacy: "gcs-legacy",
  group: "content",
} as const;

/**
 * Failover status codes. To GCS: a key missing in S3 answers 403 (404 with ListBucket), and that
 * is exactly when the legacy origin must answer. To the replica: only when the primary fails.
 */
export const LEGACY_FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504] as const;
export const REPLICA_FAILOVER_STATUS_CODES = [500, 502, 503, 504] as const;
/** Error answers whose caching is kept short (`cdn.errorCachingTtlSeconds`). */
export const CACHED_ERROR_CODES = [403, 404, 500, 502, 503, 504] as const;
/** HSTS max-age: two years, what the preload list asks for. */
export const HSTS_MAX_AGE_SECONDS = 63_072_000;
/** Oldest TLS policy viewers may use with the custom certificate. */
export const MINIMUM_VIEWER_TLS = "TLSv1.2_2021";
/** CloudFront v2 logging (vended logs) is configured in us-east-1 for every distribution. */
export const CLOUDFRONT_LOGS_REGION = "us-east-1";

export interface CdnStackProps {
  readonly config: S3EdgeConfig;
  /** Buckets from storage-replication (values travel through remote state). */
  readonly primary: BucketReference;
  readonly replica: BucketReference;
  /**
   * The edge stack's functions and GCS origin. Absent: no function associations, and the GCS
   * origin (when a legacy origin is configured) is derived from config.
   */
  readonly edge?: EdgeAttachments;
  /** The dns-cert stack's certificate and zone; required when config has a domain. */
  readonly certificate?: DomainCertificate;
  /**
   * ARNs of other distributions that read the primary bucket (the image stack's), named in the
   * primary bucket's policy, which this stack owns when it exists.
   * @default none
   */
  readonly additionalPrimaryReaders?: readonly string[];
}

/** What other stacks get from the content distribution. */
export interface DistributionReference {
  readonly id: string;
  readonly arn: string;
  readonly domainName: string;
}

/**
 * The content distribution: S3 primary through OAC with Origin Shield, an origin group failing
 * over to GCS (legacy origin) or to the S3 replica, security headers, HTTPS only, optional custom
 * domain and WAF, v2 access logs, automatic invalidation, and the policies of both buckets.
 */
export class CdnStack extends TerraformStack {
  readonly distribution: DistributionReference;
  /** Where the default behaviour fails over to. */
  readonly failoverTarget: "legacy" | "replica";

  constructor(scope: Construct, props: CdnStackProps) {
    const id = CDN_STACK_ID;
    super(scope, id);
    const { config, primary, replica } = props;
    const { cdn } = config;
    const name = `${config.namePrefix}-content`;
    configureBackend(this, id, config.backend);
    awsProvider(this, "aws", { region: config.primaryRegion, tags: config.tags, stackId: id });
    const replicaProvider = awsProvider(this, "aws-replica", {
      region: config.replicaRegion,
      alias: "replica",
      tags: config.tags,
      stackId: id,
    });

    const accessControl = new CloudfrontOriginAccessControl(this, "oac", {
      name: `${name}-s3`,
      description: "s3-edge: CloudFront signs every request to the S3 buckets (SigV4)",
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
    const originShield = { enabled: true, originShieldRegion: cdn.originShieldRegion };
    const s3Origin = (originId: string, bucket: BucketReference): CloudfrontDistributionOrigin => ({
      originId,
      domainName: bucket.regionalDomainName,
      originAccessControlId: accessControl.id,
      originShield,
    });

    const legacy: LegacyOriginEndpoint | undefined =
      props.edge?.legacyOrigin ?? (config.legacyOrigin ? legacyOriginEndpoint(config.legacyOrigin.bucket) : undefined);
    this.failoverTarget = legacy && cdn.failover === "auto" ? "legacy" : "replica";
    const origins = [s3Origin(ORIGIN_IDS.primary, primary), s3Origin(ORIGIN_IDS.replica, replica)];
    if (legacy && this.failoverTarget === "legacy") {
      origins.push({
        originId: ORIGIN_IDS.legacy,
        domainName: legacy.domainName,
        originPath: legacy.originPath,
        customOriginConfig: {
          httpPort: 80,
          httpsPort: 443,
          originProtocolPolicy: "https-only",
          originSslProtocols: ["TLSv1.2"],
        },
        originShield,
      });
    }
    const toLegacy = this.failoverTarget === "legacy";
    // The edge functions work on GCS responses and requests: they belong to the GCS failover only.
    const associations = toLegacy ? (props.edge?.associations ?? []) : [];

    const cachePolicy = new CloudfrontCachePolicy(this, "cache-policy", {
      name,
      comment: "s3-edge: content, cache key = path (+ encoding)",
      minTtl: cdn.ttl.min,
      defaultTtl: cdn.ttl.default,
      maxTtl: cdn.ttl.max,
      parametersInCacheKeyAndForwardedToOrigin: {
        enableAcceptEncodingGzip: cdn.compression,
        enableAcceptEncodingBrotli: cdn.compression,
        cookiesConfig: { cookieBehavior: "none" },
        headersConfig: { headerBehavior: "none" },
        queryStringsConfig: { queryStringBehavior: "none" },
      },
    });
    // Only the CORS request headers reach the origin: S3 and GCS answer CORS preflights themselves,
    // and forwarding Host (or anything else) would break OAC and the GCS signature.
    const originRequestPolicy = new CloudfrontOriginRequestPolicy(this, "origin-request-policy", {
      name,
      comment: "s3-edge: CORS headers to the origin",
      cookiesConfig: { cookieBehavior: "none" },
      headersConfig: {
        headerBehavior: "whitelist",
        headers: { items: ["origin", "access-control-request-headers", "access-control-request-method"] },
      },
      queryStringsConfig: { queryStringBehavior: "none" },
    });
    const responseHeadersPolicy = new CloudfrontResponseHeadersPolicy(this, "security-headers", {
      name: `${name}-security-headers`,
      comment: "s3-edge: HSTS, nosniff, frame options, referrer policy",
      securityHeadersConfig: {
        strictTransportSecurity: {
          accessControlMaxAgeSec: HSTS_MAX_AGE_SECONDS,
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: "DENY", override: true },
        referrerPolicy: { referrerPolicy: "strict-origin-when-cross-origin", override: true },
      },
    });

    const domain = config.domain;
    if (domain && !props.certificate) {
      throw new Error("CdnStack: config has a domain but no certificate was given (the dns-cert stack's)");
    }
    const customDomain = domain && props.certificate ? { domain, certificate: props.certificate } : undefined;

    const distribution = new CloudfrontDistribution(this, "distribution", {
      enabled: true,
      comment: `s3-edge: ${name}`,
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      priceClass: cdn.priceClass,
      webAclId: cdn.webAclArn,
      aliases: customDomain ? [customDomain.domain.contentHostname] : undefined,
      origin: origins,
      originGroup: [
        {
          originId: ORIGIN_IDS.group,
          member: [{ originId: ORIGIN_IDS.primary }, { originId: toLegacy ? ORIGIN_IDS.legacy : ORIGIN_IDS.replica }],
          failoverCriteria: {
            statusCodes: [...(toLegacy ? LEGACY_FAILOVER_STATUS_CODES : REPLICA_FAILOVER_STATUS_CODES)],
          },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: ORIGIN_IDS.group,
        viewerProtocolPolicy: "redirect-to-https",
        // Origin groups fail over only for GET, HEAD and OPTIONS.
        allowedMethods: ["GET", "HEAD", "OPTIONS"],
        cachedMethods: ["GET", "HEAD"],
        compress: cdn.compression,
        cachePolicyId: cachePolicy.id,
        originRequestPolicyId: originRequestPolicy.id,
        responseHeadersPolicyId: responseHeadersPolicy.id,
        lambdaFunctionAssociation: associations.map((association) => ({
          eventType: association.eventType,
          lambdaArn: association.qualifiedArn,
          includeBody: association.includeBody,
        })),
      },
      customErrorResponse: CACHED_ERROR_CODES.map((errorCode) => ({
        errorCode,
        errorCachingMinTtl: cdn.errorCachingTtlSeconds,
      })),
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: customDomain
        ? {
            acmCertificateArn: customDomain.certificate.certificateArn,
            sslSupportMethod: "sni-only",
            minimumProtocolVersion: MINIMUM_VIEWER_TLS,
          }
        : // The *.cloudfront.net certificate: CloudFront fixes its minimum protocol itself.
          { cloudfrontDefaultCertificate: true },
    });
    this.distribution = { id: distribution.id, arn: distribution.arn, domainName: distribution.domainName };

    if (customDomain) {
      for (const type of ["A", "AAAA"]) {
        new Route53Record(this, `alias-${type.toLowerCase()}`, {
          zoneId: customDomain.certificate.hostedZoneId,
          name: customDomain.domain.contentHostname,
          type,
          alias: { name: distribution.domainName, zoneId: distribution.hostedZoneId, evaluateTargetHealth: false },
        });
      }
    }

    // This stack owns both buckets' policies (see bucketPolicyOwners in stacks/index.ts).
    new BucketPolicy(this, "primary-bucket-policy", {
      bucketName: primary.name,
      bucketArn: primary.arn,
      readerDistributionArns: [distribution.arn, ...(props.additionalPrimaryReaders ?? [])],
      allowListBucket: cdn.real404,
    });
    new BucketPolicy(this, "replica-bucket-policy", {
      provider: replicaProvider,
      bucketName: replica.name,
      bucketArn: replica.arn,
      readerDistributionArns: [distribution.arn],
      allowListBucket: cdn.real404,
    });

    if (cdn.logging) this.accessLogs(name, distribution.arn, config);

    new AutomaticInvalidation(this, "invalidation", {
      namePrefix: config.namePrefix,
      distributionId: distribution.id,
      distributionArn: distribution.arn,
      sourceBucketName: primary.name,
      batchingWindowSeconds: cdn.invalidation.batchingWindowSeconds,
      batchSize: cdn.invalidation.batchSize,
      exactPathLimit: cdn.invalidation.exactPathLimit,
      runtime: config.lambda.runtime,
      architecture: config.lambda.architecture,
      logRetentionDays: config.lambda.logRetentionDays,
    });

    new TerraformOutput(this, "distribution_id", { value: distribution.id });
    new TerraformOutput(this, "distribution_domain_name", { value: distribution.domainName });
    const { encryption } = config.storage;
    if (encryption.type === "sse-kms" && (encryption.primaryKeyArn || encryption.replicaKeyArn)) {
      // s3-edge does not own existing keys: their owners add this statement to each key's policy.
      const account = new TerraformLocal(this, "account", Fn.element(Fn.split(":", distribution.arn), 4)).asString;
      new TerraformOutput(this, "kms_key_policy_statement_for_cloudfront", {
        description:
          "Add this statement to the policy of each existing KMS key of the buckets, so CloudFront can decrypt",
        value: policyDocument([cloudFrontDecryptStatement(account, `arn:aws:cloudfront::${account}:distribution/*`)]),
      });
    }
  }

  /**
   * CloudFront standard logging v2 into a CloudWatch Logs group (chosen over legacy standard
   * logging, which needs an S3 bucket with ACLs enabled: every s3-edge bucket keeps ACLs off).
   * The group has a retention like every other log; CloudFront vended logs are configured in
   * us-east-1, where the log group must be too.
   */
  private accessLogs(name: string, distributionArn: string, config: S3EdgeConfig): void {
    // us-east-1, declared explicitly: CloudFront's log delivery source exists only there.
    const provider = awsProvider(this, "aws-us-east-1", {
      region: CLOUDFRONT_LOGS_REGION,
      alias: "us_east_1",
      tags: config.tags,
      stackId: CDN_STACK_ID,
    });
    const group = new CloudwatchLogGroup(this, "access-logs", {
      provider,
      name: `/aws/cloudfront/${name}`,
      retentionInDays: config.lambda.logRetentionDays,
    });
    const source = new CloudwatchLogDeliverySource(this, "access-log-source", {
      provider,
      name: `${name}-access`,
      logType: "ACCESS_LOGS",
      resourceArn: distributionArn,
    });
    const destination = new CloudwatchLogDeliveryDestination(this, "access-log-destination", {
      provider,
      name: `${name}-access`,
      outputFormat: "json",
      deliveryDestinationConfiguration: [{ destinationResourceArn: group.arn }],
    });
    new CloudwatchLogDelivery(this, "access-log-delivery", {
      provider,
      deliverySourceName: source.name,
      deliveryDestinationArn: destination.arn,
    });
  }
}
