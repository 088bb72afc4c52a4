import { App } from "cdktf";
import type { S3EdgeConfig } from "../config";
import type { DomainCertificate } from "./contracts";
import { ImageStack } from "./image";
import { StorageReplicationStack } from "./storage-replication";

export interface S3EdgeStacks {
  readonly storageReplication: StorageReplicationStack;
  readonly image?: ImageStack;
}

/** Values from stacks built outside createStacks (until they move in). */
export interface CreateStacksOptions {
  /** dns-cert's certificate and zone, for the image distributions' aliases. */
  readonly certificate?: DomainCertificate;
}

/** Builds every stack the config enables, wiring cross-stack values through typed fields. */
export function createStacks(app: App, config: S3EdgeConfig, options: CreateStacksOptions = {}): S3EdgeStacks {
  const storageReplication = new StorageReplicationStack(app, config);
  const image = config.image.enabled
    ? new ImageStack(app, config, { primaryBucket: storageReplication.primary, certificate: options.certificate })
    : undefined;
  return { storageReplication, image };
}

/** Synthesizes the whole app into `outdir` (`<outdir>/stacks/<id>/cdk.tf.json`) and returns the stacks. */
export function synthesizeApp(config: S3EdgeConfig, outdir: string): S3EdgeStacks {
  const app = new App({ outdir });
  const stacks = createStacks(app, config);
  app.synth();
  return stacks;
}
