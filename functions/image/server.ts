/**
 * Container variant (ECS Fargate): `node:http` on PORT (default ENGINE_PORT).
 *   GET /<key>?x-oss-process=...   the image
 *   GET /ping                      health check (ENGINE_HEALTH_PATH)
 * At most MAX_CONCURRENCY images are processed at once (default: defaultMaxConcurrency()). A request takes its
 * processing slot only once its source is read, so a slow S3 read leaves the CPU to others; at most
 * MAX_SOURCES requests (default: twice MAX_CONCURRENCY) hold a source in memory, up to MAX_QUEUE
 * more wait for their turn to read (default 64), and beyond that a 503 with Retry-After. A client
 * that disconnects gives up its place in a queue or its slots at once. SIGTERM stops accepting connections, lets in-flight and
 * queued requests finish, then exits. Idle keep-alive connections are kept longer than the load
 * balancer's (KEEP_ALIVE_TIMEOUT_MS), so that the balancer never sends a request into a socket
 * the server is closing.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { Logger } from "@aws-lambda-powertools/logger";
import {
  ALB_IDLE_TIMEOUT_SECONDS,
  ENGINE_HEALTH_PATH,
  ENGINE_PORT,
  SERVER_ENVIRONMENT,
  SERVER_ENVIRONMENT_FIELDS,
} from "./environment";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { readEnvironment } from "../shared/environment";
import { createMetrics, publishFigures } from "../shared/metrics";
import { configureImageRuntime } from "./engine";
import { ImageFigures } from "./figures";
import { Slots } from "./slots";
import { createServiceFromEnv, errorResponse, type ImageResponse, type ImageService } from "./service";

export const DEFAULT_MAX_QUEUE = 64;
/** Node's libuv threadpool size when UV_THREADPOOL_SIZE does not set one. */
export const LIBUV_DEFAULT_THREADPOOL_SIZE = 4;

/**
 * Images processed at once by default: as many as libuv's threadpool runs (sharp runs each image on
 * one of its threads, with sharp.concurrency() libvips threads: 1 on glibc without jemalloc, as
 * here), and never fewer than the CPUs. With only the CPU count (2 on the bench machine), the cores
 * idled while the event loop read the next source or answered the last image; more than the
 * threadpool would only queue inside libuv while holding memory.
 */
export function defaultMaxConcurrency(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const threadpool = Number(env.UV_THREADPOOL_SIZE) || LIBUV_DEFAULT_THREADPOOL_SIZE;
  return Math.max(availableParallelism(), threadpool);
}
/** Requests holding a source per processing slot: one being processed, one read ahead. */
export const SOURCES_PER_PROCESSING_SLOT = 2;
/** Seconds a client is asked to wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;
/** The ALB's idle timeout: the server must keep idle connections open longer. */
export const ALB_IDLE_TIMEOUT_MS = ALB_IDLE_TIMEOUT_SECONDS * 1000;
/** Idle keep-alive connections are closed after this (above the ALB's idle timeout). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = ALB_IDLE_TIMEOUT_MS + 5_000;
/** Seconds between two EMF lines of the server's figures (one line per interval, not per request). */
export const METRICS_FLUSH_SECONDS = 10;

export interface ImageServerOptions {
  readonly service: ImageService;
  readonly logger: Logger;
  /** Images processed at once. @default defaultMaxConcurrency() */
  readonly maxConcurrency?: number;
  /**
   * Requests that hold a source in memory at once (reading it, waiting for a processing slot, or
   * processed): this bounds memory. @default SOURCES_PER_PROCESSING_SLOT × maxConcurrency
   */
  readonly maxSources?: number;
  /** Requests waiting for their turn to read before new ones get 503. @default 64 */
  readonly maxQueue?: number;
  /**
   * How long an idle keep-alive connection stays open; the headers timeout is 1 s above it and the
   * request timeout 1 s above that (Node requires headers ≤ request). @default DEFAULT_KEEP_ALIVE_TIMEOUT_MS
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Figures (EMF on stdout, which the awslogs driver ships to CloudWatch Logs): printed every
   * METRICS_FLUSH_SECONDS and at shutdown. The service's figures must write to the same instance.
   * @default not published
   */
  readonly metrics?: Metrics;
}

export interface ServerLoad {
  /** Images being processed. */
  readonly active: number;
  /** Source reads in flight. */
  readonly reading: number;
  /** Requests waiting, to read or to be processed. */
  readonly queued: number;
}

export interface ImageServer {
  readonly server: Server;
  /** Stops accepting connections, waits for in-flight and queued requests, closes idle connections. */
  shutdown(): Promise<void>;
  /** Requests being processed, reading their source, and waiting for a slot. */
  load(): ServerLoad;
}

export function createImageServer(options: ImageServerOptions): ImageServer {
  const { service, logger } = options;
  const maxConcurrency = options.maxConcurrency ?? defaultMaxConcurrency();
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const { metrics } = options;
  const figures = metrics && new ImageFigures(metrics);
  const flush = metrics && setInterval(() => publishFigures(metrics), METRICS_FLUSH_SECONDS * 1000).unref();
  const processing = new Slots(maxConcurrency);
  const sources = new Slots(options.maxSources ?? SOURCES_PER_PROCESSING_SLOT * maxConcurrency);
  let closing = false;

  const send = (response: ServerResponse, result: ImageResponse, head: boolean) => {
    const headers: Record<string, string> = { ...result.headers, "content-length": String(result.body.length) };
    if (closing) headers.connection = "close";
    response.writeHead(result.status, headers);
    response.end(head ? undefined : result.body);
  };

  const load = (): ServerLoad => ({
    active: processing.busy,
    reading: sources.busy - processing.busy - processing.queued,
    queued: sources.queued + processing.queued,
  });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const head = request.method === "HEAD";
    if (path === ENGINE_HEALTH_PATH) {
      send(
        response,
        { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from('{"status":"ok"}') },
        head,
      );
      return;
    }
    const requestId = randomUUID();
    // The client's disconnect: it leaves the queue, or the service stops its work and frees the slot.
    const gone = new AbortController();
    response.once("close", () => {
      if (!response.writableFinished) gone.abort(new Error("client disconnected"));
    });
    if (sources.full && sources.queued >= maxQueue) {
      const busy = errorResponse(503, "ServiceUnavailable", "the image server is busy; retry shortly", requestId);
      busy.headers["retry-after"] = String(RETRY_AFTER_SECONDS);
      logger.warn("queue full", { requestId, path, ...load() });
      figures?.busy();
      send(response, busy, head);
      return;
    }
    const release = await sources.acquire(gone.signal);
    if (!release) return;
    try {
      if (response.destroyed) return;
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : value]),
      );
      const { response: result, record } = await service.answer({
        method: head ? "GET" : (request.method ?? "GET"),
        path,
        query: queryAt === -1 ? "" : url.slice(queryAt + 1),
        headers,
        requestId,
        signal: gone.signal,
        processingSlot: (signal) => processing.acquire(signal),
      });
      if (!response.destroyed) send(response, result, head);
      // Once the answer is on its way: the viewer does not wait for the log line.
      record();
    } finally {
      release();
    }
  };

  const keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const headersTimeout = keepAliveTimeout + 1_000;
  const server = createServer({ headersTimeout, requestTimeout: headersTimeout + 1_000 }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error("request failed outside the service", { error: error as Error });
      if (!response.headersSent) send(response, errorResponse(500, "InternalError", "internal error", ""), false);
      else response.destroy();
    });
  });

  server.keepAliveTimeout = keepAliveTimeout;

  const shutdown = async () => {
    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await sources.drained();
    server.closeIdleConnections();
    await closed;
    if (metrics) {
      clearInterval(flush);
      publishFigures(metrics);
    }
  };

  return { server, shutdown, load };
}

/** `npm run image:serve`: listens until SIGTERM or SIGINT. */
function main(): void {
  configureImageRuntime();
  const logger = new Logger({ serviceName: "image-server" });
  const metrics = createMetrics();
  const settings = readEnvironment(SERVER_ENVIRONMENT, SERVER_ENVIRONMENT_FIELDS, process.env);
  const { server, shutdown } = createImageServer({
    service: createServiceFromEnv(process.env, logger, new ImageFigures(metrics)),
    logger,
    metrics,
    // 0: the default.
    maxConcurrency: settings.maxConcurrency || undefined,
    maxSources: settings.maxSources || undefined,
    maxQueue: settings.maxQueue,
    keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
  });
  const port = settings.port ?? ENGINE_PORT;
  server.listen(port, () => {
    const address = server.address();
    logger.info("listening", { port: typeof address === "object" && address ? address.port : port });
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    shutdown().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error("shutdown failed", { error: error as Error });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (require.main === module) main();
