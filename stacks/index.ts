import { App } from "cdktf";
import type { S3EdgeConfig } from "../config";
import { ObjectStatsStack } from "./object-stats";
import { StorageReplicationStack } from "./storage-replication";

export interface S3EdgeStacks {
  readonly storageReplication: StorageReplicationStack;
  /** Present when `objectStats.enabled`. */
  readonly objectStats?: ObjectStatsStack;
}

/** Builds every stack the config enables, wiring cross-stack values through typed fields. */
export function createStacks(app: App, config: S3EdgeConfig): S3EdgeStacks {
  const storageReplication = new StorageReplicationStack(app, config);
  const objectStats = config.objectStats.enabled
    ? new ObjectStatsStack(app, config, { primary: storageReplication.primary })
    : undefined;
  return { storageReplication, objectStats };
}

/** Synthesizes the whole app into `outdir` (`<outdir>/stacks/<id>/cdk.tf.json`) and returns the stacks. */
export function synthesizeApp(config: S3EdgeConfig, outdir: string): S3EdgeStacks {
  const app = new App({ outdir });
  const stacks = createStacks(app, config);
  app.synth();
  return stacks;
}
