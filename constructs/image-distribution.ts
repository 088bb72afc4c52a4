import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import { CloudfrontDistribution } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontFunction } from "@cdktf/provider-aws/lib/cloudfront-function";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Construct } from "constructs";
import { PROJECT_ROOT } from "../config/paths";
import { CLOUDFRONT_ORIGIN_TLS_PROTOCOL } from "../config/aws-facts";
import type { DomainCertificate } from "../contracts/cross-stack";
import type { PolicyStatement } from "../aws/iam";
import {
  IMAGE_ORIGIN_READ_TIMEOUT_SECONDS,
  PROCESS_PARAMETER,
  SOURCE_BUCKET_HEADER,
} from "../functions/image/environment";
import type { ImageSourceBucket } from "./image-engine-settings";
import { aliasRecords, cloudFrontStatement, viewerCertificate } from "../aws/cloudfront";
import { Partition } from "../aws/partition";
import {
  CHINA_DISTRIBUTION_SETTINGS,
  identityReadStatements,
  S3OriginAccessIdentity,
  type ChinaDelivery,
} from "./cloudfront-china";

/** The viewer-request function that normalizes Accept (plain JavaScript, as CloudFront runs it). */
export const ACCEPT_FUNCTION_FILE = join(PROJECT_ROOT, "functions", "image-accept", "index.js");
/** Processed images do not change for a given URL: cache them long. */
export const IMAGE_DEFAULT_TTL_SECONDS = 30 * 24 * 3600;
export const IMAGE_MAX_TTL_SECONDS = 365 * 24 * 3600;
/** The image origin answers 403 for requests without processing: CloudFront then reads S3. */
export const FAILOVER_STATUS_CODES = [403];
const ORIGIN_KEEPALIVE_TIMEOUT_SECONDS = 5;
const IMAGE_ORIGIN_ID = "image";
const S3_ORIGIN_ID = "s3";
const ORIGIN_GROUP_ID = "image-then-s3";

/** How a distribution reaches the image engine. */
export type ImageOrigin =
  | {
      /** A Lambda Function URL, signed by CloudFront through an origin access control. */
      readonly kind: "lambda";
      readonly domainName: string;
      readonly originAccessControlId: string;
    }
  | {
      /** An API Gateway HTTP API in front of the Lambda engine (China: no Function URLs, no OAC). */
      readonly kind: "http-api";
      readonly domainName: string;
    }
  | {
      /** The ECS service's internal ALB, through a CloudFront VPC origin. */
      readonly kind: "vpc";
      /** The ALB's DNS name. */
      readonly domainName: string;
      readonly vpcOriginId: string;
    };

export interface ImageDistributionDefaultsProps {
  /** Names the cache policy, function and origin access control. */
  readonly name: string;
  /**
   * CloudFront China: no CloudFront Functions (the cache key keeps the viewer's whole Accept
   * header, so automatic formats stay correct at the cost of more cache variants) and an origin
   * access identity instead of OAC.
   * @default false
   */
  readonly china?: boolean;
}

/**
 * What every image distribution of a stack shares: cache policy, Accept function and S3 OAC; in
 * China the cache policy and an origin access identity.
 */
export class ImageDistributionDefaults extends Construct {
  readonly cachePolicy: CloudfrontCachePolicy;
  readonly acceptFunction?: CloudfrontFunction;
  readonly s3OriginAccessControl?: CloudfrontOriginAccessControl;
  readonly s3OriginAccessIdentity?: S3OriginAccessIdentity;

  constructor(scope: Construct, id: string, props: ImageDistributionDefaultsProps) {
    super(scope, id);
    this.cachePolicy = new CloudfrontCachePolicy(this, "cache", {
      name: `${props.name}-image`,
      comment: "s3-edge images: key = path + x-oss-process + normalized Accept",
      minTtl: 0,
      defaultTtl: IMAGE_DEFAULT_TTL_SECONDS,
      maxTtl: IMAGE_MAX_TTL_SECONDS,
      parametersInCacheKeyAndForwardedToOrigin: {
        queryStringsConfig: { queryStringBehavior: "whitelist", queryStrings: { items: [PROCESS_PARAMETER] } },
        headersConfig: { headerBehavior: "whitelist", headers: { items: ["Accept"] } },
        cookiesConfig: { cookieBehavior: "none" },
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
      },
    });
    if (props.china) {
      this.s3OriginAccessIdentity = new S3OriginAccessIdentity(this, "s3-oai", {
        comment: "s3-edge: image distributions read source buckets",
      });
      return;
    }
    this.acceptFunction = new CloudfrontFunction(this, "accept", {
      name: `${props.name}-image-accept`,
      comment: "s3-edge: Accept → image/avif, image/webp or */* (cache key class)",
      runtime: "cloudfront-js-2.0",
      code: readFileSync(ACCEPT_FUNCTION_FILE, "utf8"),
      publish: true,
    });
    this.s3OriginAccessControl = new CloudfrontOriginAccessControl(this, "s3-oac", {
      name: `${props.name}-image-s3`,
      description: "s3-edge: image distributions read source buckets",
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
  }
}

export interface ImageDistributionProps {
  readonly bucket: ImageSourceBucket;
  readonly imageOrigin: ImageOrigin;
  readonly defaults: ImageDistributionDefaults;
  readonly priceClass: string;
  /**
   * The certificate (us-east-1) and zone for `bucket.hostname`; without it, or without a hostname,
   * the distribution serves its cloudfront.net name only.
   * @default none
   */
  readonly certificate?: DomainCertificate;
  /** Deliver through CloudFront China (with `defaults` made for China); excludes `certificate`. @default global */
  readonly china?: ChinaDelivery;
}

/**
 * The image distribution of one source bucket: an origin group tries the image engine first and
 * falls back to the bucket (through an S3 origin access control) when the engine answers 403,
 * which it does for requests without processing. The engine learns the bucket from a custom origin
 * header. Viewers are redirected to HTTPS; with a custom domain, TLS 1.2 (2021 policy) and alias
 * records.
 */
export class ImageDistribution extends Construct {
  readonly distribution: CloudfrontDistribution;
  readonly bucket: ImageSourceBucket;
  private readonly defaults: ImageDistributionDefaults;
  /** `https://<hostname>` with a custom domain, else `https://<cloudfront.net name>`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ImageDistributionProps) {
    super(scope, id);
    this.bucket = props.bucket;
    this.defaults = props.defaults;
    const { bucket, imageOrigin, defaults, certificate, china } = props;
    const hostname = certificate ? bucket.hostname : undefined;
    const originTimeouts = {
      // A request that takes longer than this to process gets a 504 from CloudFront.
      originReadTimeout: IMAGE_ORIGIN_READ_TIMEOUT_SECONDS,
      originKeepaliveTimeout: ORIGIN_KEEPALIVE_TIMEOUT_SECONDS,
    };
    this.distribution = new CloudfrontDistribution(this, "distribution", {
      enabled: true,
      comment: `s3-edge images of ${bucket.name}`,
      isIpv6Enabled: true,
      httpVersion: "http2and3",
      priceClass: props.priceClass,
      aliases: hostname ? [hostname] : undefined,
      origin: [
        {
          originId: IMAGE_ORIGIN_ID,
          domainName: imageOrigin.domainName,
          customHeader: [{ name: SOURCE_BUCKET_HEADER, value: bucket.name }],
          ...(imageOrigin.kind === "vpc"
            ? { vpcOriginConfig: { vpcOriginId: imageOrigin.vpcOriginId, ...originTimeouts } }
            : {
                originAccessControlId: imageOrigin.kind === "lambda" ? imageOrigin.originAccessControlId : undefined,
                customOriginConfig: {
                  httpPort: 80,
                  httpsPort: 443,
                  originProtocolPolicy: "https-only",
                  originSslProtocols: [CLOUDFRONT_ORIGIN_TLS_PROTOCOL],
                  ...originTimeouts,
                },
              }),
        },
        {
          originId: S3_ORIGIN_ID,
          domainName: bucket.regionalDomainName,
          ...(defaults.s3OriginAccessIdentity
            ? { s3OriginConfig: { originAccessIdentity: defaults.s3OriginAccessIdentity.path } }
            : { originAccessControlId: defaults.s3OriginAccessControl!.id }),
        },
      ],
      originGroup: [
        {
          originId: ORIGIN_GROUP_ID,
          failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES },
          member: [{ originId: IMAGE_ORIGIN_ID }, { originId: S3_ORIGIN_ID }],
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: ORIGIN_GROUP_ID,
        viewerProtocolPolicy: "redirect-to-https",
        // Origin groups fail over for these methods only.
        allowedMethods: ["GET", "HEAD", "OPTIONS"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: defaults.cachePolicy.id,
        compress: true,
        functionAssociation: defaults.acceptFunction
          ? [{ eventType: "viewer-request", functionArn: defaults.acceptFunction.arn }]
          : undefined,
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
      ...(china ? CHINA_DISTRIBUTION_SETTINGS : {}),
      ...(china ? { aliases: [...china.aliases] } : {}),
      viewerCertificate: viewerCertificate(
        china
          ? { kind: "iam", iamCertificateId: china.iamCertificateId }
          : hostname
            ? { kind: "acm", certificateArn: certificate!.certificateArn }
            : { kind: "cloudfront" },
      ),
    });
    // In China the cloudfront.cn name serves nothing without an ICP alias: the URL is the alias.
    this.url = `https://${china ? china.aliases[0] : (hostname ?? this.distribution.domainName)}`;
    if (hostname) aliasRecords(this, { zoneId: certificate!.hostedZoneId, hostname, distribution: this.distribution });
  }

  /**
   * The bucket-policy statement that lets this distribution read the bucket through its origin
   * access control: for buckets whose policy s3-edge does not write.
   */
  readStatement(): PolicyStatement {
    const identity = this.defaults.s3OriginAccessIdentity;
    if (identity) return identityReadStatements(this.bucket.arn, [identity.iamArn], false)[0];
    return cloudFrontStatement(Partition.of(this), {
      sid: "S3EdgeImageDistributionRead",
      action: "s3:GetObject",
      resource: `${this.bucket.arn}/*`,
      distributionArns: this.distribution.arn,
    });
  }

  /** The key-policy statement an SSE-KMS bucket's key needs so that this distribution can decrypt. */
  keyReadStatement(): PolicyStatement | undefined {
    if (!this.bucket.kmsKeyArn) return undefined;
    return cloudFrontStatement(Partition.of(this), {
      sid: "S3EdgeImageDistributionDecrypt",
      action: "kms:Decrypt",
      resource: "*",
      distributionArns: this.distribution.arn,
    });
  }
}
