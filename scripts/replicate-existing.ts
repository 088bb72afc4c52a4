/**
 * npm run replicate-existing [-- --wait] [--dry-run] [--job-id ID] [--statuses NONE,FAILED]
 *
 * Replicates the objects already in the primary bucket (replication copies only new writes) with
 * an S3 Batch Replication job: the role and the reports bucket come from the storage-replication
 * stack's Terraform state (local or S3 backend, as for `npm run status`). Prints the job id; with
 * --wait follows it to the end; --dry-run prints the request without sending it. Exit 0 done (or
 * started), 1 the job failed or has failed tasks, 2 bad usage, nothing deployed or no credentials.
 */
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, loadConfig } from "../config";
import { runReplicateExisting } from "./replicate-existing/cli";
import { stateReader } from "./status/report";

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  return runReplicateExisting(process.argv.slice(2), {
    readState: stateReader(config.backend, process.cwd()),
    s3Control: (region) => new S3ControlClient({ region }),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    sleep: (ms) => sleep(ms),
    now: () => Date.now(),
    token: () => randomUUID(),
  });
}

main().then((code) => process.exit(code));
