/**
 * Container variant (ECS Fargate): `node:http` on PORT (default 8080).
 *   GET /<key>?x-oss-process=...   the image
 *   GET /ping                      health check
 * At most MAX_CONCURRENCY images are processed at once (default: CPU count). A request takes its
 * processing slot only once its source is read, so the CPU does not idle while S3 answers; up to
 * MAX_QUEUE more requests may be reading or waiting (default 64); beyond that a 503 with
 * Retry-After. SIGTERM stops accepting connections, lets in-flight and queued requests finish, then
 * exits.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { Logger } from "@aws-lambda-powertools/logger";
import { ImageError } from "./errors";
import { createServiceFromEnv, errorResponse, type ImageResponse, type ImageService } from "./service";

export const DEFAULT_PORT = 8080;
export const DEFAULT_MAX_QUEUE = 64;
/** Seconds a client is asked to wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;

export interface ImageServerOptions {
  readonly service: ImageService;
  readonly logger: Logger;
  /** Images processed at once. @default availableParallelism() */
  readonly maxConcurrency?: number;
  /** Requests reading their source or waiting for a slot, beyond the processing ones, before new ones get 503. @default 64 */
  readonly maxQueue?: number;
}

export interface ImageServer {
  readonly server: Server;
  /** Stops accepting connections, waits for in-flight and queued requests, closes idle connections. */
  shutdown(): Promise<void>;
  /** Requests processing, waiting for a slot, and in all (reading their source included). */
  load(): { active: number; queued: number; admitted: number };
}

export function createImageServer(options: ImageServerOptions): ImageServer {
  const { service, logger } = options;
  const maxConcurrency = options.maxConcurrency ?? availableParallelism();
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const waiting: Array<() => void> = [];
  /** Processing slots taken. */
  let active = 0;
  /** Requests between arrival and response: reading, waiting for a slot or processing. */
  let admitted = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const send = (response: ServerResponse, result: ImageResponse, head: boolean) => {
    const headers: Record<string, string> = { ...result.headers, "content-length": String(result.body.length) };
    if (closing) headers.connection = "close";
    response.writeHead(result.status, headers);
    response.end(head ? undefined : result.body);
  };

  const acquireSlot = async () => {
    if (active < maxConcurrency) active++;
    // A released slot is handed over as it is: `active` stays the same.
    else await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const releaseSlot = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
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
    if (admitted >= maxConcurrency + maxQueue) {
      const busy = errorResponse(503, "ServiceUnavailable", "the image server is busy; retry shortly", requestId);
      busy.headers["retry-after"] = String(RETRY_AFTER_SECONDS);
      logger.warn("queue full", { requestId, path, active, queued: waiting.length, admitted });
      send(response, busy, head);
      return;
    }
    admitted++;
    let holdsSlot = false;
    const beforeProcessing = async () => {
      await acquireSlot();
      holdsSlot = true;
      if (response.destroyed) throw new ImageError("ServiceUnavailable", "the client left while queued");
    };
    try {
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : value]),
      );
      const result = await service.handle(
        {
          method: head ? "GET" : (request.method ?? "GET"),
          path,
          query: queryAt === -1 ? "" : url.slice(queryAt + 1),
          headers,
          requestId,
        },
        { beforeProcessing },
      );
      if (!response.destroyed) send(response, result, head);
    } finally {
      if (holdsSlot) releaseSlot();
      admitted--;
      if (admitted === 0 && drained) drained();
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error("request failed outside the service", { error: error as Error });
      if (!response.headersSent) send(response, errorResponse(500, "InternalError", "internal error", ""), false);
      else response.destroy();
    });
  });

  const shutdown = async () => {
    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (admitted > 0) await new Promise<void>((resolve) => (drained = resolve));
    server.closeIdleConnections();
    await closed;
  };

  return { server, shutdown, load: () => ({ active, queued: waiting.length, admitted }) };
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
