import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import type { DomainCertificate } from "../contracts/cross-stack";
import { cnameRecords } from "./cloudfront-china";
import { ImageDistribution, ImageDistributionDefaults, type ImageOrigin } from "./image-distribution";
import type { ImageSourceBucket } from "./image-engine-settings";

/**
 * Where the shared distribution settings were before they were named `distribution-defaults`
 * (their construct id was `edge`): `moved` blocks carry deployed state to the new addresses.
 */
const ADDRESSES_BEFORE_RENAME = {
  cachePolicy: "aws_cloudfront_cache_policy.edge_cache_34422EC8",
  acceptFunction: "aws_cloudfront_function.edge_accept_A8F2E39A",
  s3OriginAccessControl: "aws_cloudfront_origin_access_control.edge_s3-oac_4C659E81",
  s3OriginAccessIdentity: "aws_cloudfront_origin_access_identity.edge_s3-oai_identity_921FAEB4",
} as const;

export interface ImageDistributionsProps {
  /** Names the shared cache policy, Accept function and origin access control (`<namePrefix>-image...`). */
  readonly namePrefix: string;
  /** One distribution each, the primary bucket first. */
  readonly sources: readonly ImageSourceBucket[];
  readonly imageOrigin: ImageOrigin;
  readonly priceClass: string;
  /** @default none (cloudfront.net names, unless `china` names the aliases) */
  readonly certificate?: DomainCertificate;
  /**
   * CloudFront China: the IAM server certificate and the ICP-recorded names of the primary
   * bucket's distribution (the others serve their bucket's `hostname`).
   * @default none (the global partition)
   */
  readonly china?: { readonly iamCertificateId: string; readonly imageAliases: readonly string[] };
}

/**
 * One image distribution per source bucket, the settings they share, and the outputs that tell
 * their URLs, their China DNS records and, for buckets s3-edge does not own, the policy
 * statements their owners add.
 */
export class ImageDistributions extends Construct {
  readonly defaults: ImageDistributionDefaults;
  /** One per source bucket, the primary's first; labelled `primary`, `extra-1`, ... */
  readonly distributions: readonly ImageDistribution[];
  /** The distributions that read the primary bucket through OAC (for its bucket policy); none in China. */
  readonly primaryReaderDistributionArns: readonly string[];
  /** China: the origin access identity the distributions read the primary bucket with (IAM ARNs). */
  readonly primaryReaderIdentityArns: readonly string[];

  constructor(scope: Construct, id: string, props: ImageDistributionsProps) {
    super(scope, id);
    const { china } = props;
    this.defaults = new ImageDistributionDefaults(this, "distribution-defaults", {
      name: props.namePrefix,
      china: china !== undefined,
    });
    this.defaults.cachePolicy.moveFromId(ADDRESSES_BEFORE_RENAME.cachePolicy);
    this.defaults.acceptFunction?.moveFromId(ADDRESSES_BEFORE_RENAME.acceptFunction);
    this.defaults.s3OriginAccessControl?.moveFromId(ADDRESSES_BEFORE_RENAME.s3OriginAccessControl);
    this.defaults.s3OriginAccessIdentity?.identity.moveFromId(ADDRESSES_BEFORE_RENAME.s3OriginAccessIdentity);

    this.distributions = props.sources.map((bucket, index) => {
      const label = index === 0 ? "primary" : `extra-${index}`;
      const aliases = china && (index === 0 ? china.imageAliases : [bucket.hostname!]);
      const distribution = new ImageDistribution(this, label, {
        bucket,
        imageOrigin: props.imageOrigin,
        defaults: this.defaults,
        priceClass: props.priceClass,
        certificate: props.certificate,
        china: china && aliases ? { iamCertificateId: china.iamCertificateId, aliases } : undefined,
      });
      this.outputs(label.replace("-", "_"), distribution, aliases);
      return distribution;
    });
    const identity = this.defaults.s3OriginAccessIdentity?.iamArn;
    this.primaryReaderDistributionArns = identity ? [] : [this.distributions[0].distribution.arn];
    this.primaryReaderIdentityArns = identity ? [identity] : [];
  }

  private outputs(output: string, distribution: ImageDistribution, chinaAliases: readonly string[] | undefined): void {
    const { bucket } = distribution;
    new TerraformOutput(this, `${output}_distribution_domain_name`, { value: distribution.distribution.domainName });
    if (chinaAliases) {
      new TerraformOutput(this, `${output}_dns_records`, {
        description: "Create these records at your Chinese registrar (ICP-recorded names; DNS is not managed in China)",
        value: cnameRecords(chinaAliases, distribution.distribution.domainName),
      });
    }
    new TerraformOutput(this, `${output}_distribution_url`, {
      description: `Image URL base of ${bucket.name}: <url>/<key>?x-oss-process=...`,
      value: distribution.url,
    });
    if (bucket.owned) return;
    new TerraformOutput(this, `${output}_bucket_policy_statement`, {
      description: `Add this statement to the policy of ${bucket.name} (not managed by s3-edge) so that its image distribution can read it`,
      value: JSON.stringify(distribution.readStatement()),
    });
    const keyStatement = distribution.keyReadStatement();
    if (keyStatement) {
      new TerraformOutput(this, `${output}_kms_key_policy_statement`, {
        description: `Add this statement to the policy of ${bucket.kmsKeyArn} so that the image distribution can decrypt objects of ${bucket.name}`,
        value: JSON.stringify(keyStatement),
      });
    }
  }
}
