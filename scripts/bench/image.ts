/**
 * Image processing (issues 5 and 12): the container server (`functions/image/server.ts`, a child
 * process) under autocannon at 2 and 20 connections, each measurement followed by bare sharp doing
 * the same work with the same parallelism in this process (same output format, quality and effort),
 * so that every ratio comes from one interleaved run on the same machine. The server reads its
 * source through the S3 SDK from a stand-in that costs little CPU: a `node:http` server answering
 * every GET with the same buffer.
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
import { DEFAULT_QUALITY } from "../../functions/image/engine";
import { FONTCONFIG_FILE_VARIABLE, FONTS_CONF, fontFamily } from "../../functions/image/fonts";
import { progress, round, type BenchSection } from "./support";
import { MALLOC_ARENAS } from "../../functions/image/environment";

const CONNECTIONS = [2, 20] as const;
const SECONDS_PER_MEASURE = 6;
const SOURCE_QUALITY = 90;
const GOAL_RATIO = 0.8;
const GOAL_PEAK_RSS_MB = 300;
const WATERMARK_TEXT = "s3-edge 图片";
const { webpQuality, webpEffort, avifQuality, avifEffort } = DEFAULT_ENCODER_SETTINGS;

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

/** Images per second with `parallelism` loops running `work` for a fixed time. */
async function throughput(work: () => Promise<unknown>, parallelism: number): Promise<number> {
  const deadline = performance.now() + SECONDS_PER_MEASURE * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (performance.now() < deadline) {
        await work();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** The S3 stand-in: every GET is the object, at next to no CPU (unlike s3rver, which reads a file per request). */
async function startSourceStub(body: Buffer): Promise<{ endpoint: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, {
      "content-type": "image/jpeg",
      "content-length": String(body.length),
      etag: '"bench"',
      "last-modified": new Date(0).toUTCString(),
    });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export const image: BenchSection = async () => {
  const fontsConf = join(imageFonts(), FONTS_CONF);
  // Both processes render text with the shipped fonts only (read by fontconfig at its first use).
  process.env[FONTCONFIG_FILE_VARIABLE] = fontsConf;
  const source = await fixture();
  progress(`image: fixture 1920x1280 JPEG, ${source.length} bytes`);
  const stub = await startSourceStub(source);
  const child = spawn(process.execPath, ["--import", "tsx", "functions/image/server.ts"], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ...localAwsEnv(stub.endpoint),
      SOURCE_BUCKET: "bench-images",
      PORT: "0",
      [FONTCONFIG_FILE_VARIABLE]: fontsConf,
      // What both runtimes ship with.
      [MALLOC_ARENAS.variable]: MALLOC_ARENAS.value,
    },
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
        const server = await autocannon({ url, connections, duration: SECONDS_PER_MEASURE });
        const bareRate = await throughput(() => operation.bare(source), connections);
        const serverRate = server.requests.total / (server.duration || SECONDS_PER_MEASURE);
        const ratio = serverRate / bareRate;
        progress(
          `image: ${operation.name} at ${connections}: server ${serverRate.toFixed(1)}/s, bare ${bareRate.toFixed(1)}/s (${ratio.toFixed(2)}x), p99 ${server.latency.p99} ms`,
        );
        results.push({
          operation: operation.name,
          process: operation.process,
          connections,
          serverImagesPerSecond: round(serverRate, 1),
          bareSharpImagesPerSecond: round(bareRate, 1),
          ratio: round(ratio, 3),
          meetsGoal: ratio >= GOAL_RATIO,
          latencyP50Ms: server.latency.p50,
          latencyP99Ms: server.latency.p99,
          non2xx: server.non2xx,
          errors: server.errors,
          outputBytes: reference.length,
          bareOutputBytes: bareOutput.length,
        });
      }
    }
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const peakRssMb = round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024, 1);
    return {
      fixtureBytes: source.length,
      source: "node:http stand-in for S3 on loopback (same machine)",
      secondsPerMeasure: SECONDS_PER_MEASURE,
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
