/**
 * Image processing (issues 5 and 12): the container server (`functions/image/server.ts`, bundled and
 * run as its container runs it, a child process) under wrk at 2 and 20 connections, each
 * measurement between two halves of bare sharp doing the same work with the same parallelism (same
 * output format, quality and effort) in a worker process started with the server's environment
 * (scripts/bench/image-bare.ts), so that every ratio comes from one interleaved run on the same
 * machine (`--runs N`: N such measurements per operation and connection count, each figure reported
 * over them). Both are warmed up on each operation first (steady state: V8 has compiled the hot code).
 * The server reads its source from S3's stand-in (image-source.ts), a `node:http` server in a
 * process of its own answering every GET with the same buffer at little CPU. CPU per image is split
 * by thread: the event loop, libvips' workers, and the rest.
 */
import { execFile, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import sharp from "sharp";
import { localAwsEnv } from "../../testing/local-servers";
import { BUILD_DIR, PROJECT_ROOT } from "../../config";
import { imageFonts } from "../../packaging/font-package";
import { FONTS_CONF } from "../../functions/image/fonts";
import { OPERATIONS, type BareRequest, type BareResult } from "./image-bare";
import { startSourceStandIn } from "./image-source";
import {
  cpuSeconds,
  forkWorker,
  progress,
  repeat,
  round,
  sampleFigures,
  threadCpuMs,
  threadCpuPerImage,
  type BenchSection,
  type ThreadCpu,
} from "./support";
import {
  ENVIRONMENT,
  FONTCONFIG_FILE_VARIABLE,
  MALLOC_ARENAS,
  SERVER_ENVIRONMENT,
} from "../../functions/image/environment";

const CONNECTIONS = [2, 20] as const;
const SECONDS_PER_MEASURE = 6;
/** Unmeasured load on each operation before its first measurement, on the server and on bare sharp. */
const WARM_UP_SECONDS = 3;
const WARM_UP_CONNECTIONS = 20;
const SOURCE_QUALITY = 90;
const GOAL_RATIO = 0.8;
const GOAL_PEAK_RSS_MB = 300;
/** Node flags for the server process (space-separated). */
const SERVER_NODE_ARGS_VARIABLE = "IMAGE_BENCH_SERVER_NODE_ARGS";
/** A file for the server's stdout (its request log, and what node flags such as `--trace-gc` print). */
const SERVER_LOG_VARIABLE = "IMAGE_BENCH_SERVER_LOG";
/** Operations to measure, by name, comma-separated (e.g. `thumbnail,text watermark`). @default all */
const OPERATIONS_VARIABLE = "IMAGE_BENCH_OPERATIONS";
/** Set by localAwsEnv for s3rver; unset in production. */
const RESPONSE_CHECKSUM_VARIABLE = "AWS_RESPONSE_CHECKSUM_VALIDATION";

/** 1920x1280 JPEG with texture: noise softened so that it compresses like a photograph. */
async function fixture(): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width: 1920,
      height: 1280,
      channels: 3,
      background: "#000000",
      noise: { type: "gaussian", mean: 128, sigma: 60 },
    },
  })
    .blur(1.2)
    .png()
    .toBuffer();
  return sharp(noise).jpeg({ quality: SOURCE_QUALITY }).toBuffer();
}

/** A memory figure of a process from /proc (`VmRSS` now, `VmHWM` its peak), in MB. */
function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

/**
 * The server as its container runs it (functions/image/Dockerfile): one minified esbuild bundle with
 * sharp left external, under `--enable-source-maps`. Written below the project, where `sharp` resolves.
 */
function buildServer(): string {
  const outfile = join(BUILD_DIR, "bench", "image-server.js");
  buildSync({
    entryPoints: [join(PROJECT_ROOT, "functions/image/server.ts")],
    bundle: true,
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    format: "cjs",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: ["sharp"],
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

/** Bare sharp in its worker process (image-bare.ts), one request at a time. */
function bareWorker(env: NodeJS.ProcessEnv, sourcePath: string) {
  const { child, stop } = forkWorker("scripts/bench/image-bare.ts", ["--serve", sourcePath], env);
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the bare sharp worker exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (message: T & { error?: string }) => {
        child.off("exit", onExit);
        if (message.error) reject(new Error(`bare sharp: ${message.error}`));
        else resolve(message);
      });
    });
  const ready = next<{ ready: true }>();
  return {
    ready,
    run: (request: BareRequest) => {
      const answer = next<BareResult>();
      child.send(request);
      return answer;
    },
    /** Closing the IPC channel ends the worker (it exits on disconnect). */
    stop,
  };
}

/** Two measurements of bare sharp as one: images over seconds, CPU per image weighted by images. */
function combineBareRuns(first: BareResult, second: BareResult): BareResult {
  const images = first.images + second.images;
  const seconds = first.seconds + second.seconds;
  const perImage = (a: number, b: number) => (a * first.images + b * second.images) / images;
  return {
    images,
    seconds,
    cpuMsPerImage: perImage(first.cpuMsPerImage, second.cpuMsPerImage),
    threads: {
      eventLoop: perImage(first.threads.eventLoop, second.threads.eventLoop),
      libvips: perImage(first.threads.libvips, second.threads.libvips),
      other: perImage(first.threads.other, second.threads.other),
    },
  };
}

/** One measurement of the load generator. */
interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Answers other than 2xx or 3xx. */
  readonly non2xx: number;
  /** Connections refused or broken, and requests unanswered within LOAD_TIMEOUT_SECONDS. */
  readonly errors: number;
  /** CPU the load generator spent. */
  readonly cpuMs: number;
}

/** Seconds a request may take before wrk counts it as an error (its default, 2 s, is below an AVIF's p99). */
const LOAD_TIMEOUT_SECONDS = 30;

const WRK_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/**
 * `connections` keep-alive connections, each sending its next request when answered, for `seconds`:
 * wrk (Debian's `wrk`), one thread. It costs the shared cores a tenth of the CPU per request that
 * autocannon did (about 1 ms per image there, counted against the server). Its CPU comes from the
 * shell's `times` (the children's user and system time).
 */
async function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const command = `wrk -t1 -c${connections} -d${seconds}s --latency --timeout ${LOAD_TIMEOUT_SECONDS}s "$0"; times`;
  const output = await new Promise<string>((resolve, reject) =>
    execFile("bash", ["-c", command, url], (error, stdout, stderr) =>
      error
        ? reject(new Error(`wrk failed (is Debian's wrk installed?): ${stderr || error.message}`))
        : resolve(stdout),
    ),
  );
  const duration = (value: string, unit: string) => Number(value) * WRK_UNITS_MS[unit];
  const percentile = (at: number) => {
    const match = new RegExp(`^\\s+${at}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    if (!match) throw new Error(`wrk printed no ${at}th percentile:\n${output}`);
    return duration(match[1], match[2]);
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(output);
  if (!total) throw new Error(`wrk printed no request count:\n${output}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  // `times`: the shell's user and system time, then its children's (wrk's), e.g. "0m1.234s 0m0.567s".
  const children = [...output.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].at(-1);
  if (!children) throw new Error(`no CPU times after wrk:\n${output}`);
  const cpuSeconds = Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]);
  return {
    requests: Number(total[1]),
    seconds: duration(total[2], total[3]) / 1000,
    latencyP50Ms: percentile(50),
    latencyP99Ms: percentile(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    errors: socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    cpuMs: cpuSeconds * 1000,
  };
}

const describeThreads = (threads: ThreadCpu) =>
  `event loop ${threads.eventLoop.toFixed(1)} / libvips ${threads.libvips.toFixed(1)} / other ${threads.other.toFixed(1)}`;

export const image: BenchSection = async ({ runs }) => {
  const fontsConf = join(imageFonts(), FONTS_CONF);
  const source = await fixture();
  progress(`image: fixture 1920x1280 JPEG, ${source.length} bytes`);
  const fixtureDirectory = mkdtempSync(join(tmpdir(), "s3-edge-image-bench-"));
  const sourcePath = join(fixtureDirectory, "photo.jpg");
  writeFileSync(sourcePath, source);
  const standIn = await startSourceStandIn(sourcePath);
  // e.g. IMAGE_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": a profile of the server under the bench.
  const nodeArgs = (process.env[SERVER_NODE_ARGS_VARIABLE] ?? "").split(/\s+/).filter(Boolean);
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...localAwsEnv(standIn.endpoint),
    [ENVIRONMENT.sourceBucket]: "bench-images",
    [SERVER_ENVIRONMENT.port]: "0",
    [FONTCONFIG_FILE_VARIABLE]: fontsConf,
    // What both runtimes ship with.
    [MALLOC_ARENAS.variable]: MALLOC_ARENAS.value,
  };
  // The test servers' setting (s3rver), not production's: the server reads as its own S3 client is configured.
  delete env[RESPONSE_CHECKSUM_VARIABLE];
  const bare = bareWorker(env, sourcePath);
  const child = spawn(process.execPath, [...nodeArgs, "--enable-source-maps", buildServer()], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"message":"listening".*"port":(\d+)/.exec(output);
        if (match) {
          child.stdout!.off("data", onData);
          resolve(Number(match[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.once("exit", (code) => reject(new Error(`image server exited (${code}) before listening`)));
      setTimeout(() => reject(new Error("image server did not report listening within 60 s")), 60_000).unref();
    });
    // Production logging stays on (one JSON line per request): drain it, or keep it where asked.
    const log = process.env[SERVER_LOG_VARIABLE];
    if (log) child.stdout!.pipe(createWriteStream(log));
    else child.stdout!.resume();
    await bare.ready;
    const results = [];
    const chosen = process.env[OPERATIONS_VARIABLE]?.split(",").map((name) => name.trim());
    const unknown = chosen?.filter((name) => !OPERATIONS.some((operation) => operation.name === name));
    if (unknown?.length) throw new Error(`${OPERATIONS_VARIABLE}: no operation named ${unknown.join(", ")}`);
    for (const operation of OPERATIONS.filter((candidate) => !chosen || chosen.includes(candidate.name))) {
      const url = `http://127.0.0.1:${port}/photo.jpg?x-oss-process=${operation.process}`;
      // Warm-up: the first text render loads the fonts; the first AVIF encode its codec.
      const warm = await fetch(url);
      if (!warm.ok) throw new Error(`${operation.name}: the server answered ${warm.status}: ${await warm.text()}`);
      const reference = Buffer.from(await warm.arrayBuffer());
      const bareOutput = Buffer.from(
        (await bare.run({ operation: operation.name, parallelism: 1, seconds: 0 })).output!,
        "base64",
      );
      const [served, bareImage] = await Promise.all([sharp(reference).metadata(), sharp(bareOutput).metadata()]);
      const sizes = `${served.format} ${served.width}x${served.height} ${reference.length} B vs bare ${bareImage.format} ${bareImage.width}x${bareImage.height} ${bareOutput.length} B`;
      if (served.format !== bareImage.format || served.width !== bareImage.width || served.height !== bareImage.height)
        throw new Error(`${operation.name}: the server and bare sharp do different work (${sizes})`);
      const warmUp = await load(url, WARM_UP_CONNECTIONS, WARM_UP_SECONDS);
      if (warmUp.non2xx || warmUp.errors) throw new Error(`${operation.name}: the server failed during its warm-up`);
      await bare.run({ operation: operation.name, parallelism: WARM_UP_CONNECTIONS, seconds: WARM_UP_SECONDS });
      for (const connections of CONNECTIONS) {
        let non2xx = 0;
        let errors = 0;
        // Bare sharp for half a measurement, the server, bare sharp again, `runs` times: each ratio
        // compares the server with bare sharp around it, so that a drift in the shared machine's
        // speed during a run (bare sharp moved by up to 30% between neighbouring runs) cancels out.
        const runsFigures = await repeat(runs, async (run) => {
          const bareRequest = { operation: operation.name, parallelism: connections, seconds: SECONDS_PER_MEASURE / 2 };
          const bareBefore = await bare.run(bareRequest);
          const serverCpu = cpuSeconds(child.pid!) ?? NaN;
          const serverThreads = threadCpuMs(child.pid!);
          const standInCpu = cpuSeconds(standIn.pid) ?? NaN;
          let serverRssMb = 0;
          const sampling = setInterval(() => {
            // A server that died mid-run shows as wrk's socket errors, reported below.
            if (child.exitCode === null && child.signalCode === null)
              serverRssMb = Math.max(serverRssMb, memoryMb(child.pid!, "VmRSS"));
          }, 100);
          const server = await load(url, connections, SECONDS_PER_MEASURE).finally(() => clearInterval(sampling));
          const images = server.requests;
          const serverCpuMsPerImage = (((cpuSeconds(child.pid!) ?? NaN) - serverCpu) * 1000) / images;
          const serverThreadsPerImage = threadCpuPerImage(serverThreads, threadCpuMs(child.pid!), images);
          const loadCpuMsPerImage = (server.cpuMs + ((cpuSeconds(standIn.pid) ?? NaN) - standInCpu) * 1000) / images;
          const bareRun = combineBareRuns(bareBefore, await bare.run(bareRequest));
          const serverRate = images / server.seconds;
          const bareRate = bareRun.images / bareRun.seconds;
          non2xx += server.non2xx;
          errors += server.errors;
          progress(
            `image: ${operation.name} at ${connections}, run ${run}/${runs}: server ${serverRate.toFixed(1)}/s, bare ${bareRate.toFixed(1)}/s (${(serverRate / bareRate).toFixed(2)}x), p99 ${server.latencyP99Ms.toFixed(0)} ms; ` +
              `CPU ms per image: server ${serverCpuMsPerImage.toFixed(1)} (${describeThreads(serverThreadsPerImage)}) + load generator and stand-in ${loadCpuMsPerImage.toFixed(1)}, ` +
              `bare ${bareRun.cpuMsPerImage.toFixed(1)} (${describeThreads(bareRun.threads)}); ` +
              `server RSS up to ${serverRssMb.toFixed(0)} MB`,
          );
          return {
            serverImagesPerSecond: serverRate,
            bareSharpImagesPerSecond: bareRate,
            ratio: serverRate / bareRate,
            latencyP50Ms: server.latencyP50Ms,
            latencyP99Ms: server.latencyP99Ms,
            serverCpuMsPerImage,
            serverThreadCpuMsPerImage: serverThreadsPerImage,
            loadGeneratorCpuMsPerImage: loadCpuMsPerImage,
            bareSharpCpuMsPerImage: bareRun.cpuMsPerImage,
            bareSharpThreadCpuMsPerImage: bareRun.threads,
            serverPeakRssMb: serverRssMb,
          };
        });
        const figures = sampleFigures(runsFigures, 3);
        results.push({
          operation: operation.name,
          process: operation.process,
          connections,
          ...figures,
          meetsGoal: figures.ratio.median >= GOAL_RATIO,
          non2xx,
          errors,
          outputBytes: reference.length,
          bareOutputBytes: bareOutput.length,
        });
      }
    }
    const peakRssMb = round(memoryMb(child.pid!, "VmHWM"), 1);
    return {
      fixtureBytes: source.length,
      source: "node:http stand-in for S3 on loopback (same machine)",
      secondsPerMeasure: SECONDS_PER_MEASURE,
      warmUpSeconds: WARM_UP_SECONDS,
      runs,
      goalRatio: GOAL_RATIO,
      results,
      peakRssMb,
      meetsRssGoal: peakRssMb <= GOAL_PEAK_RSS_MB,
      allGoalsMet:
        results.every((result) => result.meetsGoal && result.non2xx === 0 && result.errors === 0) &&
        peakRssMb <= GOAL_PEAK_RSS_MB,
    };
  } finally {
    // A server that failed to start (e.g. a bad IMAGE_BENCH_SERVER_NODE_ARGS) has exited already.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await bare.stop();
    await standIn.stop();
    rmSync(fixtureDirectory, { recursive: true, force: true });
  }
};
