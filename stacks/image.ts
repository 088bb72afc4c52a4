import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import { AutomaticInvalidation } from "../constructs/automatic-invalidation";
import { BucketPolicy } from "../constructs/bucket-policy";
import type { ImageDistribution, ImageOrigin } from "../constructs/image-distribution";
import { ImageDistributions } from "../constructs/image-distributions";
import type { ImageSourceBucket } from "../constructs/image-engine-settings";
import { engineImageTag } from "../packaging/engine-image-tag";
import { ImageLambda } from "../constructs/image-lambda";
import { ImageEcsService } from "../constructs/image-ecs-service";
import { OperationsAlarms } from "../constructs/operations-alarms";
import { cloudFrontMetricsRegion } from "../config/aws-facts";
import { StyleTable } from "../constructs/style-table";
import type { BucketReference, DomainCertificate } from "../contracts/cross-stack";
import { Partition } from "../aws/partition";

export const IMAGE_STACK_ID = "image";

export interface ImageStackProps {
  /** The primary bucket (storage-replication): the first source, the engine's default. */
  readonly primaryBucket: BucketReference;
  /**
   * Certificate and zone from dns-cert: with it, the distributions get their hostnames as aliases
   * and Route53 records.
   * @default none (cloudfront.net names only)
   */
  readonly certificate?: DomainCertificate;
  /**
   * Write the primary bucket's one policy here (TLS-only denies + reads by the image
   * distributions): true when no cdn stack applies after this one (see `bucketPolicyOwners`).
   * @default false
   */
  readonly ownsPrimaryBucketPolicy?: boolean;
  /** Region → ops topic ARN (storage-replication's): the primary region's and the CloudFront metrics region's. */
  readonly opsTopicArns: Readonly<Record<string, string>>;
}

/** An image engine as its figures and alarms name it. */
export interface ImageEngineReference {
  /** The `service` dimension of its figures: the Lambda function's or the ECS service's name. */
  readonly service: string;
  readonly kind: "lambda" | "ecs";
}

/** An automatic invalidation of the stack, by name. */
export interface InvalidationReference {
  readonly functionName: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
}

/**
 * On-the-fly image processing: the style table, the engine (Lambda, ECS Fargate, or both with ECS
 * serving) and one distribution per source bucket. Every resource lives in the primary region:
 * CloudFront resources are global and the certificate comes from dns-cert, so no us-east-1 alias
 * is needed here. The primary bucket's policy is written by the cdn stack, naming
 * `primaryReaderDistributionArns`, unless `ownsPrimaryBucketPolicy` (no cdn stack). Each
 * distribution whose bucket is in the primary region (where its EventBridge events arrive) gets
 * automatic invalidation, covering the query-string variants (`/key*`) of changed keys.
 */
export class ImageStack extends S3EdgeStack {
  readonly styleTable: StyleTable;
  /** The Lambda engine (variants `lambda` and `both`). */
  readonly lambda?: ImageLambda;
  /** The ECS engine (variants `ecs` and `both`). */
  readonly service?: ImageEcsService;
  /** One per source bucket, the primary's first. */
  readonly distributions: readonly ImageDistribution[];
  /** The distributions that read the primary bucket through OAC (for its bucket policy); none in China. */
  readonly primaryReaderDistributionArns: readonly string[];
  /** China: the origin access identity the image distributions read the primary bucket with (IAM ARNs). */
  readonly primaryReaderIdentityArns: readonly string[];
  /** Every image distribution's id (for invalidations). */
  readonly distributionIds: readonly string[];
  /** The engines deployed (one or both variants). */
  readonly engines: readonly ImageEngineReference[];
  /** The ECS service and its cluster (variants `ecs` and `both`). */
  readonly ecsService?: { readonly clusterName: string; readonly serviceName: string };
  readonly invalidations: readonly InvalidationReference[];

  constructor(scope: Construct, config: S3EdgeConfig, props: ImageStackProps) {
    super(scope, IMAGE_STACK_ID, config, config.primaryRegion);
    const { image } = config;
    const name = `${config.namePrefix}-image`;

    const primary = props.primaryBucket;
    const partition = Partition.of(this);
    const sources: ImageSourceBucket[] = [
      { ...primary, owned: true, hostname: config.domain?.imageHostname },
      ...image.extraSourceBuckets.map((bucket) => ({
        name: bucket.name,
        arn: partition.bucketArn(bucket.name),
        regionalDomainName: `${bucket.name}.${partition.serviceDomain("s3", bucket.region)}`,
        region: bucket.region,
        kmsKeyArn: bucket.kmsKeyArn,
        owned: false,
        hostname: bucket.hostname,
      })),
    ];

    this.styleTable = new StyleTable(this, "styles", { tableName: `${name}-styles`, styles: image.styles });
    const table = {
      styleTableName: this.styleTable.table.name,
      styleTableArn: this.styleTable.table.arn,
      autoFormat: image.autoFormat,
      encoding: image.encoding,
      deadlineSeconds: image.deadlineSeconds,
    };

    if (image.variant !== "ecs") {
      this.lambda = new ImageLambda(this, "lambda", {
        functionName: name,
        sourceBuckets: sources,
        ...table,
        runtime: config.lambda.runtime,
        architecture: config.lambda.architecture,
        memorySize: image.lambda.memoryMb,
        reservedConcurrency: image.lambda.reservedConcurrency,
        logRetentionDays: config.lambda.logRetentionDays,
        // China offers no Function URLs (config/china-rules.ts keeps the variant at lambda there).
        origin: config.partition === "aws-cn" ? "http-api" : "function-url",
      });
    }
    if (image.variant !== "lambda") {
      const { ecs } = image;
      this.service = new ImageEcsService(this, "ecs", {
        name,
        region: config.primaryRegion,
        sourceBuckets: sources,
        ...table,
        cpu: ecs.cpu,
        memory: ecs.memory,
        desiredCount: ecs.desiredCount,
        minCount: ecs.minCount,
        maxCount: ecs.maxCount,
        targetCpuPercent: ecs.targetCpuPercent,
        imageUri: ecs.imageUri,
        imageTag: engineImageTag(),
        subnets: ecs.vpc && {
          vpcId: ecs.vpc.vpcId,
          loadBalancerSubnetIds: ecs.vpc.privateSubnetIds,
          taskSubnetIds: ecs.vpc.privateSubnetIds,
          assignPublicIp: false,
        },
        logRetentionDays: config.lambda.logRetentionDays,
      });
      new TerraformOutput(this, "ecr_repository_url", { value: this.service.repository.repositoryUrl });
      new TerraformOutput(this, "engine_image_uri", { value: this.service.imageUri });
      // The ALB is internal (CloudFront reaches it through a VPC origin): no public load balancer exists.
      new TerraformOutput(this, "ecs_load_balancer_dns_name", {
        description:
          "The image engine's internal ALB: resolvable and reachable only inside its VPC; viewers use the distribution URLs",
        value: this.service.loadBalancer.dnsName,
      });
    }

    // With both engines, ECS serves and the Lambda function stands by (switch `variant` to move traffic).
    const imageOrigin: ImageOrigin = this.service
      ? { kind: "vpc", domainName: this.service.originDomainName, vpcOriginId: this.service.vpcOrigin.id }
      : this.lambda!.originAccessControl
        ? {
            kind: "lambda",
            domainName: this.lambda!.originDomainName,
            originAccessControlId: this.lambda!.originAccessControl.id,
          }
        : { kind: "http-api", domainName: this.lambda!.originDomainName };
    // "Default" keeps the distributions' addresses those of the stack's own children.
    const distributions = new ImageDistributions(this, "Default", {
      namePrefix: config.namePrefix,
      sources,
      imageOrigin,
      priceClass: config.cdn.priceClass,
      certificate: props.certificate,
      china: config.china ?? undefined,
    });
    this.distributions = distributions.distributions;
    if (imageOrigin.kind === "lambda") {
      for (const distribution of this.distributions) {
        this.lambda!.allowDistribution(distribution.node.id, distribution.distribution.arn);
      }
    }
    this.primaryReaderDistributionArns = distributions.primaryReaderDistributionArns;
    this.primaryReaderIdentityArns = distributions.primaryReaderIdentityArns;
    this.distributionIds = this.distributions.map((d) => d.distribution.id);
    if (props.ownsPrimaryBucketPolicy) {
      new BucketPolicy(this, "primary-bucket-policy", {
        bucketName: primary.name,
        bucketArn: primary.arn,
        readerDistributionArns: this.primaryReaderDistributionArns,
        readerIdentityArns: this.primaryReaderIdentityArns,
        allowListBucket: config.cdn.real404,
      });
    }
    const invalidations: AutomaticInvalidation[] = [];
    this.distributions.forEach((distribution, index) => {
      if (distribution.bucket.region !== config.primaryRegion) return;
      const invalidation = new AutomaticInvalidation(
        this,
        index === 0 ? "invalidation" : `invalidation-extra-${index}`,
        {
          namePrefix: index === 0 ? name : `${name}-extra-${index}`,
          distributionId: distribution.distribution.id,
          distributionArn: distribution.distribution.arn,
          sourceBucketName: distribution.bucket.name,
          keyFilters: config.cdn.invalidation,
          // The migration writes into the primary bucket (the first source) only.
          migrationBucket: index === 0 && config.legacyOrigin ? primary : undefined,
          batchingWindowSeconds: config.cdn.invalidation.batchingWindowSeconds,
          batchSize: config.cdn.invalidation.batchSize,
          exactPathLimit: config.cdn.invalidation.exactPathLimit,
          queryStringVariants: true,
          runtime: config.lambda.runtime,
          architecture: config.lambda.architecture,
          logRetentionDays: config.lambda.logRetentionDays,
        },
      );
      invalidations.push(invalidation);
    });
    this.invalidations = invalidations.map((invalidation) => ({
      functionName: invalidation.function.function.functionNameInput!,
      queueName: invalidation.queue.nameInput!,
      deadLetterQueueName: invalidation.deadLetterQueue.nameInput!,
    }));
    this.engines = [
      ...(this.lambda ? [{ service: name, kind: "lambda" as const }] : []),
      ...(this.service ? [{ service: name, kind: "ecs" as const }] : []),
    ];
    this.ecsService = this.service && { clusterName: name, serviceName: name };
    this.alarms(config, props.opsTopicArns);
    new TerraformOutput(this, "style_table_name", { value: this.styleTable.table.name });
    if (this.lambda) new TerraformOutput(this, "function_url", { value: this.lambda.endpoint });
  }

  /** Engine errors, 5xx share, busy rejections and missing tasks; invalidations; each distribution's 5xx (CloudFront's metrics region). */
  private alarms(config: S3EdgeConfig, topicArns: Readonly<Record<string, string>>): void {
    const thresholds = config.operations.alarmThresholds;
    const alarms = new OperationsAlarms(this, "alarms", { topicArn: topicArns[config.primaryRegion], thresholds });
    alarms.functionsIn(this);
    for (const engine of this.engines)
      alarms.imageEngine(`engine-${engine.kind}`, engine.service, engine.kind === "ecs");
    if (this.ecsService)
      alarms.ecsTasksBelowDesired("engine", this.ecsService.clusterName, this.ecsService.serviceName);
    this.invalidations.forEach((invalidation, index) => {
      alarms.deadLetterQueue(
        `invalidation-${index}`,
        invalidation.deadLetterQueueName,
        "Changes that could not be invalidated",
      );
      alarms.invalidationFailures(`invalidation-${index}`, invalidation.functionName);
    });
    const metricsRegion = cloudFrontMetricsRegion(config.primaryRegion);
    const cloudfront = new OperationsAlarms(this, "cloudfront-alarms", {
      provider: this.providerIn(metricsRegion),
      topicArn: topicArns[metricsRegion],
      thresholds,
    });
    this.distributions.forEach((distribution, index) => {
      const label = index === 0 ? `${config.namePrefix}-image` : `${config.namePrefix}-image-extra-${index}`;
      cloudfront.distribution5xx(`distribution-${index}`, distribution.distribution.id, label);
    });
  }
}
