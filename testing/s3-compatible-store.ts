/**
 * A strict S3-compatible store for the legacy-origin tests: s3rver behind a node:http front that
 * does what s3rver does not and real stores (OSS, R2, Wasabi, MinIO) do: it verifies SigV4
 * signatures (the key, and the region of the credential scope, must be the store's) and it serves
 * virtual-hosted requests (`Host: <bucket>.store.test`) as well as path-style ones. Clients reach
 * `*.store.test` through `routeStoreHostsToLoopback`.
 */
import dns from "node:dns";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startS3, type LocalS3 } from "./local-servers";
import { verifySigV4 } from "./sigv4";

/** The store's host name: `<bucket>.store.test` is virtual-hosted addressing. */
export const STORE_HOST = "store.test";

export interface StoreRequest {
  readonly method: string;
  /** `virtual-hosted` when the bucket was in the Host header. */
  readonly addressing: "path" | "virtual-hosted";
  /** Path-style path (`/<bucket>/<key>`), whatever the addressing. */
  readonly path: string;
  /** The signing region of a signed request. */
  readonly region?: string;
  /** The answer: 403 for a refused signature. */
  readonly status: number;
}

export interface S3CompatibleStore {
  /** `http://store.test:<port>`: the endpoint as a client configures it. */
  readonly endpoint: string;
  readonly port: number;
  /** s3rver behind the front, for setting up and checking objects directly. */
  readonly backend: LocalS3;
  readonly requests: StoreRequest[];
  close(): Promise<void>;
}

export interface StoreOptions {
  readonly buckets: readonly string[];
  /** The only region signatures may name. */
  readonly region: string;
  /** Signed requests only, with this key; absent: anonymous reads (a public bucket). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

export async function startS3CompatibleStore(options: StoreOptions): Promise<S3CompatibleStore> {
  const backend = await startS3(options.buckets);
  const upstream = new URL(backend.endpoint);
  const requests: StoreRequest[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const raw = request.url ?? "/";
    const [rawPath, querystring = ""] = raw.split(/\?(.*)/s);
    const host = String(request.headers.host ?? "").replace(/:\d+$/, "");
    const virtualBucket = host.endsWith(`.${STORE_HOST}`) ? host.slice(0, -STORE_HOST.length - 1) : undefined;
    const path = virtualBucket ? `/${virtualBucket}${rawPath}` : rawPath;
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(",") : (value ?? "");
    };
    const record = (status: number, region?: string) =>
      requests.push({
        method: request.method ?? "",
        addressing: virtualBucket ? "virtual-hosted" : "path",
        path: decodeURIComponent(path),
        region,
        status,
      });
    const refuse = (code: string, message: string, region?: string) => {
      record(403, region);
      response.writeHead(403, { "content-type": "application/xml" });
      response.end(request.method === "HEAD" ? undefined : errorXml(code, message));
    };
    if (options.credentials) {
      const verdict = verifySigV4(
        { method: request.method ?? "GET", path: rawPath, querystring, header },
        options.credentials.secretAccessKey,
      );
      if (!header("authorization")) return refuse("AccessDenied", "Anonymous access is forbidden");
      if (verdict.accessKeyId !== options.credentials.accessKeyId) {
        return refuse("InvalidAccessKeyId", "The access key does not exist", verdict.region);
      }
      if (verdict.region !== options.region) {
        return refuse(
          "AuthorizationHeaderMalformed",
          `the region '${verdict.region}' is wrong; expecting '${options.region}'`,
          verdict.region,
        );
      }
      if (!verdict.valid) return refuse("SignatureDoesNotMatch", "The signature does not match", verdict.region);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    // s3rver takes unsigned requests: the signature was checked above.
    const headers = { ...request.headers, host: upstream.host };
    delete headers.authorization;
    await new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: `${path}${querystring ? `?${querystring}` : ""}`,
          headers,
        },
        (answer) => {
          record(answer.statusCode ?? 500, options.credentials ? options.region : undefined);
          response.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(response);
          answer.on("end", resolve);
          answer.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(Buffer.concat(chunks));
    });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      response.writeHead(500);
      response.end(error.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${STORE_HOST}:${port}`,
    port,
    backend,
    requests,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
    },
  };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void;

/**
 * Resolves `store.test` and `*.store.test` to 127.0.0.1 in this process (the SDK's sockets look
 * names up through dns.lookup), as a DNS zone would for a real store. Returns the undo.
 */
export function routeStoreHostsToLoopback(): () => void {
  const original = dns.lookup;
  const patched = ((hostname: string, options: unknown, callback?: LookupCallback) => {
    const done = (typeof options === "function" ? options : callback) as LookupCallback;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    if (hostname === STORE_HOST || hostname.endsWith(`.${STORE_HOST}`)) {
      return all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4);
    }
    return (original as (...args: unknown[]) => void)(hostname, options, callback);
  }) as typeof dns.lookup;
  dns.lookup = patched;
  return () => {
    dns.lookup = original;
  };
}
