/**
 * `npm run status`: the deployment at a glance, from what Terraform recorded (stack outputs in the
 * state files) and what AWS reports now (alarm states, queue depths, migration progress). Pure of
 * process and environment: clients and the state reader come in.
 */
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { ConfigError, type BackendConfig, type S3EdgeConfig } from "../../config";
import { cloudFrontMetricsRegion } from "../../config/aws-facts";
import { formatMigration, isMigrationReport } from "./migration";

/** Why there is no report: nothing deployed (exit 1) or no AWS credentials (exit 2). */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = "StatusError";
  }
}

/** Stack id → output name → value, for the stacks that have a state. */
export type StackOutputs = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Reads one stack's Terraform state; undefined when the stack was never applied. */
export type StateReader = (stackId: string) => Promise<{ outputs: Record<string, { value: unknown }> } | undefined>;

/**
 * The migration section: a report of the backfill's progress, or undefined when there is none.
 * `migrationStatus` (scripts/status/migration.ts), the core of `npm run migrate:status`, plugs in here.
 */
export type MigrationStatus = (context: {
  readonly config: S3EdgeConfig;
  readonly outputs: StackOutputs;
}) => Promise<unknown>;

export interface StatusDependencies {
  readonly readState: StateReader;
  readonly cloudWatch: (region: string) => CloudWatchClient;
  readonly sqs: (region: string) => SQSClient;
  /** @default no migration section */
  readonly migration?: MigrationStatus;
}

export interface AlarmStatus {
  readonly name: string;
  readonly region: string;
  readonly state: string;
  readonly reason?: string;
}

export interface QueueStatus {
  readonly name: string;
  readonly deadLetter: boolean;
  readonly visible: number;
  readonly inFlight: number;
}

export interface StatusReport {
  readonly deployment: string;
  readonly primaryRegion: string;
  /** Stacks with a state, in apply order. */
  readonly stacks: readonly string[];
  readonly endpoints: Readonly<Record<string, string>>;
  readonly alarms: readonly AlarmStatus[];
  readonly queues: readonly QueueStatus[];
  readonly migration?: unknown;
}

/** Every stack s3-edge may create, in the order they are applied. */
export const STACK_IDS = [
  "gcs-origin",
  "storage-replication",
  "edge",
  "dns-cert",
  "image",
  "cdn",
  "object-stats",
  "operations",
] as const;

/** Outputs shown as endpoints: stack, output, label. */
const ENDPOINT_OUTPUTS: ReadonlyArray<readonly [string, string, string]> = [
  ["cdn", "distribution_domain_name", "content"],
  ["image", "primary_distribution_domain_name", "images"],
  ["image", "function_url", "image function URL"],
  ["object-stats", "count_url", "GET /count"],
  ["operations", "dashboard_url", "dashboard"],
];

/** Dead-letter queues are named `-dlq` or `-dead-letters` by every construct of the app. */
const DEAD_LETTER_NAME = /-(dlq|dead-letters)$/;

/** Reads state files where the backend keeps them: local files, or objects of the S3 state bucket. */
export function stateReader(backend: BackendConfig, projectRoot: string, s3?: S3Client): StateReader {
  if (backend.type === "local") {
    const directory = isAbsolute(backend.directory) ? backend.directory : join(projectRoot, backend.directory);
    return async (stackId) => {
      try {
        return JSON.parse(await readFile(join(directory, `terraform.${stackId}.tfstate`), "utf8"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    };
  }
  const client = s3 ?? new S3Client({ region: backend.region });
  return async (stackId) => {
    try {
      const object = await client.send(
        new GetObjectCommand({ Bucket: backend.bucket, Key: `${backend.keyPrefix}/${stackId}.tfstate` }),
      );
      return JSON.parse(await object.Body!.transformToString());
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === "NoSuchKey") return undefined;
      throw credentialsProblem(error) ?? error;
    }
  };
}

/** A clear StatusError when the SDK found no credentials or they were refused. */
export function credentialsProblem(error: unknown): StatusError | undefined {
  const name = (error as Error)?.name ?? "";
  if (
    name === "CredentialsProviderError" ||
    name === "ExpiredTokenException" ||
    name === "InvalidClientTokenId" ||
    name === "UnrecognizedClientException"
  ) {
    return new StatusError(
      `no usable AWS credentials (${name}: ${(error as Error).message}); set AWS_PROFILE or sign in (aws sso login) and retry`,
      2,
    );
  }
  return undefined;
}

/** The outputs of every stack that has a state; StatusError (exit 1) when storage-replication was never applied. */
export async function deployedOutputs(config: S3EdgeConfig, readState: StateReader): Promise<StackOutputs> {
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const stackId of STACK_IDS) {
    const state = await readState(stackId);
    if (state) {
      outputs[stackId] = Object.fromEntries(
        Object.entries(state.outputs ?? {}).map(([name, output]) => [name, output.value]),
      );
    }
  }
  if (!outputs["storage-replication"]) {
    throw new StatusError(
      `nothing deployed for "${config.namePrefix}": no Terraform state of the storage-replication stack ` +
        `(${config.backend.type === "s3" ? `s3://${config.backend.bucket}/${config.backend.keyPrefix}/` : `backend directory ${config.backend.directory}`}); ` +
        "run npx cdktf deploy '*' first, or point S3EDGE_CONFIG at the deployment's config",
      1,
    );
  }
  return outputs;
}

export async function deploymentStatus(config: S3EdgeConfig, deps: StatusDependencies): Promise<StatusReport> {
  const outputs = await deployedOutputs(config, deps.readState);
  const endpoints: Record<string, string> = {};
  for (const [stack, output, label] of ENDPOINT_OUTPUTS) {
    const value = outputs[stack]?.[output];
    if (typeof value === "string") endpoints[label] = value.startsWith("https://") ? value : `https://${value}`;
  }
  if (outputs.cdn && config.domain) endpoints["content (custom domain)"] = `https://${config.domain.contentHostname}`;
  if (outputs.image && config.domain) endpoints["images (custom domain)"] = `https://${config.domain.imageHostname}`;

  try {
    const regions = [...new Set([config.primaryRegion, cloudFrontMetricsRegion(config.primaryRegion)])];
    const [alarms, queues, migration] = await Promise.all([
      Promise.all(regions.map((region) => alarmsIn(deps.cloudWatch(region), region, config.namePrefix))).then((all) =>
        all.flat(),
      ),
      queuesIn(deps.sqs(config.primaryRegion), config.namePrefix),
      config.legacyOrigin && deps.migration ? deps.migration({ config, outputs }) : Promise.resolve(undefined),
    ]);
    return {
      deployment: config.namePrefix,
      primaryRegion: config.primaryRegion,
      stacks: STACK_IDS.filter((id) => outputs[id]),
      endpoints,
      alarms,
      queues,
      ...(migration === undefined ? {} : { migration }),
    };
  } catch (error) {
    throw credentialsProblem(error) ?? error;
  }
}

async function alarmsIn(client: CloudWatchClient, region: string, prefix: string): Promise<AlarmStatus[]> {
  const found: MetricAlarm[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ["MetricAlarm"], NextToken }),
    );
    found.push(...(page.MetricAlarms ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return found.map((alarm) => ({
    name: alarm.AlarmName ?? "",
    region,
    state: alarm.StateValue ?? "UNKNOWN",
    ...(alarm.StateValue === "ALARM" && alarm.StateReason ? { reason: alarm.StateReason } : {}),
  }));
}

async function queuesIn(client: SQSClient, prefix: string): Promise<QueueStatus[]> {
  const urls: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListQueuesCommand({ QueueNamePrefix: prefix, NextToken, MaxResults: 1000 }));
    urls.push(...(page.QueueUrls ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return Promise.all(
    urls.sort().map(async (url) => {
      const { Attributes = {} } = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      const name = url.slice(url.lastIndexOf("/") + 1);
      return {
        name,
        deadLetter: DEAD_LETTER_NAME.test(name),
        visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    }),
  );
}

/** The report as text for a terminal. */
export function formatStatus(report: StatusReport): string {
  const lines = [
    `s3-edge deployment ${report.deployment} (${report.primaryRegion})`,
    `stacks: ${report.stacks.join(", ")}`,
    "",
  ];
  lines.push("endpoints:");
  for (const [label, url] of Object.entries(report.endpoints)) lines.push(`  ${label.padEnd(24)} ${url}`);
  const firing = report.alarms.filter((alarm) => alarm.state === "ALARM");
  lines.push("", `alarms: ${report.alarms.length} (${firing.length} in ALARM)`);
  for (const alarm of [...firing, ...report.alarms.filter((a) => a.state !== "ALARM")]) {
    lines.push(`  ${alarm.state.padEnd(17)} ${alarm.name} (${alarm.region})${alarm.reason ? `: ${alarm.reason}` : ""}`);
  }
  lines.push("", "queues (waiting / in flight):");
  for (const queue of report.queues) {
    const warn = queue.deadLetter && queue.visible > 0 ? "  <- failed messages wait here" : "";
    lines.push(`  ${queue.name.padEnd(48)} ${String(queue.visible).padStart(8)} / ${queue.inFlight}${warn}`);
  }
  if (isMigrationReport(report.migration)) lines.push("", formatMigration(report.migration));
  else if (report.migration !== undefined) {
    lines.push("", "migration:", indent(JSON.stringify(report.migration, null, 2)));
  }
  return lines.join("\n");
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");

/**
 * The exit code of a failure the status commands explain in one line (nothing deployed, no
 * credentials: the StatusError's code; an invalid config: 2), after printing it; undefined for
 * anything else, which the caller rethrows.
 */
export function reportKnownFailure(error: unknown): number | undefined {
  const known = error instanceof StatusError ? error : credentialsProblem(error);
  if (known) {
    console.error(known.message);
    return known.exitCode;
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    return 2;
  }
  return undefined;
}
