/**
 * The container server end to end: real HTTP against the server, sources in s3rver, styles in dynalite,
 * configured through the same environment variables as in production.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import { forwardRequest } from "../../../testing/regional-s3";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import sharp from "sharp";
import { availableParallelism } from "node:os";
import {
  createImageServer,
  defaultMaxConcurrency,
  LIBUV_DEFAULT_THREADPOOL_SIZE,
  type ImageServer,
} from "../../../functions/image/server";
import { createServiceFromEnv, ImageService, servicePropsFromEnv } from "../../../functions/image/service";
import type { ImageSource } from "../../../functions/image/source";
import { ImageFigures } from "../../../functions/image/figures";
import { createMetrics, IMAGE_METRICS, METRICS_NAMESPACE } from "../../../functions/shared/metrics";
import { BAND_COLOURS, bands, jpeg, pixel } from "../../fixtures/image/generate";
import { captureEmf, dimensionSets, figures } from "../../support/emf";
import {
  localAwsEnv,
  putStyle,
  startDynamoDb,
  startS3,
  styleTable,
  type LocalDynamoDb,
  type LocalS3,
} from "../../../testing/local-servers";
import { PROJECT_ROOT } from "../../../config/paths";

const ROOT = PROJECT_ROOT;
const logger = new Logger({ serviceName: "image-server-test", logLevel: "SILENT" });

let s3: LocalS3;
let styles: LocalDynamoDb;
let env: Record<string, string>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startS3(["images", "archive", "private"]);
  styles = await startDynamoDb([styleTable("image-styles")]);
  const photo = await jpeg(400, 300);
  await s3.put("images", "photos/cat.jpg", photo);
  await s3.put("images", "photos/été à la mer.jpg", photo);
  await s3.put("images", "a!b.jpg", photo);
  await s3.put("archive", "old.jpg", await jpeg(64, 64));
  await s3.put("private", "secret.jpg", photo);
  // 600x200 in three 200 px bands, red | green | blue.
  await s3.put("images", "photos/bands.png", await bands(600, 200));
  await putStyle(styles, "image-styles", "thumb", "image/resize,w_50,h_50,m_fill/format,webp");
  // On bands.png: 150x100 whose columns are 25 red, 100 green, 25 blue (the centre of 300x100).
  await putStyle(styles, "image-styles", "strip", "image/resize,w_150,h_100,m_fill");
  await putStyle(styles, "image-styles", "broken", "image/resize,w_0");
  env = {
    ...localAwsEnv(s3.endpoint, styles.endpoint),
    SOURCE_BUCKET: "images",
    SOURCE_BUCKETS: "images,archive",
    STYLE_TABLE: "image-styles",
  };
  Object.assign(process.env, env);
});

afterAll(async () => {
  process.env = savedEnv;
  await s3?.close();
  await styles?.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("image server against s3rver and dynalite", () => {
  let image: ImageServer;
  let base: string;

  beforeAll(async () => {
    image = createImageServer({ service: createServiceFromEnv(process.env, logger), logger });
    base = await listen(image.server);
  });
  afterAll(() => image.shutdown());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const body = async (response: Response) => Buffer.from(await response.arrayBuffer());

  test("GET /ping", async () => {
    const response = await get("/ping");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("GET /<key>?x-oss-process resizes the object", async () => {
    const response = await get("/photos/cat.jpg?x-oss-process=image/resize,w_100/quality,q_50");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/jpeg");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000");
    expect(response.headers.get("vary")).toBeNull();
    const metadata = await sharp(await body(response)).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(["jpeg", 100, 75]);
  });

  test("percent-encoded keys are decoded", async () => {
    const response = await get(`/${encodeURIComponent("photos/été à la mer.jpg")}?x-oss-process=image/rotate,90`);
    expect(response.status).toBe(200);
    expect((await sharp(await body(response)).metadata()).width).toBe(300);
  });

  test.each(["/photos/cat.jpg@!thumb", "/photos/cat.jpg!thumb", "/photos/cat.jpg?x-oss-process=style/thumb"])(
    "style from DynamoDB: %s",
    async (path) => {
      const response = await get(path);
      expect(response.status).toBe(200);
      const metadata = await sharp(await body(response)).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual(["webp", 50, 50]);
    },
  );

  test.each(["@!", "!"])(
    "a path style (%s) with x-oss-process: the style's actions, then the parameter's",
    async (delimiter) => {
      // strip gives 150x100 (25 red, 100 green, 25 blue columns); the crop then keeps its left 50x100.
      const response = await get(`/photos/bands.png${delimiter}strip?x-oss-process=image/crop,w_50,h_100/format,png`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/png");
      const image = await body(response);
      const metadata = await sharp(image).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual(["png", 50, 100]);
      // Red then green: cropping first (all red at 50x100) or the style alone (150 wide) would differ.
      expect(await pixel(image, 10, 50)).toEqual([...BAND_COLOURS[0], 255]);
      expect(await pixel(image, 40, 50)).toEqual([...BAND_COLOURS[1], 255]);
    },
  );

  test("a path style with x-oss-process=style/...: both styles, the path's first", async () => {
    // strip → 150x100, then thumb's 50x50 fill; the other order would end at strip's 150x100.
    const response = await get("/photos/bands.png@!strip?x-oss-process=style/thumb");
    expect(response.status).toBe(200);
    const metadata = await sharp(await body(response)).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(["webp", 50, 50]);
  });

  test("errors are OSS XML with the right code and status", async () => {
    const cases: Array<[string, number, string, string]> = [
      ["/photos/cat.jpg?x-oss-process=style/nope", 404, "NoSuchStyle", 'the style "nope" does not exist'],
      ["/photos/cat.jpg?x-oss-process=style/broken", 400, "InvalidArgument", 'style "broken": resize: w must be'],
      [
        "/photos/none.jpg?x-oss-process=image/resize,w_10",
        404,
        "NoSuchKey",
        'the object "photos/none.jpg" does not exist',
      ],
      [
        "/photos/cat.jpg?x-oss-process=image/resize,w_abc",
        400,
        "InvalidArgument",
        "resize: w must be an integer in 1..16384",
      ],
      ["/photos/cat.jpg?x-oss-process=image/crop,x_9999", 400, "InvalidArgument", "outside the 400x300 image"],
      ["/photos/cat.jpg", 403, "AccessDenied", "no x-oss-process"],
      ["/a!b.jpg", 403, "AccessDenied", 'no style "b.jpg"'], // a key with "!" is not a style: S3 serves it
      ["/%E0%A4%A?x-oss-process=image/resize,w_1", 400, "InvalidArgument", "percent-encoding"],
    ];
    for (const [path, status, code, message] of cases) {
      const response = await get(path);
      const text = await response.text();
      expect([path, response.status]).toEqual([path, status]);
      expect(response.headers.get("content-type")).toBe("application/xml");
      expect(text).toContain(`<Code>${code}</Code>`);
      expect(text).toContain(message.replace(/"/g, "&quot;"));
      expect(text).toMatch(/<RequestId>[0-9a-f-]{36}<\/RequestId>/);
    }
  });

  test("the bucket header selects an allowed bucket; others are 403", async () => {
    const archived = await get("/old.jpg?x-oss-process=image/resize,w_32", { "x-s3edge-source-bucket": "archive" });
    expect(archived.status).toBe(200);
    expect((await sharp(await body(archived)).metadata()).width).toBe(32);
    const denied = await get("/secret.jpg?x-oss-process=image/resize,w_32", { "x-s3edge-source-bucket": "private" });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain("the bucket &quot;private&quot; is not a source bucket");
  });

  test("HEAD answers headers without a body", async () => {
    const response = await fetch(`${base}/photos/cat.jpg?x-oss-process=image/resize,w_100`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(100);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });
});

describe("bounded concurrency", () => {
  test("images processed at once default to libuv's threadpool size, at least the CPU count", () => {
    const cores = availableParallelism();
    expect(defaultMaxConcurrency({})).toBe(Math.max(cores, LIBUV_DEFAULT_THREADPOOL_SIZE));
    expect(defaultMaxConcurrency({ UV_THREADPOOL_SIZE: "64" })).toBe(Math.max(cores, 64));
    expect(defaultMaxConcurrency({ UV_THREADPOOL_SIZE: "1" })).toBe(cores);
  });

  test("beyond max concurrency + queue, 503 with Retry-After; queued requests complete", async () => {
    let entered!: () => void;
    const firstEntered = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The production service whose source waits for the gate: the first request holds the only slot.
    const props = servicePropsFromEnv(process.env, logger);
    const gated: ImageSource = {
      get: async (...args) => {
        entered();
        await gate;
        return props.source.get(...args);
      },
    };
    const service = new ImageService({ ...props, source: gated });
    const image = createImageServer({ service, logger, maxConcurrency: 1, maxSources: 1, maxQueue: 1 });
    const base = await listen(image.server);
    const url = `${base}/photos/cat.jpg?x-oss-process=image/resize,w_10`;
    try {
      const first = fetch(url);
      await firstEntered;
      const second = fetch(url); // queued
      while (image.load().queued < 1) await new Promise((resolve) => setImmediate(resolve));
      const third = await fetch(url);
      expect(third.status).toBe(503);
      expect(third.headers.get("retry-after")).toBe("1");
      expect(await third.text()).toContain("<Code>ServiceUnavailable</Code>");
      expect((await fetch(`${base}/ping`)).status).toBe(200); // health checks are never queued
      release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
    } finally {
      release();
      await image.shutdown();
    }
  });
});

describe("image server figures", () => {
  test("requests by status class, bytes, processing time and busy rejections are printed as EMF at shutdown", async () => {
    const metrics = createMetrics({ POWERTOOLS_SERVICE_NAME: "s3edge-example-image" });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const firstEntered = new Promise<void>((resolve) => (entered = resolve));
    const props = servicePropsFromEnv(process.env, logger, new ImageFigures(metrics));
    const gated: ImageSource = {
      get: async (...args) => {
        entered();
        await gate;
        return props.source.get(...args);
      },
    };
    const image = createImageServer({
      service: new ImageService({ ...props, source: gated }),
      logger,
      maxConcurrency: 1,
      maxSources: 1,
      maxQueue: 0,
      metrics,
    });
    const base = await listen(image.server);
    const url = `${base}/photos/cat.jpg?x-oss-process=image/resize,w_10`;
    let outputBytes = 0;
    const lines = await captureEmf(async () => {
      try {
        const first = fetch(url);
        await firstEntered;
        expect((await fetch(url)).status).toBe(503);
        release();
        const ok = await first;
        expect(ok.status).toBe(200);
        outputBytes += (await ok.arrayBuffer()).byteLength;
        const missing = await fetch(`${base}/nothing-here.jpg?x-oss-process=image/resize,w_10`);
        expect(missing.status).toBe(404);
        outputBytes += (await missing.arrayBuffer()).byteLength;
      } finally {
        release();
        await image.shutdown();
      }
    });
    const sums = figures(lines);
    expect(sums).toMatchObject({
      [IMAGE_METRICS.requests]: 2,
      [IMAGE_METRICS.status2xx]: 1,
      [IMAGE_METRICS.status4xx]: 1,
      [IMAGE_METRICS.busy]: 1,
      [IMAGE_METRICS.outputBytes]: outputBytes,
    });
    expect(sums[IMAGE_METRICS.sourceBytes]).toBeGreaterThan(1000);
    expect(sums[IMAGE_METRICS.processingTime]).toBeGreaterThan(0);
    expect(sums[IMAGE_METRICS.status5xx]).toBeUndefined();
    expect(dimensionSets(lines)).toEqual([
      { namespace: METRICS_NAMESPACE, dimensions: { service: "s3edge-example-image" } },
    ]);
  });

  test("the answer is sent before the request is recorded (its log line and figures)", async () => {
    const records: Array<{ status: number; sentBefore: boolean }> = [];
    const responses: ServerResponse[] = [];
    const service = createServiceFromEnv(process.env, logger);
    const answer = service.answer.bind(service);
    service.answer = async (request) => {
      const answered = await answer(request);
      const sent = responses.at(-1)!;
      return {
        ...answered,
        record: () => {
          records.push({ status: answered.response.status, sentBefore: sent.writableEnded });
          answered.record();
        },
      };
    };
    const image = createImageServer({ service, logger });
    image.server.on("request", (_request, response: ServerResponse) => responses.push(response));
    const base = await listen(image.server);
    try {
      expect((await fetch(`${base}/photos/cat.jpg?x-oss-process=image/resize,w_10`)).status).toBe(200);
      expect((await fetch(`${base}/nothing-here.jpg?x-oss-process=image/resize,w_10`)).status).toBe(404);
    } finally {
      await image.shutdown();
    }
    expect(records).toEqual([
      { status: 200, sentBefore: true },
      { status: 404, sentBefore: true },
    ]);
  });
});

describe("the service records a request only when told", () => {
  test("answer() leaves the log line to record(), which logs the time to the answer; handle() does both", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const capture = new Logger({ serviceName: "image-record-test", logLevel: "INFO" });
    jest.spyOn(capture, "info").mockImplementation((message: unknown, ...extra: unknown[]) => {
      lines.push({ message, ...(extra[0] as Record<string, unknown>) });
    });
    const service = createServiceFromEnv(process.env, capture);
    const request = {
      method: "GET",
      path: "/photos/cat.jpg",
      query: "x-oss-process=image/resize,w_10",
      headers: {},
      requestId: "r-1",
    };
    const started = Date.now();
    const { response, record } = await service.answer(request);
    const toAnswer = Date.now() - started;
    expect(response.status).toBe(200);
    expect(lines).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    record();
    expect(lines).toEqual([
      expect.objectContaining({ message: "request", requestId: "r-1", status: 200, bytes: response.body.length }),
    ]);
    // The time to the answer, not to record().
    expect(lines[0].ms).toBeLessThanOrEqual(toAnswer);
    await service.handle({ ...request, requestId: "r-2" });
    expect(lines.map((line) => line.requestId)).toEqual(["r-1", "r-2"]);
  });
});

describe("npm run image:serve as a child process", () => {
  test("SIGTERM stops accepting, finishes the request in flight, exits 0", async () => {
    // A proxy in front of s3rver holds GetObject until told to go on: the request is in flight for sure.
    let held!: () => void;
    const heldRequest = new Promise<void>((resolve) => (held = resolve));
    let releaseProxy!: () => void;
    const proxyGate = new Promise<void>((resolve) => (releaseProxy = resolve));
    const target = new URL(s3.endpoint);
    const proxy = createServer((incoming, outgoing) => {
      held();
      void proxyGate.then(() => forwardRequest(target, incoming, outgoing));
    });
    const proxyUrl = await listen(proxy);

    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "functions/image/server.ts"], {
      cwd: ROOT,
      env: { ...process.env, ...env, AWS_ENDPOINT_URL_S3: proxyUrl, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Array<Record<string, unknown>> = [];
    const waitForLog = (message: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const found = () => lines.find((line) => line.message === message);
        const check = () => {
          const line = found();
          if (line) {
            child.stdout!.off("data", check);
            resolve(line);
          }
        };
        child.stdout!.on("data", check);
        child.once("exit", () => reject(new Error(`server exited before logging "${message}"`)));
        check();
      });
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const part of parts) if (part.startsWith("{")) lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const { port } = (await waitForLog("listening")) as { port: number };
      const base = `http://127.0.0.1:${port}`;
      const inFlight = fetch(`${base}/photos/cat.jpg?x-oss-process=image/resize,w_20`);
      await heldRequest;
      child.kill("SIGTERM");
      await waitForLog("shutting down");
      await expect(fetch(`${base}/ping`)).rejects.toThrow(); // no longer accepting
      releaseProxy();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).width).toBe(20);
      expect(await exited).toBe(0);
      expect(lines.some((line) => line.message === "request" && line.status === 200)).toBe(true);
    } finally {
      releaseProxy();
      child.kill("SIGKILL");
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
