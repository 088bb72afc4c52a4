/**
 * A proxy in front of a local server that loses answers: the request reaches the server and is
 * applied, then the client's connection is cut before the answer arrives. The SDK sees a network
 * error and retries the same request, which is what a write to AWS does after a timeout or a
 * connection reset: the service may have applied the first attempt.
 */
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface LostAnswersProxy {
  readonly endpoint: string;
  /** Answers lost so far. */
  readonly lost: () => number;
  close(): Promise<void>;
}

/** Loses the answer of every first attempt (`amz-sdk-request: attempt=1`) that `loses` picks. */
export async function startLostAnswersProxy(
  target: string,
  loses: (request: IncomingMessage) => boolean,
): Promise<LostAnswersProxy> {
  const upstream = new URL(target);
  let lost = 0;
  const server = createServer((incoming, outgoing) => {
    const firstAttempt = /^attempt=1(;|$)/.test(String(incoming.headers["amz-sdk-request"] ?? ""));
    const lose = firstAttempt && loses(incoming);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        if (lose) {
          // Read the whole answer (the server has applied the request), then cut the connection.
          answer.resume();
          answer.on("end", () => {
            lost++;
            incoming.socket.destroy();
          });
          return;
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => incoming.socket.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lost: () => lost,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
