import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { S3EdgeStack } from "./s3-edge-stack";
import type { S3EdgeConfig } from "../config";
import { EDGE_FUNCTION_REGION, EdgeFunction } from "../constructs/edge-function";
import { isPrivateLegacyOrigin } from "../config";
import type { EdgeAttachments, EdgeFunctionAssociation, LegacyOriginEndpoint } from "../contracts/cross-stack";
import { legacyOriginEndpoint, legacyOriginLabel, legacySigningRegion } from "./legacy-origin";
import type { BackfillReference } from "./storage-replication";
import { Partition } from "../aws/partition";

export const EDGE_STACK_ID = "edge";

/** Whether the config asks for the edge stack: edge functions on, and a legacy origin to serve from. */
export function needsEdgeStack(config: S3EdgeConfig): boolean {
  return config.edge.enabled && !!config.legacyOrigin;
}

export interface EdgeStackProps {
  /** The backfill queue (and the key secret of a private bucket) from storage-replication. */
  readonly backfill: BackfillReference;
}

/**
 * The Lambda@Edge functions of the back-to-origin flow, in us-east-1: `backfill-notify`
 * (origin-response: queues a copy job when the legacy origin served an object) and, for a private
 * GCS or S3-compatible bucket, `gcs-signer` (origin-request: signs requests to the store with the
 * reader's key, SigV4 in the store's region). The `cdn` stack attaches them through `attachments`.
 */
export class EdgeStack extends S3EdgeStack implements EdgeAttachments {
  readonly associations: readonly EdgeFunctionAssociation[];
  readonly legacyOrigin: LegacyOriginEndpoint;
  /** What a distribution needs to attach the functions (this stack's own fields, as one value). */
  readonly attachments: EdgeAttachments;
  readonly notify: EdgeFunction;
  /** Private GCS and S3-compatible buckets only. */
  readonly signer?: EdgeFunction;

  constructor(scope: Construct, config: S3EdgeConfig, props: EdgeStackProps) {
    // Lambda@Edge functions can only be created in us-east-1 (CloudFront replicates them from
    // there), so this stack's default provider is us-east-1 whatever the primary region is.
    super(scope, EDGE_STACK_ID, config, EDGE_FUNCTION_REGION);
    const origin = config.legacyOrigin;
    if (!origin) throw new Error("edge: needs a legacyOrigin in config");
    const provider = this.defaultProvider;
    const accountId = new DataAwsCallerIdentity(this, "account").accountId;
    const { backfill } = props;
    const endpoint = legacyOriginEndpoint(origin);
    const label = legacyOriginLabel(origin);
    const common = {
      provider,
      accountId,
      runtime: config.lambda.runtime,
      memorySize: config.edge.memoryMb,
      timeout: config.edge.timeoutSeconds,
      logRetentionDays: config.lambda.logRetentionDays,
    };

    this.notify = new EdgeFunction(this, "backfill-notify", {
      ...common,
      name: "backfill-notify",
      functionName: `${config.namePrefix}-backfill-notify`,
      description: `s3-edge: queues a backfill job when ${label} served an object`,
      eventType: "origin-response",
      constants: {
        __BACKFILL_QUEUE_NAME__: backfill.queueName,
        __BACKFILL_QUEUE_REGION__: backfill.region,
        __LEGACY_ORIGIN_DOMAIN__: endpoint.domainName,
      },
      policyStatements: [
        { Sid: "QueueBackfillJobs", Effect: "Allow", Action: "sqs:SendMessage", Resource: backfill.queueArn },
      ],
    });
    const functions = [this.notify];

    if (isPrivateLegacyOrigin(origin)) {
      const secret = backfill.hmacSecret;
      if (!secret) throw new Error("edge: a private legacy origin needs the key secret from storage-replication");
      // s3-edge's own secrets have a us-east-1 replica; a secret named in config is read where it lives.
      const secretRegion = secret.externalRegion ?? EDGE_FUNCTION_REGION;
      this.signer = new EdgeFunction(this, "gcs-signer", {
        ...common,
        name: "gcs-signer",
        functionName: `${config.namePrefix}-gcs-signer`,
        description: `s3-edge: signs requests to ${label} with the reader's key`,
        eventType: "origin-request",
        constants: {
          __GCS_HMAC_SECRET_ID__: secret.name,
          __GCS_HMAC_SECRET_REGION__: secretRegion,
          __LEGACY_ORIGIN_DOMAIN__: endpoint.domainName,
          __LEGACY_SIGNING_REGION__: legacySigningRegion(origin),
        },
        policyStatements: [
          {
            Sid: "ReadGcsHmacKey",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            // One copy only (us-east-1 for s3-edge's own); Secrets Manager appends 6 random characters to a name.
            Resource: secret.name.startsWith("arn:")
              ? secret.name
              : Partition.of(this).arn("secretsmanager", secretRegion, accountId, `secret:${secret.name}-*`),
          },
        ],
      });
      functions.push(this.signer);
    }

    this.associations = functions.map((fn) => fn.association);
    this.legacyOrigin = endpoint;
    this.attachments = { associations: this.associations, legacyOrigin: this.legacyOrigin };
    for (const fn of functions) {
      const name = fn.node.id.replace(/-/g, "_");
      new TerraformOutput(this, `${name}_qualified_arn`, { value: fn.qualifiedArn });
    }
  }
}
