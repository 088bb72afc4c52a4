/**
 * The partition rules of a config: every region and ARN of a deployment is in the partition of its
 * primary region (credentials, ARNs and endpoints of `aws` and `aws-cn` do not mix), and in `aws-cn`
 * the features CloudFront China does not offer are refused with what to use instead. The facts
 * behind each rule are in docs/china.md.
 */
import { partitionOfRegion, type PartitionName } from "./aws-facts";
import type { ChinaConfig } from "./sections/china";

/** One problem, as zod's `addIssue` takes it. */
export interface PartitionIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** The fields the rules read (the config before its defaults are derived). */
export interface PartitionFields {
  readonly primaryRegion: string;
  readonly replicaRegion: string;
  readonly backend: { readonly type: string; readonly region?: string };
  readonly storage: {
    readonly encryption: { readonly type: string; readonly primaryKeyArn?: string; readonly replicaKeyArn?: string };
  };
  readonly domain: unknown;
  readonly legacyOrigin: { readonly kind: string; readonly access?: string } | null;
  readonly edge: { readonly enabled: boolean };
  readonly cdn: {
    readonly enabled: boolean;
    readonly failover: string;
    readonly originShieldRegion?: string;
    readonly webAclArn?: string;
    readonly logging: boolean;
  };
  readonly image: {
    readonly enabled: boolean;
    readonly variant: string;
    readonly extraSourceBuckets: readonly {
      readonly region?: string;
      readonly kmsKeyArn?: string;
      readonly hostname?: string;
    }[];
  };
  readonly objectStats: { readonly notifications: { readonly subscriberPrincipals: readonly string[] } };
  readonly operations: { readonly topicArns: Readonly<Partial<Record<string, string>>> };
  readonly standaloneInvalidation: readonly { readonly region?: string }[];
  readonly china: ChinaConfig | null;
}

const arnPartition = (arn: string): string => arn.split(":")[1];

export function chinaProblems(config: PartitionFields): PartitionIssue[] {
  const partition = partitionOfRegion(config.primaryRegion);
  return [...mixedPartitions(config, partition), ...(partition === "aws-cn" ? chinaOnly(config) : notChina(config))];
}

/** Regions and ARNs of another partition than the primary region's. */
function mixedPartitions(config: PartitionFields, partition: PartitionName): PartitionIssue[] {
  const issues: PartitionIssue[] = [];
  const because = `primaryRegion ${config.primaryRegion} is in partition ${partition} (one deployment stays in one partition: their accounts, credentials and ARNs are separate)`;
  const region = (path: (string | number)[], value: string | undefined) => {
    if (value && partitionOfRegion(value) !== partition)
      issues.push({ path, message: `${value} is in partition ${partitionOfRegion(value)}, but ${because}` });
  };
  const arn = (path: (string | number)[], value: string | undefined) => {
    if (value?.startsWith("arn:") && arnPartition(value) !== partition)
      issues.push({ path, message: `the ARN is in partition ${arnPartition(value)}, but ${because}` });
  };
  region(["replicaRegion"], config.replicaRegion);
  if (config.backend.type === "s3") region(["backend", "region"], config.backend.region);
  region(["cdn", "originShieldRegion"], config.cdn.originShieldRegion);
  config.image.extraSourceBuckets.forEach((bucket, index) => {
    region(["image", "extraSourceBuckets", index, "region"], bucket.region);
    arn(["image", "extraSourceBuckets", index, "kmsKeyArn"], bucket.kmsKeyArn);
  });
  config.standaloneInvalidation.forEach((target, index) =>
    region(["standaloneInvalidation", index, "region"], target.region),
  );
  for (const [topicRegion, topicArn] of Object.entries(config.operations.topicArns)) {
    region(["operations", "topicArns", topicRegion], topicRegion);
    arn(["operations", "topicArns", topicRegion], topicArn);
  }
  const { encryption } = config.storage;
  arn(["storage", "encryption", "primaryKeyArn"], encryption.primaryKeyArn);
  arn(["storage", "encryption", "replicaKeyArn"], encryption.replicaKeyArn);
  config.objectStats.notifications.subscriberPrincipals.forEach((principal, index) =>
    arn(["objectStats", "notifications", "subscriberPrincipals", index], principal),
  );
  return issues;
}

function notChina(config: PartitionFields): PartitionIssue[] {
  return config.china
    ? [
        {
          path: ["china"],
          message: `applies to the China regions (aws-cn) only; primaryRegion is ${config.primaryRegion}`,
        },
      ]
    : [];
}

/** What CloudFront China does not offer, refused with what s3-edge does there instead. */
function chinaOnly(config: PartitionFields): PartitionIssue[] {
  const issues: PartitionIssue[] = [];
  const refuse = (path: (string | number)[], message: string) => issues.push({ path, message });
  const delivers = config.cdn.enabled || config.image.enabled;
  if (config.domain !== null) {
    refuse(
      ["domain"],
      "must be null in the China regions: CloudFront China takes no ACM certificate and the names are ICP-recorded at your Chinese registrar, not in Route53; set china.iamCertificateId and the aliases (china.contentAliases, china.imageAliases), and create the CNAME records the cdn and image stacks output",
    );
  }
  if (delivers && !config.china) {
    refuse(
      ["china"],
      "is required in the China regions while cdn or image is enabled: CloudFront China serves only ICP-recorded alternate domain names over an IAM server certificate; give iamCertificateId, contentAliases and imageAliases",
    );
  }
  if (config.china && config.cdn.enabled && config.china.contentAliases.length === 0) {
    refuse(
      ["china", "contentAliases"],
      "needs at least one ICP-recorded name: CloudFront China does not serve content on *.cloudfront.cn",
    );
  }
  if (config.china && config.image.enabled && config.china.imageAliases.length === 0) {
    refuse(
      ["china", "imageAliases"],
      "needs at least one ICP-recorded name: CloudFront China does not serve content on *.cloudfront.cn",
    );
  }
  if (config.legacyOrigin && config.edge.enabled) {
    refuse(
      ["edge", "enabled"],
      "must be false in the China regions: CloudFront China has no Lambda@Edge, so a miss is not copied on access; failover to the legacy store still serves misses, and `npm run migrate` copies the legacy objects in bulk",
    );
  }
  if (config.legacyOrigin?.access === "private" && config.cdn.enabled && config.cdn.failover === "auto") {
    refuse(
      ["cdn", "failover"],
      'must be "replica" in the China regions while the legacy bucket is private: its requests are signed by a Lambda@Edge function, which CloudFront China does not run; make the bucket public to fail over to it, or copy it with `npm run migrate` (the backfill worker signs its own requests)',
    );
  }
  if (config.cdn.enabled && config.cdn.originShieldRegion) {
    refuse(["cdn", "originShieldRegion"], "CloudFront China offers no Origin Shield: remove the field");
  }
  if (config.cdn.enabled && config.cdn.webAclArn) {
    refuse(
      ["cdn", "webAclArn"],
      "AWS WAF is regional only in the China regions and cannot protect a CloudFront China distribution: remove the field",
    );
  }
  if (config.cdn.enabled && config.cdn.logging) {
    refuse(
      ["cdn", "logging"],
      "must be false in the China regions: s3-edge delivers access logs through CloudWatch Logs vended delivery configured in us-east-1, which it does not deploy in aws-cn (see docs/china.md)",
    );
  }
  if (delivers && config.storage.encryption.type === "sse-kms") {
    refuse(
      ["storage", "encryption", "type"],
      'must be "sse-s3" in the China regions while cdn or image serves the buckets: CloudFront China reads S3 through an origin access identity, which cannot decrypt SSE-KMS objects',
    );
  }
  if (config.image.enabled && config.image.variant !== "lambda") {
    refuse(
      ["image", "variant"],
      'must be "lambda" in the China regions: s3-edge reaches the ECS service through a CloudFront VPC origin, which it does not deploy in aws-cn; the Lambda engine is served through an API Gateway HTTP API there (Lambda Function URLs are not offered in China)',
    );
  }
  config.image.extraSourceBuckets.forEach((bucket, index) => {
    if (!config.image.enabled) return;
    if (!bucket.hostname) {
      refuse(
        ["image", "extraSourceBuckets", index, "hostname"],
        "is required in the China regions: the bucket's distribution serves only an ICP-recorded name",
      );
    }
    if (bucket.kmsKeyArn) {
      refuse(
        ["image", "extraSourceBuckets", index, "kmsKeyArn"],
        "SSE-KMS buckets cannot be served in the China regions: CloudFront China reads S3 through an origin access identity, which cannot decrypt SSE-KMS objects",
      );
    }
  });
  return issues;
}
