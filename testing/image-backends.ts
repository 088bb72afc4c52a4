/** s3rver and dynalite on loopback for the image function's tests (see local-servers.md for the traps). */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
// Neither package ships types.
const S3rver: new (options: object) => S3rverInstance = require("s3rver");
const dynalite: (options: object) => Server = require("dynalite");

const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** The standard SDK variables that point clients at the local servers. */
export function localAwsEnv(s3Endpoint: string, dynamoEndpoint?: string): Record<string, string> {
  return {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    ...(dynamoEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint } : {}),
    AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
    AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
  };
}

export interface LocalS3 {
  readonly endpoint: string;
  put(bucket: string, key: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function startS3(buckets: readonly string[]): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-image-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  return {
    endpoint,
    put: async (bucket, key, body) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    close: async () => {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface LocalStyles {
  readonly endpoint: string;
  put(name: string, process: string): Promise<void>;
  close(): Promise<void>;
}

/** dynalite with the style table: partition key `id` (S), attribute `style` (S), as in x-oss-process.md. */
export async function startStyleTable(table: string): Promise<LocalStyles> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const client = new DynamoDBClient({ region: "us-east-1", endpoint, credentials });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return {
    endpoint,
    put: async (name, process) => {
      await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: name }, style: { S: process } } }));
    },
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RegionalS3 {
  readonly endpoint: string;
  /** Each request as it arrived: the bucket, the region it was signed for, and the status answered. */
  readonly requests: Array<{ bucket: string; signedFor: string; status: number }>;
  close(): Promise<void>;
}

/**
 * S3's regions in front of s3rver: each bucket lives in a region, and a request signed for another
 * region is answered as S3 answers it, 301 PermanentRedirect with `x-amz-bucket-region`; requests
 * signed for the bucket's region pass through to s3rver. Path-style requests (`/<bucket>/<key>`).
 */
export async function startRegionalS3(target: LocalS3, regions: Readonly<Record<string, string>>): Promise<RegionalS3> {
  const upstream = new URL(target.endpoint);
  const requests: RegionalS3["requests"] = [];
  const server = createServer((incoming, outgoing) => {
    const bucket = decodeURIComponent((incoming.url ?? "/").split("?")[0].split("/")[1] ?? "");
    const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(incoming.headers.authorization ?? "")?.[1] ?? "";
    const region = regions[bucket];
    if (region !== undefined && region !== signedFor) {
      requests.push({ bucket, signedFor, status: 301 });
      const body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are ` +
        `attempting to access must be addressed using the specified endpoint. Please send all future requests to ` +
        `this endpoint.</Message><Endpoint>${bucket}.s3.${region}.amazonaws.com</Endpoint><Bucket>${bucket}</Bucket>` +
        `<RequestId>0000000000000000</RequestId><HostId>stand-in</HostId></Error>`;
      outgoing.writeHead(301, {
        "content-type": "application/xml",
        "x-amz-bucket-region": region,
        "content-length": Buffer.byteLength(body),
      });
      outgoing.end(incoming.method === "HEAD" ? undefined : body);
      return;
    }
    requests.push({ bucket, signedFor, status: 200 });
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
