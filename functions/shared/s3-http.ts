import type { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { Agent, errors as undiciErrors } from "undici";

/** SHA-256 of an empty payload: what GETs sign (as the SDK does). */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface S3HttpOptions {
  /** Sign requests with the client's credentials; false for anonymous reads of a public bucket. @default true */
  readonly sign?: boolean;
  /** Headers sent with every request (the legacy source's `Accept-Encoding: gzip`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep-alive connections to each endpoint at most. @default DEFAULT_CONNECTIONS */
  readonly connections?: number;
  /**
   * Bounds on each attempt. @default none but undici's own 10 s to connect: an attempt otherwise
   * waits as long as its socket stays open
   */
  readonly timeouts?: S3HttpTimeouts;
}

/** Milliseconds an attempt may take at each stage; a stage past its bound fails the attempt (a retryable TimeoutError). */
export interface S3HttpTimeouts {
  /** To open a new connection (a reused keep-alive connection is open already). */
  readonly connectMs: number;
  /** From sending the request to the response's headers. */
  readonly headersMs: number;
  /** Between two chunks of the response body: a stalled body ends here (the body's stream errors). */
  readonly idleMs: number;
}

export interface S3HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The response body, for the caller to read (or destroy); a body that ends short of its Content-Length errors. */
  readonly body: Readable;
}

/** Connections per endpoint by default: the SDK's maxSockets. */
export const DEFAULT_CONNECTIONS = 50;

/** Shaped like the SDK's service errors (`name`, `$metadata.httpStatusCode`), which the copy engine maps. */
export class S3HttpError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number; readonly requestId?: string; attempts: number };
  readonly $fault: "client" | "server";
  constructor(
    name: string,
    message: string,
    status: number | undefined,
    requestId?: string,
    /** The bucket's region, when S3 named it (`x-amz-bucket-region`, or `<Region>` in the error). */
    readonly bucketRegion?: string,
  ) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status, requestId, attempts: 1 };
    this.$fault = status !== undefined && status < 500 ? "client" : "server";
  }
}

/** An attempt that passed one of its timeouts (S3HttpTimeouts); the retry strategy retries it. */
export class S3HttpTimeoutError extends Error {
  override readonly name = "TimeoutError";
}

interface Base {
  readonly url: URL;
  readonly signingRegion: string;
}

/** One GET or PUT of an object, as `send` retries it and `attempt` sends it. */
interface ObjectRequest {
  readonly method: "GET" | "PUT";
  readonly key: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** Abandons the request, its retries and its body. */
  readonly signal?: AbortSignal;
}

/** S3's key encoding: RFC 3986 per path segment, `/` kept (what the SDK sends and signs). */
function encodeKey(key: string): string {
  return key
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join("/");
}

const THROTTLING = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequests",
]);

/** The SDK retry strategy's name for an error (standard mode retries throttling, transient and 5xx). */
function errorType(error: unknown): "THROTTLING" | "TRANSIENT" | "SERVER_ERROR" | "CLIENT_ERROR" {
  if (error instanceof S3HttpError) {
    const status = error.$metadata.httpStatusCode ?? 0;
    if (status === 429 || THROTTLING.has(error.name)) return "THROTTLING";
    return status >= 500 ? "SERVER_ERROR" : "CLIENT_ERROR";
  }
  // No response: a socket reset, refused connection or DNS failure.
  return "TRANSIENT";
}

/**
 * GET and PUT of object bytes over undici (Node's own HTTP client, the one behind `fetch`), signed
 * by the SDK's SigV4 signer with the client's credentials, endpoint (the SDK's own endpoint rules:
 * path-style or virtual-hosted, custom endpoints, `AWS_ENDPOINT_URL_S3`) and standard-mode retry
 * strategy. The copy engine's bulk requests skip the SDK's middleware stack, XML and stream
 * wrapping, most of the CPU of a small object (docs/migration.md, "Throughput"); errors look like
 * the SDK's, so they are mapped as before. undici hands the body over in the socket's own chunks,
 * where node:http copies each one and allocates twice per byte read (docs/image-performance.md).
 */
export class S3Http {
  private readonly bases = new Map<string, Promise<Base>>();
  private readonly signers = new Map<string, SignatureV4>();
  private readonly agent: Agent;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3HttpOptions = {},
  ) {
    this.agent = new Agent({
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      ...(options.timeouts ? { connect: { timeout: options.timeouts.connectMs } } : {}),
    });
  }

  /**
   * GET of an object (or a range of it): resolves once the headers of a 2xx response arrived.
   * `signal` abandons the request, its retries and its body.
   */
  get(
    bucket: string,
    key: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<S3HttpResponse> {
    return this.send(bucket, { method: "GET", key, query: {}, headers, signal });
  }

  /** PUT of an object (or, with `query` `partNumber` and `uploadId`, of a part); the body was read by then. */
  async put(
    bucket: string,
    key: string,
    headers: Record<string, string>,
    body: Buffer,
    query: Record<string, string> = {},
  ): Promise<IncomingHttpHeaders> {
    const response = await this.send(bucket, { method: "PUT", key, query, headers, body });
    response.body.resume();
    return response.headers;
  }

  private base(bucket: string, region?: string): Promise<Base> {
    let base = region === undefined ? this.bases.get(bucket) : undefined;
    if (!base) {
      base = this.resolveBase(bucket, region);
      base.catch(() => this.bases.delete(bucket));
      this.bases.set(bucket, base);
    }
    return base;
  }

  /**
   * The bucket's URL and signing region, by the client's endpoint rules (as every SDK request is
   * addressed); `region` overrides the client's (a bucket S3 said lives elsewhere).
   */
  private async resolveBase(bucket: string, region?: string): Promise<Base> {
    const config = this.client.config as S3Client["config"] & {
      serviceConfiguredEndpoint?: () => Promise<string | undefined>;
    };
    const custom = config.endpoint ? await config.endpoint() : undefined;
    const endpoint = custom
      ? `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ""}${custom.path}`
      : await config.serviceConfiguredEndpoint?.();
    const resolved = await config.endpointProvider({
      Bucket: bucket,
      Region: region ?? (await config.region()),
      UseFIPS: await config.useFipsEndpoint(),
      UseDualStack: await config.useDualstackEndpoint(),
      ForcePathStyle: config.forcePathStyle,
      Accelerate: config.useAccelerateEndpoint,
      UseGlobalEndpoint:
        typeof config.useGlobalEndpoint === "function" ? await config.useGlobalEndpoint() : config.useGlobalEndpoint,
      DisableMultiRegionAccessPoints: config.disableMultiregionAccessPoints,
      ...(endpoint ? { Endpoint: endpoint } : {}),
    });
    const schemes = (resolved.properties?.authSchemes ?? []) as { name?: string; signingRegion?: string }[];
    const sigv4 = schemes.find((scheme) => scheme.name === "sigv4");
    return {
      url: new URL(resolved.url.toString()),
      signingRegion: sigv4?.signingRegion ?? region ?? (await config.region()),
    };
  }

  private signer(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (!signer) {
      const config = this.client.config;
      signer = new SignatureV4({
        credentials: config.credentials,
        region,
        service: "s3",
        sha256: config.sha256,
        // S3 signs the path as sent: encoded once.
        uriEscapePath: false,
        applyChecksum: false,
      });
      this.signers.set(region, signer);
    }
    return signer;
  }

  /**
   * One request with the client's retry strategy around it (each attempt signed anew). With the
   * client's `followRegionRedirects`, a bucket S3 says lives in another region is addressed there
   * from then on (one redirect per bucket, where the SDK pays one per request).
   */
  private async send(bucket: string, request: ObjectRequest): Promise<S3HttpResponse> {
    const { signal } = request;
    let base = await this.base(bucket);
    let redirected = false;
    const strategy = await this.client.config.retryStrategy();
    // Every client the SDK makes today has a token-based (V2) strategy; an old-style one gets one attempt.
    const retries = "acquireInitialRetryToken" in strategy ? strategy : undefined;
    let token = await retries?.acquireInitialRetryToken("s3-http");
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.attempt(base, request);
        if (token) retries?.recordSuccess(token);
        return response;
      } catch (error) {
        if (error instanceof S3HttpError) error.$metadata.attempts = attempt;
        const region = this.redirectRegion(error, base);
        if (region && !redirected) {
          redirected = true;
          base = await this.base(bucket, region);
          continue;
        }
        if (!retries || !token) throw error;
        // The strategy may wait inside (for its retry quota, or the backoff itself): an abort ends that wait too.
        try {
          token = await abortable(retries.refreshRetryTokenForRetry(token, { errorType: errorType(error) }), signal);
        } catch {
          signal?.throwIfAborted();
          throw error;
        }
        await sleep(token.getRetryDelay(), signal);
      }
    }
  }

  /** The region to retry in when S3 answered that the bucket lives in another (the SDK's followRegionRedirects). */
  private redirectRegion(error: unknown, base: Base): string | undefined {
    const follow = (this.client.config as { followRegionRedirects?: boolean }).followRegionRedirects;
    if (!follow || !(error instanceof S3HttpError) || !error.bucketRegion) return undefined;
    const status = error.$metadata.httpStatusCode;
    const wrongRegion = status === 301 || (status === 400 && error.name === "AuthorizationHeaderMalformed");
    return wrongRegion && error.bucketRegion !== base.signingRegion ? error.bucketRegion : undefined;
  }

  private async attempt(
    base: Base,
    { method, key, query, headers, body, signal }: ObjectRequest,
  ): Promise<S3HttpResponse> {
    signal?.throwIfAborted();
    const basePath = base.url.pathname.endsWith("/") ? base.url.pathname : `${base.url.pathname}/`;
    const path = `${basePath}${encodeKey(key)}`;
    const request = {
      method,
      protocol: base.url.protocol,
      hostname: base.url.hostname,
      port: base.url.port ? Number(base.url.port) : undefined,
      path,
      query,
      headers: {
        ...this.options.headers,
        ...headers,
        host: base.url.host,
        "x-amz-content-sha256": body ? (headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD") : EMPTY_SHA256,
        ...(body ? { "content-length": String(body.length) } : {}),
      } as Record<string, string>,
    };
    const signed =
      this.options.sign === false
        ? request
        : await this.signer(base.signingRegion).sign(request, {
            signingDate: new Date(Date.now() + (this.client.config.systemClockOffset ?? 0)),
          });
    const search = new URLSearchParams(query).toString().replace(/\+/g, "%20");
    const { timeouts } = this.options;
    const target = `${method} ${base.url.host}${path}`;
    let response;
    try {
      // Aborting ends the request, and with it a response body still being read.
      response = await this.agent.request({
        origin: base.url.origin,
        path: search ? `${path}?${search}` : path,
        method,
        headers: signed.headers,
        body,
        signal,
        // 0: no bound.
        headersTimeout: timeouts?.headersMs ?? 0,
        bodyTimeout: timeouts?.idleMs ?? 0,
      });
    } catch (error) {
      throw timeoutOf(error, target, timeouts) ?? error;
    }
    const status = response.statusCode;
    const answered = response.headers as IncomingHttpHeaders;
    if (status >= 200 && status < 300) {
      // undici's body emits an error when destroyed unread, node:http's did not: a caller that drops
      // the body need not listen (a caller that reads it gets every error through its own listener).
      response.body.on("error", () => undefined);
      return { status, headers: answered, body: response.body };
    }
    throw errorOf(status, answered, await response.body.text());
  }
}

/** undici's connect and headers timeouts as S3HttpTimeoutError (which the retry strategy retries). */
function timeoutOf(
  error: unknown,
  target: string,
  timeouts: S3HttpTimeouts | undefined,
): S3HttpTimeoutError | undefined {
  if (!timeouts) return undefined;
  if (error instanceof undiciErrors.ConnectTimeoutError)
    return new S3HttpTimeoutError(`${target}: no connection within ${timeouts.connectMs} ms`);
  if (error instanceof undiciErrors.HeadersTimeoutError)
    return new S3HttpTimeoutError(`${target}: no response headers within ${timeouts.headersMs} ms`);
  return undefined;
}

/** An S3 error response (`<Error><Code>…</Code><Message>…</Message>`) as the SDK would throw it. */
function errorOf(status: number, headers: IncomingHttpHeaders, xml: string): S3HttpError {
  const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];
  const name = code ?? (status === 404 ? "NotFound" : status === 412 ? "PreconditionFailed" : `Http${status}`);
  const requestId = headers["x-amz-request-id"];
  const region = headers["x-amz-bucket-region"] ?? /<Region>([^<]*)<\/Region>/.exec(xml)?.[1];
  return new S3HttpError(
    name,
    message ?? name,
    status,
    typeof requestId === "string" ? requestId : undefined,
    typeof region === "string" && region !== "" ? region : undefined,
  );
}

/** `work`, or the signal's reason as soon as it aborts (at once if it already has). */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason as Error);
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

/** Waits `ms`; rejects with the signal's reason, its timer cleared, as soon as the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return abortable(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), signal).finally(() =>
    clearTimeout(timer),
  );
}
