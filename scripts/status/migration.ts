/**
 * The migration's progress, from what the deployment records: the backfill jobs table (statuses,
 * backoffs, permanent failures with their reasons), the queue and its dead-letter queue, the
 * worker's figures in CloudWatch, and on request the legacy inventory compared with the primary
 * bucket. `npm run migrate:status` prints it; `npm run status` plugs it in as its migration section.
 * Pure of process and environment: clients come in.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { JobStatus } from "../../functions/shared/backfill-jobs";
import { JOBS_STATUS_ATTRIBUTE, JOBS_STATUS_INDEX } from "../../functions/shared/backfill-jobs-table";
import type { CopyFailureReason } from "../../functions/shared/copy/errors";
import type { ObjectReader, SourceListing } from "../../functions/shared/copy/source";
import { BACKFILL_METRICS, METRICS_NAMESPACE, SERVICE_DIMENSION } from "../../functions/shared/metrics";
import type { MigrationStatus, StackOutputs } from "./report";

/** How far back the worker's copy figures are summed (CloudWatch keeps hourly data for 63 days). */
export const COPIED_WINDOW_DAYS = 14;
/** Done records expire (DynamoDB TTL) an hour after the copy: the table shows the last hour only. */
const DONE_RECORD_HOURS = 1;

/** Reasons a job fails for good (functions/shared/copy/errors.ts), as read back from its recorded error. */
const FAILURE_REASONS = [
  "source-not-found",
  "too-large",
  "metadata-rejected",
  "newer-in-s3",
  "integrity-mismatch",
  "source-changed",
  "short-read",
  "write-conflict",
  "upload-gone",
  "aborted",
] as const satisfies readonly CopyFailureReason[];

export interface ObjectsAndBytes {
  readonly objects: number;
  readonly bytes: number;
}

export interface InventoryShare {
  /** The legacy store as listed (`bucket`, or its prefix). */
  readonly source: string;
  readonly destination: string;
  readonly prefix?: string;
  readonly legacy: ObjectsAndBytes;
  /** Legacy keys the primary bucket holds (any version: the migration never overwrites an owner's object). */
  readonly inS3: ObjectsAndBytes;
  /** inS3 / legacy, by objects and by bytes (1 for an empty inventory). */
  readonly objectShare: number;
  readonly byteShare: number;
}

export interface MigrationReport {
  readonly jobsTable: string;
  readonly copied: {
    /** The worker's ObjectsCopied and BytesCopied over COPIED_WINDOW_DAYS (undefined without CloudWatch data). */
    readonly recent?: ObjectsAndBytes & { readonly days: number };
    /** Done records still in the table: copies of about the last hour, by outcome. */
    readonly lastHour: ObjectsAndBytes & { readonly outcomes: Readonly<Record<string, number>> };
  };
  readonly inProgress: ObjectsAndBytes;
  readonly retrying: {
    readonly objects: number;
    /** Retries whose backoff has run out (the next miss or the sweeper takes them). */
    readonly due: number;
    /** The next backoff to run out, ISO 8601. */
    readonly nextRetryAt?: string;
  };
  readonly failed: { readonly objects: number; readonly byReason: Readonly<Record<string, number>> };
  readonly queue?: {
    readonly name: string;
    readonly waiting: number;
    readonly inFlight: number;
    readonly delayed: number;
    /** From CloudWatch's ApproximateAgeOfOldestMessage (latest minute); undefined without data. */
    readonly oldestMessageAgeSeconds?: number;
  };
  readonly deadLetterQueue?: { readonly name: string; readonly waiting: number };
  readonly inventory?: InventoryShare;
}

export interface MigrationStatusClients {
  readonly documents: DynamoDBDocumentClient;
  /** In the primary region (the queues live there). */
  readonly sqs: SQSClient;
  /** In the primary region (the worker's figures and the queue's metrics). */
  readonly cloudWatch: CloudWatchClient;
  /** @default now */
  readonly now?: () => number;
}

export interface InventoryInput {
  /** The legacy store. */
  readonly source: ObjectReader;
  /** The primary bucket, through its S3 API. */
  readonly destination: ObjectReader;
  readonly prefix?: string;
}

/** The migration section of `npm run status`; `inventory` adds the legacy inventory's share. */
export function migrationStatus(clients: MigrationStatusClients, inventory?: InventoryInput): MigrationStatus {
  return ({ config, outputs }) => migrationReport(clients, { namePrefix: config.namePrefix, outputs, inventory });
}

export async function migrationReport(
  clients: MigrationStatusClients,
  input: { readonly namePrefix: string; readonly outputs: StackOutputs; readonly inventory?: InventoryInput },
): Promise<MigrationReport | undefined> {
  const storage = input.outputs["storage-replication"] ?? {};
  const table = storage.backfill_jobs_table_name;
  if (typeof table !== "string") return undefined;
  const now = (clients.now ?? Date.now)();
  const queueUrl = typeof storage.backfill_queue_url === "string" ? storage.backfill_queue_url : undefined;
  const dlqUrl =
    typeof storage.backfill_dead_letter_queue_url === "string" ? storage.backfill_dead_letter_queue_url : undefined;
  const queueName = queueUrl && queueUrl.slice(queueUrl.lastIndexOf("/") + 1);

  const [done, inProgress, retrying, failed, queue, dlq, figures, inventory] = await Promise.all([
    jobsIn(clients.documents, table, JobStatus.done),
    jobsIn(clients.documents, table, JobStatus.inProgress),
    jobsIn(clients.documents, table, JobStatus.retrying),
    jobsIn(clients.documents, table, JobStatus.failed),
    queueUrl ? queueDepth(clients.sqs, queueUrl) : undefined,
    dlqUrl ? queueDepth(clients.sqs, dlqUrl) : undefined,
    cloudWatchFigures(clients.cloudWatch, `${input.namePrefix}-backfill-worker`, queueName, now),
    input.inventory ? inventoryShare(input.inventory) : undefined,
  ]);

  const outcomes: Record<string, number> = {};
  for (const job of done) {
    const outcome = String(job.outcome ?? "copied");
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  const byReason: Record<string, number> = {};
  for (const job of failed) {
    const reason = failureReason(job.error);
    byReason[reason] = (byReason[reason] ?? 0) + 1;
  }
  const retryTimes = retrying.map((job) => Number(job.retryAt ?? 0));
  const waiting = retryTimes.filter((time) => time > now).sort((a, b) => a - b);
  const sum = (jobs: readonly JobItem[], field: "bytesCopied" | "size") =>
    jobs.reduce((total, job) => total + (Number(job[field]) || 0), 0);

  return {
    jobsTable: table,
    copied: {
      ...(figures.copied ? { recent: { ...figures.copied, days: COPIED_WINDOW_DAYS } } : {}),
      lastHour: {
        objects: (outcomes.copied ?? 0) + (outcomes.replaced ?? 0),
        bytes: sum(done, "bytesCopied"),
        outcomes,
      },
    },
    inProgress: { objects: inProgress.length, bytes: sum(inProgress, "size") },
    retrying: {
      objects: retrying.length,
      due: retryTimes.length - waiting.length,
      ...(waiting.length > 0 ? { nextRetryAt: new Date(waiting[0]).toISOString() } : {}),
    },
    failed: { objects: failed.length, byReason },
    ...(queue && queueName
      ? {
          queue: {
            name: queueName,
            ...queue,
            ...(figures.oldestMessageAgeSeconds === undefined
              ? {}
              : { oldestMessageAgeSeconds: figures.oldestMessageAgeSeconds }),
          },
        }
      : {}),
    ...(dlq && dlqUrl
      ? { deadLetterQueue: { name: dlqUrl.slice(dlqUrl.lastIndexOf("/") + 1), waiting: dlq.waiting } }
      : {}),
    ...(inventory ? { inventory } : {}),
  };
}

/** The reason code in a recorded error (`<key>: <reason>: <detail>`, CopyError's message), else `other`. */
export function failureReason(error: unknown): string {
  const text = String(error ?? "");
  let found: { reason: string; at: number } | undefined;
  for (const reason of FAILURE_REASONS) {
    const at = text.lastIndexOf(`: ${reason}: `);
    if (at >= 0 && (!found || at > found.at)) found = { reason, at };
  }
  return found?.reason ?? "other";
}

interface JobItem {
  readonly outcome?: unknown;
  readonly bytesCopied?: unknown;
  readonly size?: unknown;
  readonly retryAt?: unknown;
  readonly error?: unknown;
}

/** Every job record in one status, from the `by-status` index, with only the fields the report needs. */
async function jobsIn(documents: DynamoDBDocumentClient, table: string, status: JobStatus): Promise<JobItem[]> {
  const items: JobItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: table,
        IndexName: JOBS_STATUS_INDEX,
        KeyConditionExpression: "#status = :status",
        ProjectionExpression: "outcome, bytesCopied, #size, retryAt, #error",
        ExpressionAttributeNames: { "#status": JOBS_STATUS_ATTRIBUTE, "#size": "size", "#error": "error" },
        ExpressionAttributeValues: { ":status": status },
        ExclusiveStartKey,
      }),
    );
    items.push(...((page.Items ?? []) as JobItem[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

async function queueDepth(sqs: SQSClient, url: string) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    waiting: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** The worker's copies over the window and the queue's oldest message (SQS reports its age only to CloudWatch). */
async function cloudWatchFigures(
  cloudWatch: CloudWatchClient,
  workerName: string,
  queueName: string | undefined,
  now: number,
): Promise<{ copied?: ObjectsAndBytes; oldestMessageAgeSeconds?: number }> {
  const windowSeconds = COPIED_WINDOW_DAYS * 86_400;
  const worker = (id: string, metricName: string): MetricDataQuery => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: SERVICE_DIMENSION, Value: workerName }],
      },
      Period: windowSeconds,
      Stat: "Sum",
    },
  });
  const totals = await cloudWatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - windowSeconds * 1000),
      EndTime: new Date(now),
      MetricDataQueries: [worker("objects", BACKFILL_METRICS.copied), worker("bytes", BACKFILL_METRICS.bytesCopied)],
    }),
  );
  const total = (id: string) =>
    totals.MetricDataResults?.find((result) => result.Id === id)?.Values?.reduce((a, b) => a + b, 0);
  const objects = total("objects");
  const copied = objects === undefined ? undefined : { objects, bytes: total("bytes") ?? 0 };
  if (!queueName) return { copied };
  const age = await cloudWatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 10 * 60_000),
      EndTime: new Date(now),
      ScanBy: "TimestampDescending",
      MetricDataQueries: [
        {
          Id: "age",
          MetricStat: {
            Metric: {
              Namespace: "AWS/SQS",
              MetricName: "ApproximateAgeOfOldestMessage",
              Dimensions: [{ Name: "QueueName", Value: queueName }],
            },
            Period: 60,
            Stat: "Maximum",
          },
        },
      ],
    }),
  );
  const latest = age.MetricDataResults?.find((result) => result.Id === "age")?.Values?.[0];
  return { copied, ...(latest === undefined ? {} : { oldestMessageAgeSeconds: latest }) };
}

/** Entries of paged listings one at a time. */
async function* entries(pages: AsyncGenerator<SourceListing[]>): AsyncGenerator<SourceListing> {
  for await (const page of pages) yield* page;
}

/** S3 and GCS list keys in UTF-8 byte order. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/**
 * Lists the legacy store and the primary bucket side by side (both in key order) and counts the
 * legacy keys S3 holds: memory stays one page of each, whatever the inventory's size.
 */
export async function inventoryShare(input: InventoryInput): Promise<InventoryShare> {
  const legacy = entries(input.source.list(input.prefix));
  const primary = entries(input.destination.list(input.prefix));
  let inS3 = { objects: 0, bytes: 0 };
  let total = { objects: 0, bytes: 0 };
  let next = await primary.next();
  for await (const entry of legacy) {
    total = { objects: total.objects + 1, bytes: total.bytes + entry.size };
    while (!next.done && byteOrder(next.value.key, entry.key) < 0) next = await primary.next();
    if (!next.done && next.value.key === entry.key)
      inS3 = { objects: inS3.objects + 1, bytes: inS3.bytes + entry.size };
  }
  const share = (part: number, whole: number) => (whole === 0 ? 1 : part / whole);
  return {
    source: input.source.name,
    destination: input.destination.name,
    ...(input.prefix ? { prefix: input.prefix } : {}),
    legacy: total,
    inS3,
    objectShare: share(inS3.objects, total.objects),
    byteShare: share(inS3.bytes, total.bytes),
  };
}

const count = (value: number) => value.toLocaleString("en-US");
/** Decimal units, as the migrate CLI prints them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** The report as text for a terminal (`npm run migrate:status`, and the migration section of `npm run status`). */
export function formatMigration(report: MigrationReport): string {
  const line = (label: string, text: string) => `  ${label.padEnd(18)} ${text}`;
  const { copied, inProgress, retrying, failed, queue, deadLetterQueue, inventory } = report;
  const largestFirst = ([a, an]: [string, number], [b, bn]: [string, number]) => bn - an || (a < b ? -1 : 1);
  const outcomes = Object.entries(copied.lastHour.outcomes)
    .sort(largestFirst)
    .map(([outcome, n]) => `${outcome} ${count(n)}`)
    .join(", ");
  const lines = [
    `migration (jobs table ${report.jobsTable}):`,
    line(
      "copied",
      `${copied.recent ? `${count(copied.recent.objects)} objects, ${formatBytes(copied.recent.bytes)} in the last ${copied.recent.days} days; ` : ""}` +
        `${count(copied.lastHour.objects)} objects, ${formatBytes(copied.lastHour.bytes)} in the last ${DONE_RECORD_HOURS} hour` +
        (outcomes ? ` (${outcomes})` : ""),
    ),
    line("in progress", `${count(inProgress.objects)} objects, ${formatBytes(inProgress.bytes)}`),
    line(
      "retrying",
      `${count(retrying.objects)}` +
        (retrying.objects > 0
          ? ` (${count(retrying.due)} due now${retrying.nextRetryAt ? `, next backoff ends ${retrying.nextRetryAt}` : ""})`
          : ""),
    ),
    line(
      "failed",
      `${count(failed.objects)}` +
        (failed.objects > 0
          ? `: ${Object.entries(failed.byReason)
              .sort(largestFirst)
              .map(([reason, n]) => `${reason} ${count(n)}`)
              .join(", ")}`
          : ""),
    ),
  ];
  if (queue) {
    const age =
      queue.oldestMessageAgeSeconds === undefined ? "no age data" : `oldest ${count(queue.oldestMessageAgeSeconds)} s`;
    lines.push(
      line(
        "queue",
        `${queue.name}: ${count(queue.waiting)} waiting, ${count(queue.inFlight)} in flight, ${count(queue.delayed)} delayed, ${age}`,
      ),
    );
  }
  if (deadLetterQueue) {
    const warn = deadLetterQueue.waiting > 0 ? "  <- jobs that failed 5 receives wait here" : "";
    lines.push(line("dead-letter queue", `${deadLetterQueue.name}: ${count(deadLetterQueue.waiting)} waiting${warn}`));
  }
  if (inventory) {
    lines.push(
      line(
        "legacy inventory",
        `${count(inventory.inS3.objects)} of ${count(inventory.legacy.objects)} objects (${percent(inventory.objectShare)}), ` +
          `${formatBytes(inventory.inS3.bytes)} of ${formatBytes(inventory.legacy.bytes)} (${percent(inventory.byteShare)}) ` +
          `of ${inventory.source}${inventory.prefix ? `/${inventory.prefix}` : ""} are in ${inventory.destination}`,
      ),
    );
  }
  return lines.join("\n");
}

/** Whether a migration section is this module's report (`npm run status` prints it as text then). */
export function isMigrationReport(value: unknown): value is MigrationReport {
  return typeof value === "object" && value !== null && "jobsTable" in value && "copied" in value;
}
