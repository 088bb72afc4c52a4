import { App } from "cdktf";
import type { S3EdgeConfig } from "../config";
import { CdnStack } from "./cdn";
import { DnsCertStack } from "./dns-cert";
import { EdgeStack, needsEdgeStack } from "./edge";
import { GcsOriginStack, needsGcsOriginStack } from "./gcs-origin";
import { ImageStack } from "./image";
import { InvalidationStack, needsInvalidationStack } from "./invalidation";
import { ObjectStatsStack } from "./object-stats";
import { OperationsStack } from "./operations";
import { StorageReplicationStack, type BucketPolicyOwners } from "./storage-replication";

export interface S3EdgeStacks {
  readonly storageReplication: StorageReplicationStack;
  /** Present when the legacy GCS bucket is private or created by s3-edge. */
  readonly gcsOrigin?: GcsOriginStack;
  /** Present when `edge.enabled` and a legacy origin is configured. */
  readonly edge?: EdgeStack;
  readonly dnsCert?: DnsCertStack;
  readonly image?: ImageStack;
  readonly cdn?: CdnStack;
  /** Present when `objectStats.enabled`. */
  readonly objectStats?: ObjectStatsStack;
  /** The dashboard (and CloudFront's additional metrics when asked for), applied last. */
  readonly operations: OperationsStack;
  /** Present when `standaloneInvalidation` names targets. */
  readonly invalidation?: InvalidationStack;
}

/**
 * Which stack writes each bucket's one policy (TLS-only denies + CloudFront reads). The policy
 * must name every distribution that reads the bucket (`AWS:SourceArn`, the tightest scope), and
 * the distributions are created after the buckets: so the owner is the stack applied last among
 * those whose distributions read the bucket, which receives the other readers' ARNs. Putting it in
 * storage-replication instead would either form a cycle (naming the distributions) or widen the
 * grant to every distribution of the account.
 * - `cdn` when enabled: it reads both buckets, and the image stack (created before it) hands it
 *   its distribution ARNs for the primary bucket.
 * - else `image` for the primary bucket (its distributions read only the primary).
 * - else `storage-replication`, with the TLS-only policy.
 */
export function bucketPolicyOwners(config: S3EdgeConfig): BucketPolicyOwners {
  if (config.cdn.enabled) return { primary: "cdn", replica: "cdn" };
  if (config.image.enabled) return { primary: "image", replica: "storage-replication" };
  return { primary: "storage-replication", replica: "storage-replication" };
}

/** Builds every stack the config enables, wiring cross-stack values through typed fields. */
export function createStacks(app: App, config: S3EdgeConfig): S3EdgeStacks {
  const policyOwners = bucketPolicyOwners(config);
  const gcsOrigin = needsGcsOriginStack(config) ? new GcsOriginStack(app, config) : undefined;
  const storageReplication = new StorageReplicationStack(app, config, {
    gcsHmacKey: gcsOrigin?.hmacKey,
    bucketPolicyOwners: policyOwners,
  });
  const backfill = storageReplication.backfill;
  const edge = needsEdgeStack(config) && backfill ? new EdgeStack(app, config, { backfill }) : undefined;
  const domain = config.domain;
  const dnsCert = domain ? new DnsCertStack(app, config, { domain }) : undefined;
  const image = config.image.enabled
    ? new ImageStack(app, config, {
        primaryBucket: storageReplication.primary,
        certificate: dnsCert?.certificate,
        ownsPrimaryBucketPolicy: policyOwners.primary === "image",
        opsTopicArns: storageReplication.opsTopicArns,
      })
    : undefined;
  const cdn = config.cdn.enabled
    ? new CdnStack(app, config, {
        primary: storageReplication.primary,
        replica: storageReplication.replica,
        edge: edge?.attachments,
        certificate: dnsCert?.certificate,
        additionalPrimaryReaders: image?.primaryReaderDistributionArns,
        additionalPrimaryReaderIdentities: image?.primaryReaderIdentityArns,
        opsTopicArns: storageReplication.opsTopicArns,
      })
    : undefined;
  const objectStats = config.objectStats.enabled
    ? new ObjectStatsStack(app, config, {
        primary: storageReplication.primary,
        opsTopicArns: storageReplication.opsTopicArns,
      })
    : undefined;
  const invalidation = needsInvalidationStack(config)
    ? new InvalidationStack(app, config, { opsTopicArns: storageReplication.opsTopicArns })
    : undefined;
  const operations = new OperationsStack(app, config, {
    distributions: [
      ...(cdn ? [{ label: "content", id: cdn.distribution.id }] : []),
      ...(image?.distributions ?? []).map((d, index) => ({
        label: index === 0 ? "image" : `image-extra-${index}`,
        id: d.distribution.id,
      })),
    ],
    backfill: storageReplication.backfillNames,
    imageEngines: image?.engines.map((engine) => engine.service),
    invalidationFunctions: [
      ...(cdn ? [{ name: cdn.invalidationFunctionName, region: config.primaryRegion }] : []),
      ...(image?.invalidations ?? []).map((i) => ({ name: i.functionName, region: config.primaryRegion })),
      ...(invalidation?.functions ?? []),
    ],
    objectStatsFunction: objectStats?.functionName,
    primaryBucketName: config.storage.primaryBucketName,
  });
  return { storageReplication, gcsOrigin, edge, dnsCert, image, cdn, objectStats, invalidation, operations };
}

/** Synthesizes the whole app into `outdir` (`<outdir>/stacks/<id>/cdk.tf.json`) and returns the stacks. */
export function synthesizeApp(config: S3EdgeConfig, outdir: string): S3EdgeStacks {
  const app = new App({ outdir });
  const stacks = createStacks(app, config);
  app.synth();
  return stacks;
}
