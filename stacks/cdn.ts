import { Fn, TerraformLocal, TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import { AutomaticInvalidation } from "../constructs/automatic-invalidation";
import { OperationsAlarms } from "../constructs/operations-alarms";
import { cloudFrontMetricsRegion } from "../config/aws-facts";
import { cnameRecords } from "../constructs/cloudfront-china";
import { BucketPolicy } from "../constructs/bucket-policy";
import { legacyOriginEndpoint } from "./legacy-origin";
import { ContentDistribution } from "../constructs/content-distribution";
import { DistributionAccessLogs } from "../constructs/distribution-access-logs";
import { policyDocument } from "../aws/iam";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { cloudFrontDecryptStatement } from "../constructs/secure-bucket";
import type {
  BucketReference,
  DomainCertificate,
  EdgeAttachments,
  LegacyOriginEndpoint,
} from "../contracts/cross-stack";
import { Partition } from "../aws/partition";

export const CDN_STACK_ID = "cdn";

export interface CdnStackProps {
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
  /**
   * China: the origin access identities of other distributions that read the primary bucket (the
   * image stack's), by IAM ARN.
   * @default none
   */
  readonly additionalPrimaryReaderIdentities?: readonly string[];
  /** Region → ops topic ARN (storage-replication's): the primary region's and the CloudFront metrics region's. */
  readonly opsTopicArns: Readonly<Record<string, string>>;
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
export class CdnStack extends S3EdgeStack {
  readonly distribution: DistributionReference;
  /** Where the default behaviour fails over to. */
  readonly failoverTarget: "legacy" | "replica";
  /** The invalidation function's name (for the dashboard). */
  readonly invalidationFunctionName: string;
  /** The invalidation queue and its DLQ (for the dashboard and `npm run status`). */
  readonly invalidationQueueNames: { readonly queue: string; readonly deadLetterQueue: string };

  constructor(scope: Construct, config: S3EdgeConfig, props: CdnStackProps) {
    super(scope, CDN_STACK_ID, config, config.primaryRegion);
    const { primary, replica } = props;
    const { cdn } = config;
    const name = `${config.namePrefix}-content`;
    const replicaProvider = this.replicaProvider();

    const legacyOrigin: LegacyOriginEndpoint | undefined =
      props.edge?.legacyOrigin ?? (config.legacyOrigin ? legacyOriginEndpoint(config.legacyOrigin) : undefined);
    const domain = config.domain;
    if (domain && !props.certificate) {
      throw new Error("CdnStack: config has a domain but no certificate was given (the dns-cert stack's)");
    }
    const content = new ContentDistribution(this, "content", {
      name,
      cdn,
      primary,
      replica,
      legacyOrigin,
      edgeAssociations: props.edge?.associations,
      customDomain:
        domain && props.certificate ? { hostname: domain.contentHostname, certificate: props.certificate } : undefined,
      china: config.china
        ? { iamCertificateId: config.china.iamCertificateId, aliases: config.china.contentAliases }
        : undefined,
    });
    const { distribution } = content;
    this.failoverTarget = content.failoverTarget;
    this.distribution = { id: distribution.id, arn: distribution.arn, domainName: distribution.domainName };

    // This stack owns both buckets' policies (see bucketPolicyOwners in stacks/index.ts).
    // China: the origin access identities are the readers (CloudFront China has no OAC).
    const identity = content.originAccessIdentity?.iamArn;
    new BucketPolicy(this, "primary-bucket-policy", {
      bucketName: primary.name,
      bucketArn: primary.arn,
      readerDistributionArns: identity ? [] : [distribution.arn, ...(props.additionalPrimaryReaders ?? [])],
      readerIdentityArns: identity ? [identity, ...(props.additionalPrimaryReaderIdentities ?? [])] : [],
      allowListBucket: cdn.real404,
    });
    new BucketPolicy(this, "replica-bucket-policy", {
      provider: replicaProvider,
      bucketName: replica.name,
      bucketArn: replica.arn,
      readerDistributionArns: identity ? [] : [distribution.arn],
      readerIdentityArns: identity ? [identity] : [],
      allowListBucket: cdn.real404,
    });

    if (cdn.logging) {
      // "Default" keeps the log resources' addresses those of the stack's own children.
      new DistributionAccessLogs(this, "Default", {
        name,
        distributionArn: distribution.arn,
        retentionInDays: config.lambda.logRetentionDays,
        provider: this.cloudFrontHomeProvider(),
      });
    }

    const invalidation = new AutomaticInvalidation(this, "invalidation", {
      namePrefix: config.namePrefix,
      distributionId: distribution.id,
      distributionArn: distribution.arn,
      sourceBucketName: primary.name,
      keyFilters: cdn.invalidation,
      // The migration writes into the primary bucket while a legacy origin is configured.
      migrationBucket: config.legacyOrigin ? primary : undefined,
      batchingWindowSeconds: cdn.invalidation.batchingWindowSeconds,
      batchSize: cdn.invalidation.batchSize,
      exactPathLimit: cdn.invalidation.exactPathLimit,
      runtime: config.lambda.runtime,
      architecture: config.lambda.architecture,
      logRetentionDays: config.lambda.logRetentionDays,
    });
    this.invalidationFunctionName = invalidation.function.function.functionNameInput!;
    this.invalidationQueueNames = {
      queue: invalidation.queue.nameInput!,
      deadLetterQueue: invalidation.deadLetterQueue.nameInput!,
    };

    const { alarmThresholds } = config.operations;
    const alarms = new OperationsAlarms(this, "alarms", {
      topicArn: props.opsTopicArns[config.primaryRegion],
      thresholds: alarmThresholds,
    });
    alarms.functionsIn(invalidation);
    alarms.deadLetterQueue(
      "invalidation",
      this.invalidationQueueNames.deadLetterQueue,
      "Changes that could not be invalidated",
    );
    alarms.invalidationFailures("invalidation", this.invalidationFunctionName);
    new OperationsAlarms(this, "cloudfront-alarms", {
      provider: this.cloudFrontHomeProvider(),
      topicArn: props.opsTopicArns[cloudFrontMetricsRegion(config.primaryRegion)],
      thresholds: alarmThresholds,
    }).distribution5xx("content", distribution.id, name);

    new TerraformOutput(this, "distribution_id", { value: distribution.id });
    new TerraformOutput(this, "distribution_domain_name", { value: distribution.domainName });
    if (config.china) {
      new TerraformOutput(this, "dns_records", {
        description: "Create these records at your Chinese registrar (ICP-recorded names; DNS is not managed in China)",
        value: cnameRecords(config.china.contentAliases, distribution.domainName),
      });
    }
    const urlHost = config.china
      ? config.china.contentAliases[0]
      : domain && props.certificate
        ? domain.contentHostname
        : distribution.domainName;
    new TerraformOutput(this, "distribution_url", { value: `https://${urlHost}` });
    const { encryption } = config.storage;
    if (encryption.type === "sse-kms" && (encryption.primaryKeyArn || encryption.replicaKeyArn)) {
      // s3-edge does not own existing keys: their owners add this statement to each key's policy.
      const account = new TerraformLocal(this, "account", Fn.element(Fn.split(":", distribution.arn), 4)).asString;
      new TerraformOutput(this, "kms_key_policy_statement_for_cloudfront", {
        description:
          "Add this statement to the policy of each existing KMS key of the buckets, so CloudFront can decrypt",
        value: policyDocument([cloudFrontDecryptStatement(Partition.of(this), account)]),
      });
    }
  }

  /**
   * Where CloudFront's log delivery and metrics are (one provider for both): us-east-1, or
   * cn-northwest-1 in China (metrics only). None when that is the primary region.
   */
  private cloudFrontHomeProvider(): AwsProvider | undefined {
    return this.providerIn(cloudFrontMetricsRegion(this.config.primaryRegion));
  }
}
