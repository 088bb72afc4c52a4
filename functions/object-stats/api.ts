import type { BucketCounts, Counts, PrefixPage } from "./counters";
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
  readTotal(bucket: string): Promise<Counts>;
  readPrefixPage(bucket: string, limit: number, after?: string): Promise<PrefixPage>;
  readPrefix(bucket: string, prefix: string): Promise<Counts>;
}

export interface CountApiOptions {
  /** Buckets the counters cover; the first is the one `GET /count` reports without `?bucket=`. */
  readonly buckets: readonly string[];
  readonly reader: CountsReader;
}

/** A bucket's totals and one page of its prefixes; `next` is there when more prefixes follow. */
export type BucketCountsPage = BucketCounts & { readonly next?: string };
export type CountResponseBody = BucketCountsPage | ({ readonly bucket: string; readonly prefix: string } & Counts);

export const COUNT_ROUTE = "GET /count";
const COUNT_PATH = "/count";
const QUERY_PARAMETERS = ["prefix", "bucket", "limit", "next"] as const;
/** Prefixes per answer of `GET /count` without `?limit`, and the most `?limit` may ask for. */
export const DEFAULT_COUNT_PAGE_SIZE = 100;
export const MAX_COUNT_PAGE_SIZE = 1_000;

/** The opaque `next` cursor: the last prefix of the page, so the next page starts after it. */
export const encodeCursor = (lastPrefix: string) =>
  Buffer.from(JSON.stringify({ after: lastPrefix })).toString("base64url");

function decodeCursor(cursor: string): string {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  if (typeof after !== "string" || !isTopLevelPrefix(after))
    throw new ObjectStatsError("bad-request", "next is not a cursor from a previous answer of GET /count");
  return after;
}

function pageSize(limit: string | undefined): number {
  if (limit === undefined) return DEFAULT_COUNT_PAGE_SIZE;
  const size = /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
  if (!(size >= 1 && size <= MAX_COUNT_PAGE_SIZE))
    throw new ObjectStatsError("bad-request", `limit must be an integer from 1 to ${MAX_COUNT_PAGE_SIZE}`);
  return size;
}

/**
 * Answers `GET /count[?prefix=<top-level prefix>][&bucket=<monitored bucket>]`, and without a
 * prefix one page of the prefixes (`?limit`, `?next` from the previous answer). Throws
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
  const { prefix, limit, next } = request.query;
  if (prefix === undefined) {
    const size = pageSize(limit);
    const after = next === undefined ? undefined : decodeCursor(next);
    const [total, page] = await Promise.all([
      options.reader.readTotal(bucket),
      options.reader.readPrefixPage(bucket, size, after),
    ]);
    return {
      bucket,
      ...total,
      prefixes: page.prefixes,
      ...(page.lastPrefix === undefined ? {} : { next: encodeCursor(page.lastPrefix) }),
    };
  }
  if (limit !== undefined || next !== undefined)
    throw new ObjectStatsError("bad-request", "limit and next page the prefix listing: not with prefix");
  if (!isTopLevelPrefix(prefix))
    throw new ObjectStatsError(
      "bad-request",
      `prefix "${prefix}" is not a top-level prefix: give one path segment ending in "/" (images/), or an empty prefix for the root`,
    );
  return { bucket, prefix, ...(await options.reader.readPrefix(bucket, prefix)) };
}
