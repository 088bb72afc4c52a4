import type { BucketCounts, Counts } from "./counters";
import { ObjectStatsError } from "./errors";
import { isTopLevelPrefix } from "./events";

/** The parts of an HTTP API (payload 2.0) request that `GET /count` looks at. */
export interface CountRequest {
  /** `GET /count` for the route; `$default` when a catch-all route forwarded the request. */
  readonly routeKey: string;
  readonly method: string;
  readonly path: string;
  /** Query parameters; API Gateway joins repeated ones with commas. */
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface CountsReader {
  readBucket(bucket: string): Promise<BucketCounts>;
  readPrefix(bucket: string, prefix: string): Promise<Counts>;
}

export interface CountApiOptions {
  /** Buckets the counters cover; the first is the one `GET /count` reports without `?bucket=`. */
  readonly buckets: readonly string[];
  readonly reader: CountsReader;
}

export type CountResponseBody = BucketCounts | ({ readonly bucket: string; readonly prefix: string } & Counts);

export const COUNT_ROUTE = "GET /count";
const COUNT_PATH = "/count";
const QUERY_PARAMETERS = ["prefix", "bucket"] as const;

/**
 * Answers `GET /count[?prefix=<top-level prefix>][&bucket=<monitored bucket>]`. Throws
 * `ObjectStatsError` "not-found" for any other route and "bad-request" for a query it cannot answer.
 */
export async function answerCountRequest(request: CountRequest, options: CountApiOptions): Promise<CountResponseBody> {
  const isCountRoute =
    request.routeKey === COUNT_ROUTE ||
    (request.routeKey === "$default" && request.method === "GET" && request.path === COUNT_PATH);
  if (!isCountRoute) throw new ObjectStatsError("not-found", `no route ${request.method} ${request.path}`);

  const unknown = Object.keys(request.query).filter((name) => !(QUERY_PARAMETERS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new ObjectStatsError(
      "bad-request",
      `unknown query parameter(s) ${unknown.join(", ")}; accepted: ${QUERY_PARAMETERS.join(", ")}`,
    );
  const bucket = request.query.bucket ?? options.buckets[0];
  if (!options.buckets.includes(bucket))
    throw new ObjectStatsError(
      "bad-request",
      `bucket "${bucket}" is not monitored; monitored buckets: ${options.buckets.join(", ")}`,
    );
  const { prefix } = request.query;
  if (prefix === undefined) return options.reader.readBucket(bucket);
  if (!isTopLevelPrefix(prefix))
    throw new ObjectStatsError(
      "bad-request",
      `prefix "${prefix}" is not a top-level prefix: give one path segment ending in "/" (images/), or an empty prefix for the root`,
    );
  return { bucket, prefix, ...(await options.reader.readPrefix(bucket, prefix)) };
}
