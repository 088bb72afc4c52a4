/**
 * The local stand-ins for S3 (s3rver) and DynamoDB (dynalite), on loopback and port 0, with the SDK
 * client, credentials and environment that reach them: shared by the tests and `scripts/bench`.
 * Stand-ins that add an S3 behaviour (versioning, conditional writes, regions, SigV4 checking) wrap
 * the s3rver started here. The servers' traps are handled where they bite: checksums (`localAwsEnv`),
 * listing pages (`startS3rverProcess`), TTL (`startDynamoDb`).
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  type CreateTableCommandInput,
} from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import dynalite from "dynalite";
import S3rver from "s3rver";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PROJECT_ROOT } from "../config";
import {
  JOBS_PARTITION_KEY,
  JOBS_STATUS_ATTRIBUTE,
  JOBS_STATUS_INDEX,
  JOBS_UPDATED_AT_ATTRIBUTE,
} from "../functions/shared/backfill-jobs-table";
import { STYLE_ID_ATTRIBUTE, STYLE_VALUE_ATTRIBUTE } from "../functions/image/style-table";

/** Both servers accept any credentials (and check no signature); s3rver's own are the conventional pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
export const LOCAL_REGION = "us-east-1";

/**
 * The standard SDK variables that point clients (in this process or a child) at the local servers.
 * Checksums only when required: s3rver stores the aws-chunked framing of checksummed uploads.
 */
export function localAwsEnv(s3Endpoint?: string, dynamoDbEndpoint?: string): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    ...(s3Endpoint ? { AWS_ENDPOINT_URL_S3: s3Endpoint } : {}),
    ...(dynamoDbEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint } : {}),
    AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
    AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
  };
}

/** An SDK client for an s3rver (or a stand-in in front of one); `overrides` e.g. its retry attempts. */
export function localS3Client(endpoint: string, overrides: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...overrides,
  });
}

/** What a stand-in adds to s3rver: runs before s3rver's own handling of every request. */
export type S3rverMiddleware = S3rver.Middleware;

const s3rverOptions = (directory: string, buckets: readonly string[] = []): S3rver.Options => ({
  port: 0,
  address: "127.0.0.1",
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly client: S3Client;
  /** `ObjectCreated:*` events per key (PUTs and completed multipart uploads). */
  readonly created: Map<string, number>;
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalS3Options {
  readonly middleware?: S3rverMiddleware;
}

/**
 * s3rver in this process with `buckets` created. Its listings stop at one page unless this process
 * runs with `--openssl-legacy-provider` (see `startS3rverProcess`).
 */
export async function startS3(buckets: readonly string[], options: LocalS3Options = {}): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rver(s3rverOptions(directory, buckets));
  if (options.middleware) server.middleware.unshift(options.middleware);
  const created = new Map<string, number>();
  server.on("event", (event) => {
    for (const record of event.Records) {
      if (!record.eventName.startsWith("ObjectCreated")) continue;
      const key = decodeURIComponent(record.s3.object.key);
      created.set(key, (created.get(key) ?? 0) + 1);
    }
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localS3Client(endpoint);
  return {
    endpoint,
    client,
    created,
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface S3rverProcess {
  readonly endpoint: string;
  /** The server's process: its CPU time tells whether it, not the client, was the bottleneck. */
  readonly pid: number;
  readonly stop: () => void;
}

/**
 * s3rver in its own process, without buckets: for benches, which measure its CPU apart from theirs
 * and page listings past 1,000 keys (s3rver's DES continuation tokens need OpenSSL's legacy provider).
 */
export async function startS3rverProcess(): Promise<S3rverProcess> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-process-"));
  const script =
    "const S3rver = require('s3rver');" +
    "new S3rver(JSON.parse(process.argv[1])).run().then((address) => console.log(address.port));";
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "-e", script, JSON.stringify(s3rverOptions(directory))],
    { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => {
      child.kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  createTable(input: CreateTableCommandInput): Promise<void>;
  /** Deletes the table if it exists and creates it again, empty (a fresh table under the same name). */
  recreateTable(input: CreateTableCommandInput): Promise<void>;
  close(): Promise<void>;
}

/** dynalite with `tables` created (it has no TTL: `UpdateTimeToLive` fails, so none is set). */
export async function startDynamoDb(tables: readonly CreateTableCommandInput[] = []): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: S3RVER_CREDENTIALS });
  const createTable = async (input: CreateTableCommandInput) => {
    await client.send(new CreateTableCommand(input));
  };
  const recreateTable = async (input: CreateTableCommandInput) => {
    await client.send(new DeleteTableCommand({ TableName: input.TableName })).catch((error: Error) => {
      if (error.name !== "ResourceNotFoundException") throw error;
    });
    // dynalite drops a deleted table on its next timer tick (deleteTableMs: 0).
    for (;;) {
      try {
        return await createTable(input);
      } catch (error) {
        if ((error as Error).name !== "ResourceInUseException") throw error;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  for (const table of tables) await createTable(table);
  return {
    endpoint,
    client,
    createTable,
    recreateTable,
    close: () =>
      new Promise<void>((resolve, reject) => {
        client.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The backfill jobs table as the backfill contract defines it. */
export function jobsTable(name: string): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: JOBS_PARTITION_KEY, AttributeType: "S" },
      { AttributeName: JOBS_STATUS_ATTRIBUTE, AttributeType: "S" },
      { AttributeName: JOBS_UPDATED_AT_ATTRIBUTE, AttributeType: "N" },
    ],
    KeySchema: [{ AttributeName: JOBS_PARTITION_KEY, KeyType: "HASH" }],
    GlobalSecondaryIndexes: [
      {
        IndexName: JOBS_STATUS_INDEX,
        KeySchema: [
          { AttributeName: JOBS_STATUS_ATTRIBUTE, KeyType: "HASH" },
          { AttributeName: JOBS_UPDATED_AT_ATTRIBUTE, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}

/** The image styles table as functions/image/style-table.ts defines it. */
export function styleTable(name: string): CreateTableCommandInput {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: STYLE_ID_ATTRIBUTE, AttributeType: "S" }],
    KeySchema: [{ AttributeName: STYLE_ID_ATTRIBUTE, KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  };
}

/** Stores a named style (`process` is an x-oss-process value) in a `styleTable`. */
export async function putStyle(dynamo: LocalDynamoDb, table: string, name: string, process: string): Promise<void> {
  await dynamo.client.send(
    new PutItemCommand({
      TableName: table,
      Item: { [STYLE_ID_ATTRIBUTE]: { S: name }, [STYLE_VALUE_ATTRIBUTE]: { S: process } },
    }),
  );
}
