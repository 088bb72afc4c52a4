/**
 * npm run migrate:status [-- --json] [--source-bucket NAME [--source-endpoint URL] [--source-region R]
 *                        [--source-addressing path|virtual-hosted] [--prefix P]]
 *
 * The migration's progress from the deployed backfill pipeline (endpoints from the Terraform state,
 * as `npm run status` reads them): copies done, in progress, retrying, failed by reason, the
 * queue's depth and oldest message, the dead-letter queue. With --source-bucket, also the share of
 * the legacy inventory already in the primary bucket (both listed, in key order). The legacy store
 * is reached as `legacyOrigin` says; the flags override its endpoint, region and addressing, and
 * SOURCE_ACCESS_KEY_ID / SOURCE_SECRET_ACCESS_KEY sign the listing (anonymous when absent).
 * Exit 1 when nothing is deployed or no legacy origin is configured, 2 on bad usage or without
 * AWS credentials, 0 otherwise.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import { ObjectSource } from "../functions/shared/copy/source";
import { openLegacySource, SOURCE_ADDRESSINGS, type SourceAddressing } from "../functions/shared/legacy-source";
import { legacySourceSettings } from "../stacks/legacy-origin";
import { formatMigration, migrationReport, type InventoryInput } from "./status/migration";
import { deployedOutputs, reportKnownFailure, stateReader, StatusError } from "./status/report";

const USAGE =
  "usage: npm run migrate:status [-- --json] [--source-bucket NAME [--source-endpoint URL] [--source-region R] " +
  "[--source-addressing path|virtual-hosted] [--prefix P]]";

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        json: { type: "boolean", default: false },
        "source-bucket": { type: "string" },
        "source-endpoint": { type: "string" },
        "source-region": { type: "string" },
        "source-addressing": { type: "string" },
        prefix: { type: "string" },
      },
      strict: true,
    }).values;
    const addressing = values["source-addressing"];
    if (addressing && !(SOURCE_ADDRESSINGS as readonly string[]).includes(addressing)) {
      throw new Error(`--source-addressing must be one of ${SOURCE_ADDRESSINGS.join(", ")}`);
    }
    if (
      !values["source-bucket"] &&
      (values["source-endpoint"] || values["source-region"] || addressing || values.prefix)
    ) {
      throw new Error("--source-endpoint, --source-region, --source-addressing and --prefix go with --source-bucket");
    }
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const config = loadConfig({ env: process.env, cwd: process.cwd() });
    const origin = config.legacyOrigin;
    if (!origin) throw new StatusError(`"${config.namePrefix}" has no legacyOrigin: there is no migration`, 1);
    const outputs = await deployedOutputs(config, stateReader(config.backend, process.cwd()));
    let inventory: InventoryInput | undefined;
    const sourceBucket = values["source-bucket"];
    if (sourceBucket) {
      const settings = legacySourceSettings(origin);
      if (settings.api === "http" && !values["source-endpoint"]) {
        throw new StatusError(
          "the legacy origin is an HTTPS origin, which cannot be listed: give --source-endpoint of an S3 API that lists it",
          2,
        );
      }
      const accessKeyId = process.env.SOURCE_ACCESS_KEY_ID;
      const secretAccessKey = process.env.SOURCE_SECRET_ACCESS_KEY;
      const primaryBucket = outputs["storage-replication"]?.primary_bucket_name;
      inventory = {
        source: openLegacySource(
          {
            api: "s3",
            endpoint: values["source-endpoint"] ?? settings.endpoint,
            bucket: sourceBucket,
            region: values["source-region"] ?? settings.region,
            addressing: (values["source-addressing"] as SourceAddressing | undefined) ?? settings.addressing,
          },
          { credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined },
        ),
        destination: new ObjectSource(
          new S3Client({ region: config.primaryRegion }),
          typeof primaryBucket === "string" ? primaryBucket : config.storage.primaryBucketName,
        ),
        prefix: values.prefix,
      };
    }
    const report = await migrationReport(
      {
        documents: DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.primaryRegion })),
        sqs: new SQSClient({ region: config.primaryRegion }),
        cloudWatch: new CloudWatchClient({ region: config.primaryRegion }),
      },
      { namePrefix: config.namePrefix, outputs, inventory },
    );
    if (!report) throw new StatusError("the storage-replication stack has no backfill jobs table in its state", 1);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatMigration(report));
    return 0;
  } catch (error) {
    const code = reportKnownFailure(error);
    if (code === undefined) throw error;
    return code;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`migrate:status: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
