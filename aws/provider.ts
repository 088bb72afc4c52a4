import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Construct } from "constructs";

/** Tags every s3-edge resource carries, beside the ones from config. */
export const PROJECT_TAGS = { Project: "s3-edge", ManagedBy: "cdktf" } as const;

export interface AwsProviderProps {
  readonly region: string;
  /** Provider alias; leave unset for the stack's default provider. */
  readonly alias?: string;
  /** Tags from config, applied to every taggable resource through `default_tags`. */
  readonly tags: Readonly<Record<string, string>>;
  /** The stack id, recorded as a tag so that a resource can be traced to its stack. */
  readonly stackId: string;
}

export function awsProvider(scope: Construct, id: string, props: AwsProviderProps): AwsProvider {
  return new AwsProvider(scope, id, {
    region: props.region,
    alias: props.alias,
    defaultTags: [{ tags: { ...PROJECT_TAGS, Stack: props.stackId, ...props.tags } }],
  });
}
