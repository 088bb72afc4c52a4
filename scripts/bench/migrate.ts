import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { PROJECT_ROOT } from "../../config";
import { crc32cCombine, crc32cOf, crc32cToBase64 } from "../../functions/shared/copy/checksums";
import { migrateCommand, migrateVsRclone } from "./migrate-rclone";
import {
  localS3Client as client,
  S3RVER_CREDENTIALS as CREDENTIALS,
  startS3rverProcess as startS3rver,
} from "../../testing/local-servers";
import { progress, round, type BenchSection } from "./support";

const SMALL_OBJECTS = 2000;
const SMALL_BYTES = 10 * 1024;
const CONCURRENCIES = [1, 4, 16];
const LARGE_BYTES = 1024 ** 3;
const LARGE_PART_BYTES = 16 * 1024 ** 2;
const RSS_GOAL_BYTES = 200 * 1e6;

/**
 * GCS publishes `x-goog-hash` (crc32c and md5) on every object; s3rver publishes none. This proxy
 * in front of the source s3rver adds it, so that the large copy goes through the verified path
 * (CRC32C combined over parts and the whole MD5, compared before the upload is completed).
 */
async function startHashPublisher(
  upstream: string,
  hashes: Map<string, string>,
): Promise<{ endpoint: string; stop: () => void }> {
  const target = new URL(upstream);
  const server = createServer((request, response) => {
    const key = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname).replace(/^\/legacy\//, "");
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        const hash = hashes.get(key);
        response.writeHead(
          answer.statusCode ?? 502,
          hash ? { ...answer.headers, "x-goog-hash": hash } : answer.headers,
        );
        answer.pipe(response);
      },
    );
    outgoing.on("error", () => response.destroy());
    request.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => server.close() };
}

/** Seeds the source; returns the `x-goog-hash` value of the large object. */
async function seed(source: S3Client): Promise<string> {
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
  const md5 = createHash("md5");
  let crc32c = 0;
  for (let partNumber = 1; partNumber * LARGE_PART_BYTES <= LARGE_BYTES; partNumber++) {
    const body = randomBytes(LARGE_PART_BYTES);
    md5.update(body);
    crc32c = crc32cCombine(crc32c, await crc32cOf(body), body.length);
    const { ETag } = await source.send(
      new UploadPartCommand({ Bucket: "legacy", Key: "large/1GiB.bin", UploadId, PartNumber: partNumber, Body: body }),
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
  return `crc32c=${crc32cToBase64(crc32c)},md5=${md5.digest("base64")}`;
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
    const [program, ...programArgs] = migrateCommand();
    const child = spawn(program, [...programArgs, "--source-endpoint", source, ...args], {
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
      },
    });
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
 * objects at --concurrency 1, 4 and 16, then one 1 GiB object through the verified path (a proxy
 * publishes GCS's x-goog-hash), for throughput and the CLI's peak RSS; then the comparison with
 * rclone (`migrateVsRclone`, on servers of its own).
 */
export const migrate: BenchSection = async ({ runs }) => {
  const [sourceServer, destinationServer] = await Promise.all([startS3rver(), startS3rver()]);
  try {
    progress("migrate: seeding 2,000 small objects and one 1 GiB object");
    const largeHash = await seed(client(sourceServer.endpoint));
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
    const publisher = await startHashPublisher(sourceServer.endpoint, new Map([["large/1GiB.bin", largeHash]]));
    let large: Summary;
    try {
      large = await runMigrate(publisher.endpoint, destinationServer.endpoint, [
        "--source-bucket",
        "legacy",
        "--bucket",
        "large",
        "--prefix",
        "large/",
      ]);
    } finally {
      publisher.stop();
    }
    const copied = await destination.send(new HeadObjectCommand({ Bucket: "large", Key: "large/1GiB.bin" }));
    const largeResult = {
      bytes: large.bytes,
      seconds: large.seconds,
      megabytesPerSecond: round(large.bytes / 1e6 / large.seconds, 1),
      peakRssMegabytes: round(large.peakRssBytes / 1e6, 1),
      goalPeakRssMegabytes: RSS_GOAL_BYTES / 1e6,
      meetsGoal: large.peakRssBytes < RSS_GOAL_BYTES,
      // The copy records the CRC32C it was verified against only when the source published one.
      verifiedWithCrc32c: copied.Metadata?.["source-crc32c"] === /crc32c=([^,]+)/.exec(largeHash)?.[1],
    };
    progress(`migrate: 1 GiB object: ${JSON.stringify(largeResult)}`);
    return {
      smallObjects: { count: SMALL_OBJECTS, bytesEach: SMALL_BYTES, ...small },
      largeObject: largeResult,
      versusRclone: await migrateVsRclone(runs),
    };
  } finally {
    sourceServer.stop();
    destinationServer.stop();
  }
};
