/**
 * npm run status [-- --json]
 *
 * The deployment at a glance: endpoints (from the stacks' Terraform state, local or S3 backend),
 * every alarm's state, queue and DLQ depths, and the migration's progress when a legacy origin is
 * configured. Config as for synth (S3EDGE_CONFIG or s3-edge.config.json); AWS credentials and
 * region from the usual places. Exit 1 when nothing is deployed, 2 without credentials or on bad
 * usage, 3 when an alarm is in ALARM (so scripts can gate on it), 0 otherwise.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import { migrationStatus } from "./status/migration";
import { deploymentStatus, formatStatus, reportKnownFailure, stateReader } from "./status/report";

async function main(): Promise<number> {
  let json: boolean;
  try {
    json = parseArgs({ options: { json: { type: "boolean", default: false } } }).values.json ?? false;
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: npm run status [-- --json]`);
    return 2;
  }
  try {
    const config = loadConfig({ env: process.env, cwd: process.cwd() });
    const clients = <T>(make: (region: string) => T) => {
      const byRegion = new Map<string, T>();
      return (region: string) => byRegion.get(region) ?? byRegion.set(region, make(region)).get(region)!;
    };
    const report = await deploymentStatus(config, {
      readState: stateReader(config.backend, process.cwd()),
      cloudWatch: clients((region) => new CloudWatchClient({ region })),
      sqs: clients((region) => new SQSClient({ region })),
      migration: migrationStatus({
        documents: DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.primaryRegion })),
        sqs: new SQSClient({ region: config.primaryRegion }),
        cloudWatch: new CloudWatchClient({ region: config.primaryRegion }),
      }),
    });
    console.log(json ? JSON.stringify(report, null, 2) : formatStatus(report));
    return report.alarms.some((alarm) => alarm.state === "ALARM") ? 3 : 0;
  } catch (error) {
    const code = reportKnownFailure(error);
    if (code === undefined) throw error;
    return code;
  }
}

main().then((code) => process.exit(code));
