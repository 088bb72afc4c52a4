/**
 * Image processing (issues 5 and 12): the container server (`functions/image/server.ts`, a child
 * process) under autocannon at 2 and 20 connections, each measurement followed by bare sharp doing
 * the same work with the same parallelism in this process (same output format, quality and effort),
 * so that every ratio comes from one interleaved run on the same machine (`--runs N`: N such pairs per
 * operation and connection count, each figure reported over them). The server reads its
 * source through the S3 SDK from a stand-in that costs little CPU: a `node:http` server answering
 * every GET with the same buffer. Bare sharp runs with the server's libvips settings (configureSharp
 * in functions/image/engine.ts: no operation cache).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import autocannon from "autocannon";
import sharp from "sharp";
import { localAwsEnv } from "../../testing/local-servers";
import { PROJECT_ROOT } from "../../config";
import { imageFonts } from "../../packaging/font-package";
import { DEFAULT_ENCODER_SETTINGS } from "../../functions/image/encoders";
import { configureSharp, DEFAULT_QUALITY } from "../../functions/image/engine";
import { FONTS_CONF, fontFamily } from "../../functions/image/fonts";
import { cpuSeconds, progress, repeat, round, sampleFigures, type BenchSection } from "./support";
import {
  ENVIRONMENT,
  FONTCONFIG_FILE_VARIABLE,
  MALLOC_ARENAS,
  SERVER_ENVIRONMENT,
} from "../../functions/image/environment";

const CONNECTIONS = [2, 20] as const;
const SECONDS_PER_MEASURE = 6;
const SOURCE_QUALITY = 90;
const GOAL_RATIO = 0.8;
const GOAL_PEAK_RSS_MB = 300;
const WATERMARK_TEXT = "s3-edge 图片";
const { webpQuality, webpEffort, avifQuality, avifEffort } = DEFAULT_ENCODER_SETTINGS;
/** Node flags for the server process (space-separated). */
const SERVER_NODE_ARGS_VARIABLE = "IMAGE_BENCH_SERVER_NODE_ARGS";
/** Set by localAwsEnv for s3rver; unset in production. */
const RESPONSE_CHECKSUM_VARIABLE = "AWS_RESPONSE_CHECKSUM_VALIDATION";

/** The operations of issue 12, each with the bare sharp pipeline that produces the same image. */
const OPERATIONS: Array<{ name: string; process: string; bare: (source: Buffer) => Promise<Buffer> }> = [
  {
    name: "thumbnail",
    process: "image/resize,w_200,h_100/quality,q_50",
    // lfit into 200x100, quality 50% of the source's 90.
    bare: (source) => sharp(source).resize(200, 100, { fit: "inside" }).jpeg({ quality: 45 }).toBuffer(),
  },
  {
    name: "chain",
    process: "image/resize,w_800/crop,w_400,h_400,g_center/rotate,90/format,webp",
    // 1920x1280 → 800x533, centre 400x400 at (200, 66), rotated. sharp rotates before its
    // post-resize extract, so the box is given in the rotated 533x800 frame.
    bare: (source) =>
      sharp(source)
        .resize(800)
        .rotate(90)
        .extract({ left: 67, top: 200, width: 400, height: 400 })
        .webp({ quality: webpQuality, effort: webpEffort })
        .toBuffer(),
  },
  {
    name: "webp",
    process: "image/resize,w_400/format,webp",
    bare: (source) => sharp(source).resize(400).webp({ quality: webpQuality, effort: webpEffort }).toBuffer(),
  },
  {
    name: "avif",
    process: "image/resize,w_400/format,avif",
    bare: (source) => sharp(source).resize(400).avif({ quality: avifQuality, effort: avifEffort }).toBuffer(),
  },
  {
    name: "text watermark",
    process: `image/resize,w_800/watermark,text_${Buffer.from(WATERMARK_TEXT).toString("base64url")},color_FFFFFF,size_40,g_se,x_10,y_10`,
    // The text drawn by sharp (Pango) with the default font, composited 10 px from the bottom right.
    bare: async (source) => {
      const text = await sharp({
        text: {
          text: `<span foreground="#FFFFFF">${WATERMARK_TEXT}</span>`,
          font: `${fontFamily(undefined)} 40`,
          dpi: 72,
          rgba: true,
        },
      })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const { width, height } = text.info;
      return sharp(source)
        .resize(800)
        .composite([
          { input: text.data, raw: { width, height, channels: 4 }, left: 800 - width - 10, top: 533 - height - 10 },
        ])
        .jpeg({ quality: DEFAULT_QUALITY })
        .toBuffer();
    },
  },
];

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

/**
 * Images per second with `parallelism` loops running `work` for a fixed time, and the CPU this
 * process spent per image (libvips' threads included).
 */
async function throughput(
  work: () => Promise<unknown>,
  parallelism: number,
): Promise<{ imagesPerSecond: number; cpuMsPerImage: number }> {
  const deadline = performance.now() + SECONDS_PER_MEASURE * 1000;
  let done = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (performance.now() < deadline) {
        await work();
        done++;
      }
    }),
  );
  return { imagesPerSecond: done / ((performance.now() - started) / 1000), cpuMsPerImage: cpuMs(cpu) / done };
}

/** A memory figure of a process from /proc (`VmRSS` now, `VmHWM` its peak), in MB. */
function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

/** CPU milliseconds (user + system) this process spent since `since`. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

/**
 * S3's CRC64NVME (the full-object checksum S3 computes for objects uploaded without one), so that
 * the stand-in answers `x-amz-checksum-mode: ENABLED` with the header S3 sends.
 */
function crc64Nvme(data: Uint8Array): string {
  const polynomial = 0x9a6c9329ac4bc9b5n;
  const table = Array.from({ length: 256 }, (_, index) => {
    let crc = BigInt(index);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ polynomial : crc >> 1n;
    return crc;
  });
  let crc = 0xffffffffffffffffn;
  for (const byte of data) crc = table[Number((crc ^ BigInt(byte)) & 0xffn)] ^ (crc >> 8n);
  const digest = Buffer.alloc(8);
  digest.writeBigUInt64BE(crc ^ 0xffffffffffffffffn);
  return digest.toString("base64");
}

/**
 * The S3 stand-in: every GET is the object, at next to no CPU (unlike s3rver, which reads a file per
 * request), with the checksum headers S3 sends when asked for them, so that the server pays for
 * whatever its SDK client does with them.
 */
async function startSourceStub(body: Buffer): Promise<{ endpoint: string; server: Server }> {
  const checksum = crc64Nvme(body);
  const server = createServer((request, response) => {
    request.resume();
    const checksumHeaders =
      String(request.headers["x-amz-checksum-mode"]).toUpperCase() === "ENABLED"
        ? { "x-amz-checksum-crc64nvme": checksum, "x-amz-checksum-type": "FULL_OBJECT" }
        : {};
    response.writeHead(200, {
      "content-type": "image/jpeg",
      "content-length": String(body.length),
      etag: '"bench"',
      "last-modified": new Date(0).toUTCString(),
      ...checksumHeaders,
    });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export const image: BenchSection = async ({ runs }) => {
  configureSharp();
  const fontsConf = join(imageFonts(), FONTS_CONF);
  // Both processes render text with the shipped fonts only (read by fontconfig at its first use).
  process.env[FONTCONFIG_FILE_VARIABLE] = fontsConf;
  const source = await fixture();
  progress(`image: fixture 1920x1280 JPEG, ${source.length} bytes`);
  const stub = await startSourceStub(source);
  // e.g. IMAGE_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": a profile of the server under the bench.
  const nodeArgs = (process.env[SERVER_NODE_ARGS_VARIABLE] ?? "").split(/\s+/).filter(Boolean);
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...localAwsEnv(stub.endpoint),
    [ENVIRONMENT.sourceBucket]: "bench-images",
    [SERVER_ENVIRONMENT.port]: "0",
    [FONTCONFIG_FILE_VARIABLE]: fontsConf,
    // What both runtimes ship with.
    [MALLOC_ARENAS.variable]: MALLOC_ARENAS.value,
  };
  // The test servers' setting (s3rver), not production's: the server reads as its own S3 client is configured.
  delete env[RESPONSE_CHECKSUM_VARIABLE];
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "functions/image/server.ts"], {
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
    // Production logging stays on (one JSON line per request): drain it.
    child.stdout!.resume();
    const results = [];
    for (const operation of OPERATIONS) {
      const url = `http://127.0.0.1:${port}/photo.jpg?x-oss-process=${operation.process}`;
      // Warm-up: the first text render loads the fonts; the first AVIF encode its codec.
      const warm = await fetch(url);
      if (!warm.ok) throw new Error(`${operation.name}: the server answered ${warm.status}: ${await warm.text()}`);
      const reference = Buffer.from(await warm.arrayBuffer());
      const bareOutput = await operation.bare(source);
      const [served, bare] = await Promise.all([sharp(reference).metadata(), sharp(bareOutput).metadata()]);
      const sizes = `${served.format} ${served.width}x${served.height} ${reference.length} B vs bare ${bare.format} ${bare.width}x${bare.height} ${bareOutput.length} B`;
      if (served.format !== bare.format || served.width !== bare.width || served.height !== bare.height)
        throw new Error(`${operation.name}: the server and bare sharp do different work (${sizes})`);
      for (const connections of CONNECTIONS) {
        let non2xx = 0;
        let errors = 0;
        // Server then bare sharp, `runs` times: every ratio compares two neighbouring measurements.
        const runsFigures = await repeat(runs, async (run) => {
          const serverCpu = cpuSeconds(child.pid!) ?? NaN;
          const benchCpu = process.cpuUsage();
          let serverRssMb = 0;
          const sampling = setInterval(() => (serverRssMb = Math.max(serverRssMb, memoryMb(child.pid!, "VmRSS"))), 100);
          const server = await autocannon({ url, connections, duration: SECONDS_PER_MEASURE });
          clearInterval(sampling);
          const images = server.requests.total;
          const serverCpuMsPerImage = (((cpuSeconds(child.pid!) ?? NaN) - serverCpu) * 1000) / images;
          const loadCpuMsPerImage = cpuMs(benchCpu) / images;
          const bare = await throughput(() => operation.bare(source), connections);
          const serverRate = images / (server.duration || SECONDS_PER_MEASURE);
          const bareRate = bare.imagesPerSecond;
          non2xx += server.non2xx;
          errors += server.errors;
          progress(
            `image: ${operation.name} at ${connections}, run ${run}/${runs}: server ${serverRate.toFixed(1)}/s, bare ${bareRate.toFixed(1)}/s (${(serverRate / bareRate).toFixed(2)}x), p99 ${server.latency.p99} ms; ` +
              `CPU ms per image: server ${serverCpuMsPerImage.toFixed(1)} + load generator and stand-in ${loadCpuMsPerImage.toFixed(1)}, bare ${bare.cpuMsPerImage.toFixed(1)}; ` +
              `server RSS up to ${serverRssMb.toFixed(0)} MB`,
          );
          return {
            serverImagesPerSecond: serverRate,
            bareSharpImagesPerSecond: bareRate,
            ratio: serverRate / bareRate,
            latencyP50Ms: server.latency.p50,
            latencyP99Ms: server.latency.p99,
            serverCpuMsPerImage,
            loadGeneratorCpuMsPerImage: loadCpuMsPerImage,
            bareSharpCpuMsPerImage: bare.cpuMsPerImage,
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
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => stub.server.close(resolve));
  }
};
