import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { S3EdgeConfig } from "../config";
import { configureBackend } from "../aws/backend";
import { awsProvider } from "../aws/provider";

/**
 * What every s3-edge stack starts with: its backend (one state per stack id) and, for a stack with
 * AWS resources, a default AWS provider in its home region, tagged with the stack id. Every stack
 * is built as `new XStack(scope, config, props)`.
 */
export abstract class S3EdgeStack extends TerraformStack {
  private readonly defaultAwsProvider?: AwsProvider;
  private readonly providers = new Map<string, AwsProvider>();

  protected constructor(
    scope: Construct,
    readonly stackId: string,
    protected readonly config: S3EdgeConfig,
    /** Where the default provider is; `undefined` for none. */
    protected readonly homeRegion: string | undefined,
  ) {
    super(scope, stackId);
    configureBackend(this, stackId, config.backend);
    if (homeRegion) {
      this.defaultAwsProvider = awsProvider(this, "aws", { region: homeRegion, tags: config.tags, stackId });
    }
  }

  /** The default AWS provider, for constructs that name their provider. */
  protected get defaultProvider(): AwsProvider {
    if (!this.defaultAwsProvider) throw new Error(`${this.stackId}: a stack without AWS resources has no AWS provider`);
    return this.defaultAwsProvider;
  }

  /**
   * The provider for resources in `region`: `undefined` (the default provider) in the home region,
   * else one `aws-<region>` provider per region, created on first use.
   */
  protected providerIn(region: string): AwsProvider | undefined {
    if (region === this.homeRegion) return undefined;
    return this.aliasedProvider(`aws-${region}`, region, region.replace(/-/g, "_"));
  }

  /** The provider of the replica region, aliased `replica` (the stacks that manage the replica bucket). */
  protected replicaProvider(): AwsProvider {
    return this.aliasedProvider("aws-replica", this.config.replicaRegion, "replica");
  }

  private aliasedProvider(id: string, region: string, alias: string): AwsProvider {
    let provider = this.providers.get(id);
    if (!provider) {
      provider = awsProvider(this, id, { region, alias, tags: this.config.tags, stackId: this.stackId });
      this.providers.set(id, provider);
    }
    return provider;
  }
}
