import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../config";
import {
  localS3Client,
  S3RVER_CREDENTIALS,
  startS3rverProcess as startS3rver,
  type S3rverProcess as BenchS3,
} from "../../testing/local-servers";
import { cpuSeconds, progress, round, sampleFigures } from "./support";

/** The workload issue 11 measured rclone 1.60 on. */
const SMALL_OBJECTS = 300;
const SMALL_BYTES = 10 * 1024;
const LARGE_BYTES = 256 * 1024 ** 2;
const TRANSFERS = 8;
const LARGE_KEY = "large/256MiB.bin";
const GNU_TIME = "/usr/bin/time";

interface Measured {
  readonly seconds: number;
  /** Peak RSS of the tool's biggest process (GNU time's %M), when GNU time is installed. */
  readonly peakRssBytes?: number;
  /** CPU seconds each server spent during the run. */
  readonly serverCpuSeconds: readonly number[];
}

type Tool = "cli" | "rclone";

function rcloneVersion(): string | undefined {
  const result = spawnSync("rclone", ["version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.split("\n")[0].trim() : undefined;
}

/** The command `npm run migrate` runs, without npm's own start-up (same for every run of either tool). */
export function migrateCommand(): string[] {
  const scripts = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const [program, ...args] = scripts.migrate.split(/\s+/);
  const local = join(PROJECT_ROOT, "node_modules/.bin", program);
  return [existsSync(local) ? local : program === "node" ? process.execPath : program, ...args];
}

/** Runs one tool to completion under GNU time (for its peak RSS) and times it from spawn to exit. */
function run(command: string[], env: NodeJS.ProcessEnv, servers: readonly BenchS3[]): Promise<Measured> {
  const rssFile = join(tmpdir(), `s3-edge-bench-rss-${process.pid}-${Date.now()}`);
  const timed = existsSync(GNU_TIME) ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...command] : command;
  const cpuBefore = servers.map((server) => cpuSeconds(server.pid) ?? 0);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(timed[0], timed.slice(1), { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const serverCpuSeconds = servers.map((server, index) =>
        round((cpuSeconds(server.pid) ?? 0) - cpuBefore[index], 2),
      );
      let peakRssBytes: number | undefined;
      if (existsSync(rssFile)) {
        peakRssBytes = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) * 1024;
        rmSync(rssFile, { force: true });
      }
      if (code !== 0) reject(new Error(`${command.join(" ")} exited with ${code}:\n${output.slice(-2000)}`));
      else resolve({ seconds, peakRssBytes, serverCpuSeconds });
    });
  });
}

async function seed(source: S3Client): Promise<void> {
  await source.send(new CreateBucketCommand({ Bucket: "legacy" }));
  for (let first = 0; first < SMALL_OBJECTS; first += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, SMALL_OBJECTS - first) }, (_, offset) =>
        source.send(
          new PutObjectCommand({
            Bucket: "legacy",
            Key: `small/${String(first + offset).padStart(4, "0")}.bin`,
            Body: randomBytes(SMALL_BYTES),
            ContentType: "application/octet-stream",
            CacheControl: "max-age=3600",
            Metadata: { origin: "bench" },
          }),
        ),
      ),
    );
  }
  // One PUT: its ETag is the MD5 of its bytes, which both tools verify the copy against.
  await source.send(
    new PutObjectCommand({
      Bucket: "legacy",
      Key: LARGE_KEY,
      Body: randomBytes(LARGE_BYTES),
      ContentType: "application/octet-stream",
      Metadata: { origin: "bench" },
    }),
  );
}

/** Every object arrived with its size and user metadata (both tools are asked to keep it). */
async function check(destination: S3Client, bucket: string, prefix: string, count: number, bytesEach: number) {
  const listed = await destination.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const contents = listed.Contents ?? [];
  if (contents.length !== count || contents.some((entry) => entry.Size !== bytesEach)) {
    throw new Error(`${bucket}/${prefix}: ${contents.length} objects of ${count} expected, or wrong sizes`);
  }
  const head = await destination.send(new HeadObjectCommand({ Bucket: bucket, Key: contents[0].Key }));
  if (head.Metadata?.origin !== "bench") throw new Error(`${bucket}/${contents[0].Key} lost its metadata`);
}

/**
 * `npm run migrate` beside rclone between the same two s3rver processes, issue 11's workload (300
 * × 10 KiB, one 256 MiB object, 8 transfers), runs interleaved (the order alternates) so both
 * tools see the same machine state. Wall time from spawn to exit, start-up included, for both.
 */
export async function migrateVsRclone(runs: number): Promise<unknown> {
  const version = rcloneVersion();
  if (!version) {
    progress("migrate: rclone is not installed (apt-get install rclone): comparison skipped");
    return { skipped: "rclone is not installed (apt-get install rclone)" };
  }
  const servers = await Promise.all([startS3rver(), startS3rver()]);
  const [sourceServer, destinationServer] = servers;
  const configDirectory = mkdtempSync(join(tmpdir(), "s3-edge-bench-rclone-"));
  try {
    progress(`migrate vs ${version}: seeding ${SMALL_OBJECTS} small objects and one 256 MiB object`);
    await seed(localS3Client(sourceServer.endpoint));
    const destination = localS3Client(destinationServer.endpoint);
    const rcloneConfig = join(configDirectory, "rclone.conf");
    writeFileSync(rcloneConfig, "");
    const remote = (name: string, endpoint: string) => ({
      [`RCLONE_CONFIG_${name}_TYPE`]: "s3",
      [`RCLONE_CONFIG_${name}_PROVIDER`]: "Other",
      [`RCLONE_CONFIG_${name}_ENDPOINT`]: endpoint,
      [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: S3RVER_CREDENTIALS.accessKeyId,
      [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: S3RVER_CREDENTIALS.secretAccessKey,
      [`RCLONE_CONFIG_${name}_REGION`]: "us-east-1",
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RCLONE_CONFIG: rcloneConfig,
      ...remote("SRC", sourceServer.endpoint),
      ...remote("DST", destinationServer.endpoint),
      SOURCE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      SOURCE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: destinationServer.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    // rclone's AWS SDK refuses a custom CA bundle with its own HTTP transport; the servers speak plain HTTP anyway.
    const { AWS_CA_BUNDLE: _unused, ...rcloneEnv } = env;
    const cli = migrateCommand();
    const commandFor = (tool: Tool, prefix: string, bucket: string) =>
      tool === "cli"
        ? [
            ...cli,
            "--source-endpoint",
            sourceServer.endpoint,
            "--source-bucket",
            "legacy",
            "--prefix",
            prefix,
            "--bucket",
            bucket,
            "--concurrency",
            String(TRANSFERS),
          ]
        : // --metadata keeps user metadata, as the CLI does; rclone checks MD5s after each transfer by default.
          [
            "rclone",
            "copy",
            `src:legacy/${prefix}`,
            `dst:${bucket}/${prefix}`,
            "--transfers",
            String(TRANSFERS),
            "--metadata",
          ];

    // Builds the CLI's bundle (scripts/launch.cjs) if an input changed since the last build, so
    // that no timed run includes the one-off esbuild build: usage errors exit before any request.
    spawnSync(cli[0], cli.slice(1), { cwd: PROJECT_ROOT, env, stdio: "ignore" });
    const results: Record<Tool, { small: Measured[]; large: Measured[] }> = {
      cli: { small: [], large: [] },
      rclone: { small: [], large: [] },
    };
    for (let round_ = 1; round_ <= runs; round_++) {
      const order: Tool[] = round_ % 2 ? ["cli", "rclone"] : ["rclone", "cli"];
      for (const [workload, prefix] of [
        ["small", "small/"],
        ["large", "large/"],
      ] as const) {
        for (const tool of order) {
          const bucket = `${tool}-${workload}-${round_}`;
          await destination.send(new CreateBucketCommand({ Bucket: bucket }));
          const measured = await run(commandFor(tool, prefix, bucket), tool === "cli" ? env : rcloneEnv, servers);
          if (workload === "small") await check(destination, bucket, prefix, SMALL_OBJECTS, SMALL_BYTES);
          else await check(destination, bucket, prefix, 1, LARGE_BYTES);
          results[tool][workload].push(measured);
          progress(
            `migrate vs rclone, run ${round_}/${runs}, ${workload}, ${tool}: ${measured.seconds.toFixed(2)} s, ` +
              `peak RSS ${((measured.peakRssBytes ?? 0) / 1e6).toFixed(0)} MB, server CPU ${measured.serverCpuSeconds.join("/")} s`,
          );
        }
      }
    }
    const figures = (tool: Tool) => {
      const { small, large } = results[tool];
      const peaks = [...small, ...large].flatMap((measured) => measured.peakRssBytes ?? []);
      return {
        ...sampleFigures(
          small.map((measured, index) => ({
            smallObjectsPerSecond: SMALL_OBJECTS / measured.seconds,
            smallMegabytesPerSecond: (SMALL_OBJECTS * SMALL_BYTES) / 1e6 / measured.seconds,
            smallSeconds: measured.seconds,
            largeMegabytesPerSecond: LARGE_BYTES / 1e6 / large[index].seconds,
            largeSeconds: large[index].seconds,
            // Source and destination s3rver CPU seconds: near the wall time, the server was the bottleneck.
            sourceServerCpuSecondsSmall: measured.serverCpuSeconds[0],
            destinationServerCpuSecondsSmall: measured.serverCpuSeconds[1],
            sourceServerCpuSecondsLarge: large[index].serverCpuSeconds[0],
            destinationServerCpuSecondsLarge: large[index].serverCpuSeconds[1],
          })),
          2,
        ),
        // The highest peak of the runs (GNU time's %M; null without /usr/bin/time).
        peakRssMegabytes: peaks.length ? round(Math.max(...peaks) / 1e6, 1) : null,
      };
    };
    const cliFigures = figures("cli");
    const rcloneFigures = figures("rclone");
    return {
      rclone: version,
      workload: {
        smallObjects: SMALL_OBJECTS,
        smallBytesEach: SMALL_BYTES,
        largeBytes: LARGE_BYTES,
        transfers: TRANSFERS,
      },
      runs,
      cli: cliFigures,
      rcloneFigures,
      ratios: {
        // Of the medians.
        smallObjectsPerSecond: round(
          cliFigures.smallObjectsPerSecond.median / rcloneFigures.smallObjectsPerSecond.median,
          2,
        ),
        largeMegabytesPerSecond: round(
          cliFigures.largeMegabytesPerSecond.median / rcloneFigures.largeMegabytesPerSecond.median,
          2,
        ),
      },
      goal: "ratios ≥ 1 (CLI / rclone)",
    };
  } finally {
    for (const server of servers) server.stop();
    rmSync(configDirectory, { recursive: true, force: true });
  }
}

/** The comparison alone (`npm run bench -- --only migrateVsRclone`). */
export const migrateVsRcloneSection = ({ runs }: { readonly runs: number }) => migrateVsRclone(runs);
