import { App } from "cdktf";
import type { S3EdgeConfig } from "../config";
import { EdgeStack, needsEdgeStack } from "./edge";
import { GcsOriginStack, needsGcsOriginStack } from "./gcs-origin";
import { StorageReplicationStack } from "./storage-replication";

export interface S3EdgeStacks {
  readonly storageReplication: StorageReplicationStack;
  /** Present when the legacy GCS bucket is private or created by s3-edge. */
  readonly gcsOrigin?: GcsOriginStack;
  /** Present when `edge.enabled` and a legacy origin is configured. */
  readonly edge?: EdgeStack;
}

/** Builds every stack the config enables, wiring cross-stack values through typed fields. */
export function createStacks(app: App, config: S3EdgeConfig): S3EdgeStacks {
  const gcsOrigin = needsGcsOriginStack(config) ? new GcsOriginStack(app, config) : undefined;
  const storageReplication = new StorageReplicationStack(app, config, { gcsHmacKey: gcsOrigin?.hmacKey });
  const backfill = storageReplication.backfill;
  const edge = needsEdgeStack(config) && backfill ? new EdgeStack(app, config, { backfill }) : undefined;
  return { storageReplication, gcsOrigin, edge };
}

/** Synthesizes the whole app into `outdir` (`<outdir>/stacks/<id>/cdk.tf.json`) and returns the stacks. */
export function synthesizeApp(config: S3EdgeConfig, outdir: string): S3EdgeStacks {
  const app = new App({ outdir });
  const stacks = createStacks(app, config);
  app.synth();
  return stacks;
}
