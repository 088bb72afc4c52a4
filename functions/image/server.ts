/**
 * Container variant (ECS Fargate): `node:http` on PORT (default 8080).
 *   GET /<key>?x-oss-process=...   the image
 *   GET /ping                      health check
 * At most MAX_CONCURRENCY images are processed at once (default: CPU count); up to MAX_QUEUE more
 * wait (default 64); beyond that a 503 with Retry-After. A client that disconnects gives up its
 * place in the queue or its slot at once. SIGTERM stops accepting connections, lets in-flight and
 * queued requests finish, then exits. Idle keep-alive connections are kept longer than the load
 * balancer's (KEEP_ALIVE_TIMEOUT_MS), so that the balancer never sends a request into a socket
 * the server is closing.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { Logger } from "@aws-lambda-powertools/logger";
import { ALB_IDLE_TIMEOUT_SECONDS } from "./environment";
import { createServiceFromEnv, errorResponse, type ImageResponse, type ImageService } from "./service";

export const DEFAULT_PORT = 8080;
export const DEFAULT_MAX_QUEUE = 64;
/** Seconds a client is asked to wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;
/** The ALB's idle timeout: the server must keep idle connections open longer. */
export const ALB_IDLE_TIMEOUT_MS = ALB_IDLE_TIMEOUT_SECONDS * 1000;
/** Idle keep-alive connections are closed after this (above the ALB's idle timeout). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = ALB_IDLE_TIMEOUT_MS + 5_000;

export interface ImageServerOptions {
  readonly service: ImageService;
  readonly logger: Logger;
  /** Images processed at once. @default availableParallelism() */
  readonly maxConcurrency?: number;
  /** Requests waiting for a slot before new ones get 503. @default 64 */
  readonly maxQueue?: number;
  /**
   * How long an idle keep-alive connection stays open; the headers timeout is 1 s above it and the
   * request timeout 1 s above that (Node requires headers ≤ request). @default DEFAULT_KEEP_ALIVE_TIMEOUT_MS
   */
  readonly keepAliveTimeoutMs?: number;
}

export interface ImageServer {
  readonly server: Server;
  /** Stops accepting connections, waits for in-flight and queued requests, closes idle connections. */
  shutdown(): Promise<void>;
  /** Requests being processed and waiting. */
  load(): { active: number; queued: number };
}

export function createImageServer(options: ImageServerOptions): ImageServer {
  const { service, logger } = options;
  const maxConcurrency = options.maxConcurrency ?? availableParallelism();
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const waiting: Array<() => void> = [];
  let active = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const send = (response: ServerResponse, result: ImageResponse, head: boolean) => {
    const headers: Record<string, string> = { ...result.headers, "content-length": String(result.body.length) };
    if (closing) headers.connection = "close";
    response.writeHead(result.status, headers);
    response.end(head ? undefined : result.body);
  };

  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) next();
    else if (active === 0 && drained) drained();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const head = request.method === "HEAD";
    if (path === "/ping") {
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
    if (active >= maxConcurrency) {
      if (waiting.length >= maxQueue) {
        const busy = errorResponse(503, "ServiceUnavailable", "the image server is busy; retry shortly", requestId);
        busy.headers["retry-after"] = String(RETRY_AFTER_SECONDS);
        logger.warn("queue full", { requestId, path, active, queued: waiting.length });
        send(response, busy, head);
        return;
      }
      const admitted = await new Promise<boolean>((resolve) => {
        const admit = () => {
          gone.signal.removeEventListener("abort", leave);
          resolve(true);
        };
        const leave = () => {
          const at = waiting.indexOf(admit);
          if (at !== -1) waiting.splice(at, 1);
          resolve(false);
        };
        waiting.push(admit);
        gone.signal.addEventListener("abort", leave, { once: true });
      });
      if (!admitted) return;
    }
    active++;
    try {
      if (response.destroyed) return;
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : value]),
      );
      const result = await service.handle({
        method: head ? "GET" : (request.method ?? "GET"),
        path,
        query: queryAt === -1 ? "" : url.slice(queryAt + 1),
        headers,
        requestId,
        signal: gone.signal,
      });
      if (!response.destroyed) send(response, result, head);
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
    if (active > 0 || waiting.length > 0) await new Promise<void>((resolve) => (drained = resolve));
    server.closeIdleConnections();
    await closed;
  };

  return { server, shutdown, load: () => ({ active, queued: waiting.length }) };
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

/** `npm run image:serve`: listens until SIGTERM or SIGINT. */
function main(): void {
  const logger = new Logger({ serviceName: "image-server" });
  const { server, shutdown } = createImageServer({
    service: createServiceFromEnv(process.env, logger),
    logger,
    maxConcurrency: positiveInteger("MAX_CONCURRENCY", process.env.MAX_CONCURRENCY) || undefined,
    maxQueue: positiveInteger("MAX_QUEUE", process.env.MAX_QUEUE),
    keepAliveTimeoutMs: positiveInteger("KEEP_ALIVE_TIMEOUT_MS", process.env.KEEP_ALIVE_TIMEOUT_MS),
  });
  const port = positiveInteger("PORT", process.env.PORT) ?? DEFAULT_PORT;
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
