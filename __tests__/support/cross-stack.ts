import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { TerraformStack, type App } from "cdktf";
import type { S3EdgeConfig } from "../../config";
import { configureBackend } from "../../aws/backend";
import { awsProvider } from "../../aws/provider";
import type { S3EdgeStacks } from "../../stacks";
import type { StackJson, SynthesizedApp } from "./synth";

export const CONSUMER_STACK_ID = "consumer";

/** A test-only stack that consumes storage-replication's typed fields, as later stacks will. */
export function addConsumerStack(app: App, stacks: S3EdgeStacks, config: S3EdgeConfig): void {
  const consumer = new TerraformStack(app, CONSUMER_STACK_ID);
  configureBackend(consumer, CONSUMER_STACK_ID, config.backend);
  awsProvider(consumer, "aws", { region: config.primaryRegion, tags: config.tags, stackId: CONSUMER_STACK_ID });
  const { primary } = stacks.storageReplication;
  new SsmParameter(consumer, "primary-arn", { name: "/s3-edge/test/primary-arn", type: "String", value: primary.arn });
  new SsmParameter(consumer, "primary-domain", {
    name: "/s3-edge/test/primary-domain",
    type: "String",
    value: primary.regionalDomainName,
  });
  // As the cdn stack will: the edge functions' qualified ARNs, through the typed attachments.
  for (const association of stacks.edge?.attachments.associations ?? []) {
    new SsmParameter(consumer, `edge-${association.eventType}`, {
      name: `/s3-edge/test/edge/${association.eventType}`,
      type: "String",
      value: association.qualifiedArn,
    });
  }
}

/** Meta-arguments and built-ins that look like `${a.b...}` references but are not resources. */
const NOT_RESOURCES = new Set(["var", "local", "each", "count", "self", "path", "terraform", "module"]);

/**
 * Problems with how stacks reference each other: a reference to a resource that is not in the
 * stack (a value that did not go through remote state), a remote-state read of a stack or an
 * output that does not exist, or a consumer that does not depend on its producer.
 */
export function crossStackProblems(app: SynthesizedApp): string[] {
  const problems: string[] = [];
  for (const [stackId, stack] of Object.entries(app.stacks)) {
    const text = JSON.stringify(stack);
    const has = (kind: "resource" | "data", type: string, name: string) => stack[kind]?.[type]?.[name] !== undefined;
    for (const [, expression] of text.matchAll(/\$\{([^}]*)\}/g)) {
      for (const [reference] of expression.matchAll(/\b(data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*/g)) {
        const parts = reference.split(".");
        if (NOT_RESOURCES.has(parts[0])) continue;
        if (parts[0] === "data") {
          const [, type, name, , output] = parts;
          if (!has("data", type, name)) problems.push(`${stackId}: reads undeclared data source data.${type}.${name}`);
          if (type === "terraform_remote_state") {
            const producer = /^cross-stack-reference-input-(.+)$/.exec(name)?.[1];
            if (!producer || !app.stacks[producer])
              problems.push(`${stackId}: remote state ${name} names no stack of the app`);
            else if (!app.stacks[producer].output?.[output])
              problems.push(`${stackId}: ${producer} has no output ${output}`);
            else if (!app.manifest.stacks[stackId].dependencies.includes(producer)) {
              problems.push(`${stackId}: reads ${producer} without depending on it`);
            }
          }
          continue;
        }
        const [type, name] = parts;
        if (type.includes("_") && !has("resource", type, name)) {
          problems.push(`${stackId}: references ${type}.${name}, which is not in this stack`);
        }
      }
    }
  }
  return problems;
}

/** The remote-state data sources of a stack. */
export function remoteStates(stack: StackJson): Record<string, Record<string, unknown>> {
  return stack.data?.terraform_remote_state ?? {};
}
