/**
 * Bare sharp for the image bench (scripts/bench/image.ts): the pipelines that produce the server's
 * output for each operation, and a worker process that runs them. The worker is started with the
 * server's environment (glibc malloc arenas, fonts) and libvips settings, so that the two differ
 * only in what the server adds: HTTP, the S3 read, parsing, limits, logging.
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { DEFAULT_ENCODER_SETTINGS } from "../../functions/image/encoders";
import { configureImageRuntime, DEFAULT_QUALITY } from "../../functions/image/engine";
import { fontFamily } from "../../functions/image/fonts";
import { threadCpuMs, threadCpuPerImage, type ThreadCpu } from "./support";

const WATERMARK_TEXT = "s3-edge 图片";
const { webpQuality, webpEffort, avifQuality, avifEffort } = DEFAULT_ENCODER_SETTINGS;

export interface ImageOperation {
  readonly name: string;
  /** The server's `x-oss-process`. */
  readonly process: string;
  /** Bare sharp producing the same image (format, size, quality, effort). */
  readonly bare: (source: Buffer) => Promise<Buffer>;
}

/** The operations of issue 12, each with the bare sharp pipeline that produces the same image. */
export const OPERATIONS: readonly ImageOperation[] = [
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

/** What the bench asks the worker: run one operation with this parallelism for this long (0: once, for its output). */
export interface BareRequest {
  readonly operation: string;
  readonly parallelism: number;
  readonly seconds: number;
}

export interface BareResult {
  /** Images done, and the seconds they took. */
  readonly images: number;
  readonly seconds: number;
  readonly cpuMsPerImage: number;
  /** CPU ms per image by thread kind. */
  readonly threads: ThreadCpu;
  /** The output of one run, base64 (for the bench to compare with the server's). */
  readonly output?: string;
}

/**
 * Images done (and the seconds they took) by `parallelism` loops running `work` for `seconds`, and
 * the CPU this process spent per image (libvips' threads included), split by thread kind.
 */
async function throughput(work: () => Promise<unknown>, parallelism: number, seconds: number): Promise<BareResult> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  const threadsBefore = threadCpuMs(process.pid);
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (performance.now() < deadline) {
        await work();
        done++;
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpu);
  const threadsAfter = threadCpuMs(process.pid);
  return {
    images: done,
    seconds: (performance.now() - started) / 1000,
    cpuMsPerImage: (user + system) / 1000 / done,
    threads: threadCpuPerImage(threadsBefore, threadsAfter, done),
  };
}

/** The worker: reads the fixture from the path in argv, answers BareRequests over IPC until disconnected. */
function serve(sourcePath: string): void {
  configureImageRuntime();
  const source = readFileSync(sourcePath);
  process.on("message", (request: BareRequest) => {
    const operation = OPERATIONS.find((candidate) => candidate.name === request.operation)!;
    const answer =
      request.seconds === 0
        ? operation.bare(source).then((output) => ({ output: output.toString("base64") }))
        : throughput(() => operation.bare(source), request.parallelism, request.seconds);
    answer.then(
      (result) => process.send!(result),
      (error: Error) => process.send!({ error: error.message }),
    );
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ ready: true });
}

if (process.send && process.argv[2] === "--serve") serve(process.argv[3]);
