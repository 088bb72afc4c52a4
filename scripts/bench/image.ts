/**
 * Image processing (issue 5): the engine in process next to a bare sharp pipeline doing the same work,
 * then the container server under autocannon with its peak RSS.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import sharp from "sharp";
import { localAwsEnv, startS3 } from "../../__tests__/support/image-backends";
import { PROJECT_ROOT } from "../../config";
import { ImageEngine } from "../../functions/image/engine";
import { parseProcess } from "../../functions/image/parser";
import { median, progress, round, type BenchSection } from "./support";

const CONCURRENCY = 2;
const SECONDS_PER_MEASURE = 3;
const AUTOCANNON_SECONDS = 8;
const SOURCE_QUALITY = 90;

/** The two operations of the issue, each with the bare sharp pipeline that produces the same image. */
const OPERATIONS: Array<{ process: string; bare: (source: Buffer) => Promise<Buffer> }> = [
  {
    process: "image/resize,w_200,h_100/quality,q_50",
    // lfit into 200x100, quality 50% of the source's 90.
    bare: (source) => sharp(source).resize(200, 100, { fit: "inside" }).jpeg({ quality: 45 }).toBuffer(),
  },
  {
    process: "image/resize,w_800/crop,w_400,h_400,g_center/rotate,90/format,webp",
    // 1920x1280 → 800x533, centre 400x400 at (200, 66), rotated, WebP at the default quality 85. sharp
    // rotates before its post-resize extract, so the box is given in the rotated 533x800 frame.
    bare: (source) =>
      sharp(source)
        .resize(800)
        .rotate(90)
        .extract({ left: 67, top: 200, width: 400, height: 400 })
        .webp({ quality: 85 })
        .toBuffer(),
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

/** Images per second with `CONCURRENCY` loops running `work` for a fixed time. */
async function throughput(work: () => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + SECONDS_PER_MEASURE * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await work();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export const image: BenchSection = async ({ runs }) => {
  const source = await fixture();
  progress(`image: fixture 1920x1280 JPEG, ${source.length} bytes`);
  const engine = new ImageEngine();
  const inProcess = [];
  for (const operation of OPERATIONS) {
    const spec = parseProcess(operation.process);
    if (spec.kind !== "actions") throw new Error("bench operations are action lists");
    const engineRates: number[] = [];
    const bareRates: number[] = [];
    for (let run = 0; run < runs; run++) {
      engineRates.push(await throughput(() => engine.process({ source, actions: spec.actions })));
      bareRates.push(await throughput(() => operation.bare(source)));
      progress(
        `image: ${operation.process} run ${run + 1}/${runs}: engine ${engineRates.at(-1)!.toFixed(1)}/s, bare ${bareRates.at(-1)!.toFixed(1)}/s`,
      );
    }
    const engineRate = median(engineRates);
    const bareRate = median(bareRates);
    inProcess.push({
      operation: operation.process,
      concurrency: CONCURRENCY,
      engineImagesPerSecond: round(engineRate, 1),
      bareSharpImagesPerSecond: round(bareRate, 1),
      ratio: round(engineRate / bareRate, 3),
      goalRatio: 0.85,
      meetsGoal: engineRate / bareRate >= 0.85,
    });
  }
  return { fixtureBytes: source.length, inProcess, server: await serverBench(source) };
};

/** `functions/image/server.ts` as a child process reading from s3rver, under autocannon. */
async function serverBench(source: Buffer) {
  const s3 = await startS3(["bench-images"]);
  await s3.put("bench-images", "photo.jpg", source);
  const child = spawn(process.execPath, ["--import", "tsx", "functions/image/server.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...localAwsEnv(s3.endpoint), SOURCE_BUCKET: "bench-images", PORT: "0" },
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
      for (const connections of [2, 20]) {
        const url = `http://127.0.0.1:${port}/photo.jpg?x-oss-process=${operation.process}`;
        const result = await autocannon({ url, connections, duration: AUTOCANNON_SECONDS });
        progress(`image: server ${operation.process} at ${connections} connections: ${result.requests.average} req/s`);
        results.push({
          operation: operation.process,
          connections,
          requestsPerSecond: round(result.requests.average, 1),
          latencyP50Ms: result.latency.p50,
          latencyP99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors,
        });
      }
    }
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return { source: "s3rver on loopback (same machine)", results, peakRssMb: round(peakKb / 1024, 1) };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await s3.close();
  }
}
