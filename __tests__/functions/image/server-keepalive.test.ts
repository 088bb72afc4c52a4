/**
 * Behind an ALB (idle timeout 60 s): the server keeps idle keep-alive connections longer than the
 * balancer, so the balancer never sends a request into a socket the server has closed (a 502).
 * One real 65-second idle connection; it runs in its own file so that it slows nothing else.
 */
import { Agent, get, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import { ImageEngine } from "../../../functions/image/engine";
import { ALB_IDLE_TIMEOUT_MS, createImageServer, DEFAULT_KEEP_ALIVE_TIMEOUT_MS } from "../../../functions/image/server";
import { ImageService } from "../../../functions/image/service";

const logger = new Logger({ serviceName: "image-keepalive-test", logLevel: "SILENT" });
const service = new ImageService({
  engine: new ImageEngine(),
  source: { get: () => Promise.reject(new Error("not used: /ping reads nothing")) },
  defaultBucket: "images",
  allowedBuckets: [],
  logger,
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** GET /ping through `agent`: the status and the socket it went over (and whether it was reused). */
function ping(port: number, agent: Agent): Promise<{ status: number; socket: Socket; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path: "/ping", agent }, (response: IncomingMessage) => {
      response.resume();
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, socket: request.socket!, reused: request.reusedSocket }),
      );
    });
    request.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("timeouts: keep-alive above the ALB's idle timeout, headers above keep-alive, request above headers", () => {
  const image = createImageServer({ service, logger });
  const { keepAliveTimeout, headersTimeout, requestTimeout } = image.server;
  expect(keepAliveTimeout).toBe(DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
  expect(keepAliveTimeout).toBeGreaterThan(ALB_IDLE_TIMEOUT_MS);
  expect(headersTimeout).toBeGreaterThan(keepAliveTimeout);
  expect(requestTimeout).toBeGreaterThanOrEqual(headersTimeout);
});

test("with a short keep-alive the server closes an idle connection (what the 65 s test would see at 5 s)", async () => {
  const image = createImageServer({ service, logger, keepAliveTimeoutMs: 500 });
  const port = await listen(image.server);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await ping(port, agent);
    await sleep(1500);
    const second = await ping(port, agent);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.reused).toBe(false);
    expect(second.socket).not.toBe(first.socket);
  } finally {
    agent.destroy();
    await image.shutdown();
  }
});

test("a connection idle for 65 s is still open and serves the next request", async () => {
  const image = createImageServer({ service, logger });
  const port = await listen(image.server);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await ping(port, agent);
    let closed = false;
    first.socket.once("close", () => (closed = true));
    await sleep(65_000);
    expect(closed).toBe(false);
    const second = await ping(port, agent);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.reused).toBe(true);
    expect(second.socket).toBe(first.socket);
  } finally {
    agent.destroy();
    await image.shutdown();
  }
}, 90_000);
