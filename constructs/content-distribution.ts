import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import {
  CloudfrontDistribution,
  type CloudfrontDistributionOrigin,
} from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { CloudfrontOriginRequestPolicy } from "@cdktf/provider-aws/lib/cloudfront-origin-request-policy";
import { CloudfrontResponseHeadersPolicy } from "@cdktf/provider-aws/lib/cloudfront-response-headers-policy";
import { Construct } from "constructs";
import type { S3EdgeConfig } from "../config";
import type {
  BucketReference,
  DomainCertificate,
  EdgeFunctionAssociation,
  LegacyOriginEndpoint,
} from "../contracts/cross-stack";
import { aliasRecords, viewerCertificate } from "../aws/cloudfront";
import { CHINA_DISTRIBUTION_SETTINGS, S3OriginAccessIdentity, type ChinaDelivery } from "./cloudfront-china";

/** Origin ids inside the distribution. */
export const ORIGIN_IDS = {
  primary: "s3-primary",
  replica: "s3-replica",
  legacy: "gcs-legacy",
  group: "content",
} as const;

/** Error answers whose caching is kept short (`cdn.errorCachingTtlSeconds`). */
export const CACHED_ERROR_CODES = [403, 404, 500, 502, 503, 504] as const;
/** HSTS max-age: two years, what the preload list asks for. */
export const HSTS_MAX_AGE_SECONDS = 63_072_000;

export interface ContentDistributionProps {
  /** Prefix of the distribution's policies and OAC names. */
  readonly name: string;
  /** The distribution settings of the config (`cdn`). */
  readonly cdn: S3EdgeConfig["cdn"];
  readonly primary: BucketReference;
  readonly replica: BucketReference;
  /**
   * The GCS origin to fail over to (with `cdn.failover: "auto"`).
   * @default none: failover to the replica
   */
  readonly legacyOrigin?: LegacyOriginEndpoint;
  /**
   * Lambda@Edge functions of the default behaviour (attached only when failing over to GCS: they
   * work on GCS requests and responses).
   * @default none
   */
  readonly edgeAssociations?: readonly EdgeFunctionAssociation[];
  /**
   * Serve `hostname` with the certificate, with Route53 A/AAAA alias records in its zone.
   * @default the cloudfront.net name only
   */
  readonly customDomain?: { readonly hostname: string; readonly certificate: DomainCertificate };
  /**
   * Deliver through CloudFront China: its aliases and IAM certificate, S3 read through an origin
   * access identity, no Origin Shield and no edge functions (see constructs/cloudfront-china.ts).
   * Excludes `customDomain`.
   * @default the global partition's CloudFront
   */
  readonly china?: ChinaDelivery;
}

/**
 * The content distribution: both buckets through one Origin Access Control, Origin Shield on every
 * origin, an origin group on the default behaviour failing over to GCS (legacy origin) or to the S3
 * replica, a cache policy with TTLs from config, security headers, HTTPS only, short caching of
 * errors, optional WAF and custom domain with alias records.
 */
export class ContentDistribution extends Construct {
  readonly distribution: CloudfrontDistribution;
  /** Where the default behaviour fails over to. */
  readonly failoverTarget: "legacy" | "replica";
  /** China only: the origin access identity the bucket policies grant reads to. */
  readonly originAccessIdentity?: S3OriginAccessIdentity;

  constructor(scope: Construct, id: string, props: ContentDistributionProps) {
    super(scope, id);
    const { cdn, primary, replica, name, china } = props;

    // CloudFront China has neither origin access control nor Origin Shield.
    const identity = (this.originAccessIdentity = china
      ? new S3OriginAccessIdentity(this, "oai", { comment: `s3-edge: ${name} reads the S3 buckets` })
      : undefined);
    const accessControl = china
      ? undefined
      : new CloudfrontOriginAccessControl(this, "oac", {
          name: `${name}-s3`,
          description: "s3-edge: CloudFront signs every request to the S3 buckets (SigV4)",
          originAccessControlOriginType: "s3",
          signingBehavior: "always",
          signingProtocol: "sigv4",
        });
    const originShield = china ? undefined : { enabled: true, originShieldRegion: cdn.originShieldRegion };
    const s3Origin = (originId: string, bucket: BucketReference): CloudfrontDistributionOrigin => ({
      originId,
      domainName: bucket.regionalDomainName,
      ...(identity
        ? { s3OriginConfig: { originAccessIdentity: identity.path } }
        : { originAccessControlId: accessControl!.id }),
      originShield,
    });

    const legacy = props.legacyOrigin;
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
    // The edge functions work on legacy-origin responses and requests: they belong to that failover only.
    const associations = toLegacy && !china ? (props.edgeAssociations ?? []) : [];

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

    const { customDomain } = props;

    const distribution = (this.distribution = new CloudfrontDistribution(this, "distribution", {
      enabled: true,
      comment: `s3-edge: ${name}`,
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      priceClass: cdn.priceClass,
      webAclId: cdn.webAclArn,
      ...(china ? CHINA_DISTRIBUTION_SETTINGS : {}),
      defaultRootObject: cdn.defaultRootObject,
      aliases: china ? [...china.aliases] : customDomain ? [customDomain.hostname] : undefined,
      origin: origins,
      originGroup: [
        {
          originId: ORIGIN_IDS.group,
          member: [{ originId: ORIGIN_IDS.primary }, { originId: toLegacy ? ORIGIN_IDS.legacy : ORIGIN_IDS.replica }],
          failoverCriteria: {
            // Per mode from config (cdn.failoverStatusCodes), each validated against what CloudFront accepts.
            statusCodes: toLegacy ? cdn.failoverStatusCodes.legacy : cdn.failoverStatusCodes.replica,
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
      viewerCertificate: viewerCertificate(
        china
          ? { kind: "iam", iamCertificateId: china.iamCertificateId }
          : customDomain
            ? { kind: "acm", certificateArn: customDomain.certificate.certificateArn }
            : { kind: "cloudfront" },
      ),
    }));
    if (customDomain) {
      aliasRecords(this, {
        zoneId: customDomain.certificate.hostedZoneId,
        hostname: customDomain.hostname,
        distribution,
      });
    }
  }
}
