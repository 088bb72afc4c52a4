import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PROJECT_ROOT } from "../../config";
import { progress, round, type BenchSection } from "./support";

const SMALL_OBJECTS = 2000;
const SMALL_BYTES = 10 * 1024;
const CONCURRENCIES = [1, 4, 16];
const LARGE_BYTES = 1024 ** 3;
const LARGE_PART_BYTES = 16 * 1024 ** 2;
const RSS_GOAL_BYTES = 200 * 1e6;
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** s3rver in its own process: listings past one page need OpenSSL's legacy provider (DES tokens). */
async function startS3rver(): Promise<{ endpoint: string; stop: () => void }> {
  const directory = mkdtempSync(join(tmpdir(), "s3-edge-bench-s3rver-"));
  const script =
    "const S3rver = require('s3rver');" +
    "new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[1] })" +
    ".run().then((address) => console.log(address.port));";
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", "-e", script, directory], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => {
      child.kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

async function seed(source: S3Client): Promise<void> {
  await source.send(new CreateBucketCommand({ Bucket: "legacy" }));
  const body = randomBytes(SMALL_BYTES);
  for (let first = 0; first < SMALL_OBJECTS; first += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, SMALL_OBJECTS - first) }, (_, offset) =>
        source.send(
          new PutObjectCommand({
            Bucket: "legacy",
            Key: `small/${first + offset}.bin`,
            Body: body,
            ContentType: "application/octet-stream",
          }),
        ),
      ),
    );
  }
  const { UploadId } = await source.send(new CreateMultipartUploadCommand({ Bucket: "legacy", Key: "large/1GiB.bin" }));
  const parts = [];
  for (let partNumber = 1; partNumber * LARGE_PART_BYTES <= LARGE_BYTES; partNumber++) {
    const { ETag } = await source.send(
      new UploadPartCommand({
        Bucket: "legacy",
        Key: "large/1GiB.bin",
        UploadId,
        PartNumber: partNumber,
        Body: randomBytes(LARGE_PART_BYTES),
      }),
    );
    parts.push({ PartNumber: partNumber, ETag });
  }
  await source.send(
    new CompleteMultipartUploadCommand({
      Bucket: "legacy",
      Key: "large/1GiB.bin",
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

interface Summary {
  copied: number;
  failed: number;
  bytes: number;
  seconds: number;
  peakRssBytes: number;
}

/** Runs the CLI as a user would (its own process) and returns its JSON summary. */
function runMigrate(source: string, destination: string, args: string[]): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(PROJECT_ROOT, "node_modules/.bin/tsx"),
      ["scripts/migrate.ts", "--source-endpoint", source, ...args],
      {
        cwd: PROJECT_ROOT,
        stdio: ["ignore", "pipe", "ignore"],
        env: {
          ...process.env,
          SOURCE_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          SOURCE_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_S3: destination,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
          AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
        },
      },
    );
    let stdout = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.on("close", (code) => {
      const summary = JSON.parse(stdout.trim().split("\n").pop() || "{}") as Summary;
      if (code !== 0 || summary.failed) reject(new Error(`migrate ${args.join(" ")} failed (exit ${code}): ${stdout}`));
      else resolve(summary);
    });
  });
}

/**
 * `npm run migrate` between two local s3rver instances (each in its own process): 2,000 × 10 KB
 * objects at --concurrency 1, 4 and 16, then one 1 GiB object (throughput and the CLI's peak RSS).
 */
export const migrate: BenchSection = async () => {
  const [sourceServer, destinationServer] = await Promise.all([startS3rver(), startS3rver()]);
  try {
    progress("migrate: seeding 2,000 small objects and one 1 GiB object");
    await seed(client(sourceServer.endpoint));
    const destination = client(destinationServer.endpoint);
    const small: Record<string, unknown> = {};
    for (const concurrency of CONCURRENCIES) {
      const bucket = `small-c${concurrency}`;
      await destination.send(new CreateBucketCommand({ Bucket: bucket }));
      const summary = await runMigrate(sourceServer.endpoint, destinationServer.endpoint, [
        "--source-bucket",
        "legacy",
        "--bucket",
        bucket,
        "--prefix",
        "small/",
        "--concurrency",
        String(concurrency),
      ]);
      small[`concurrency${concurrency}`] = {
        objects: summary.copied,
        seconds: summary.seconds,
        objectsPerSecond: round(summary.copied / summary.seconds, 1),
        megabytesPerSecond: round(summary.bytes / 1e6 / summary.seconds, 2),
      };
      progress(
        `migrate: small objects at concurrency ${concurrency}: ${JSON.stringify(small[`concurrency${concurrency}`])}`,
      );
    }
    await destination.send(new CreateBucketCommand({ Bucket: "large" }));
    const large = await runMigrate(sourceServer.endpoint, destinationServer.endpoint, [
      "--source-bucket",
      "legacy",
      "--bucket",
      "large",
      "--prefix",
      "large/",
    ]);
    const largeResult = {
      bytes: large.bytes,
      seconds: large.seconds,
      megabytesPerSecond: round(large.bytes / 1e6 / large.seconds, 1),
      peakRssMegabytes: round(large.peakRssBytes / 1e6, 1),
      goalPeakRssMegabytes: RSS_GOAL_BYTES / 1e6,
      meetsGoal: large.peakRssBytes < RSS_GOAL_BYTES,
    };
    progress(`migrate: 1 GiB object: ${JSON.stringify(largeResult)}`);
    return { smallObjects: { count: SMALL_OBJECTS, bytesEach: SMALL_BYTES, ...small }, largeObject: largeResult };
  } finally {
    sourceServer.stop();
    destinationServer.stop();
  }
};
