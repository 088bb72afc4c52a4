/**
 * The command line of `npm run replicate-existing`, testable without a process: arguments, the
 * state reader, clients and output come in; the exit code comes out.
 */
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import { parseArgs } from "node:util";
import type { StateReader } from "../status/report";
import {
  createJobRequest,
  DEFAULT_REPLICATION_STATUSES,
  progressLine,
  ReplicateExistingError,
  replicationTarget,
  startJob,
  waitForJob,
  type ReplicationStatus,
} from "./job";

export const USAGE =
  "usage: npm run replicate-existing [-- --wait] [--dry-run] [--job-id ID] [--statuses NONE,FAILED] [--interval SECONDS] [--timeout SECONDS]";

const STATUSES: readonly ReplicationStatus[] = ["NONE", "FAILED", "COMPLETED", "REPLICA"];
/** Polling of --wait: S3 Batch Operations updates a job's progress about once a minute. */
export const DEFAULT_WAIT_INTERVAL_SECONDS = 30;
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 6 * 3600;

export interface CliDependencies {
  readonly readState: StateReader;
  readonly s3Control: (region: string) => S3ControlClient;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** A fresh idempotency token per run. */
  readonly token: () => string;
}

function positiveSeconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new ReplicateExistingError(`--${name} must be a positive number of seconds`, 2);
  return seconds;
}

function statusesOf(value: string | undefined): ReplicationStatus[] {
  if (value === undefined) return [...DEFAULT_REPLICATION_STATUSES];
  const statuses = value.split(",").map((s) => s.trim().toUpperCase());
  const unknown = statuses.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (statuses.length === 0 || unknown.length > 0) {
    throw new ReplicateExistingError(
      `--statuses: ${unknown.join(", ") || "(empty)"} not one of ${STATUSES.join(", ")}`,
      2,
    );
  }
  return [...new Set(statuses)] as ReplicationStatus[];
}

export async function runReplicateExisting(argv: readonly string[], deps: CliDependencies): Promise<number> {
  try {
    let values;
    try {
      values = parseArgs({
        args: [...argv],
        options: {
          wait: { type: "boolean", default: false },
          "dry-run": { type: "boolean", default: false },
          "job-id": { type: "string" },
          statuses: { type: "string" },
          interval: { type: "string" },
          timeout: { type: "string" },
        },
      }).values;
    } catch (error) {
      throw new ReplicateExistingError(`${(error as Error).message}\n${USAGE}`, 2);
    }
    if (values["job-id"] !== undefined && !values.wait) {
      throw new ReplicateExistingError(`--job-id follows a job started earlier: use it with --wait\n${USAGE}`, 2);
    }
    const statuses = statusesOf(values.statuses);
    const intervalMs = positiveSeconds(values.interval, DEFAULT_WAIT_INTERVAL_SECONDS, "interval") * 1000;
    const timeoutMs = positiveSeconds(values.timeout, DEFAULT_WAIT_TIMEOUT_SECONDS, "timeout") * 1000;
    const target = await replicationTarget(deps.readState);
    const request = createJobRequest(target, { clientRequestToken: deps.token(), statuses });
    if (values["dry-run"]) {
      deps.out(`CreateJob request (not sent) in ${target.region}:`);
      deps.out(JSON.stringify(request, null, 2));
      return 0;
    }
    const client = deps.s3Control(target.region);
    const jobId = values["job-id"] ?? (await startJob(client, request));
    if (!values["job-id"]) {
      deps.out(
        `started S3 Batch Replication job ${jobId} in ${target.region} (report: s3://${target.reportBucket}/${request.Report?.Prefix}/job-${jobId}/)`,
      );
    }
    if (!values.wait) return 0;
    let last = "";
    const job = await waitForJob(client, target, jobId, {
      intervalMs,
      timeoutMs,
      sleep: deps.sleep,
      now: deps.now,
      onProgress: (current) => {
        const line = progressLine(current);
        if (line !== last) deps.out(line);
        last = line;
      },
    });
    deps.out(`job ${jobId} complete: ${job.ProgressSummary?.NumberOfTasksSucceeded ?? 0} objects replicated`);
    return 0;
  } catch (error) {
    if (error instanceof ReplicateExistingError) {
      deps.err(error.message);
      return error.exitCode;
    }
    const name = (error as Error)?.name ?? "";
    if (/Credentials|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|AccessDenied/.test(name)) {
      deps.err(`${name}: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}
