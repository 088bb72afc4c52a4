/**
 * s3rver with the S3 versioning the invalidation function depends on (s3rver has none): every PUT
 * and DELETE of an object creates a version (`x-amz-version-id`), and HEAD `?versionId=` answers
 * for that exact version — an older one from its recorded headers, a delete marker with 405, an
 * unknown one with 404, like S3. GET of an older version is refused (501): no test reads old
 * bytes. It also records each HEAD, and can stall HEADs of chosen keys until the client gives up.
 */
import { randomBytes } from "node:crypto";
import { startS3, type LocalS3, type S3rverMiddleware } from "./local-servers";

interface Version {
  readonly id: string;
  readonly deleteMarker: boolean;
  /** The headers a HEAD of this version answers with (user metadata, content type, ETag). */
  readonly headers: Record<string, string>;
}

export interface VersionedS3Options {
  /** HEADs of these keys never answer (until the client aborts). */
  readonly stall?: (key: string) => boolean;
}

export interface VersionedS3 extends LocalS3 {
  /** The keys of every HEAD received, in order. */
  readonly heads: string[];
}

/** Headers of an object version worth replaying on a HEAD of it. */
function versionHeaders(request: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request)) {
    if (typeof value === "string" && (name.startsWith("x-amz-meta-") || name === "content-type")) headers[name] = value;
  }
  return headers;
}

export async function startVersionedS3(
  buckets: readonly string[],
  options: VersionedS3Options = {},
): Promise<VersionedS3> {
  const versions = new Map<string, Version[]>();
  const heads: string[] = [];
  const versioning: S3rverMiddleware = async (ctx, next) => {
    const [, bucket, ...rest] = ctx.path.split("/");
    const key = decodeURIComponent(rest.join("/"));
    // Only plain object requests of the configured buckets; subresources (?uploads, ?tagging...) pass.
    // (The SDK names its operation in `x-id`, e.g. `?x-id=PutObject`.)
    const queryNames = Object.keys(ctx.query).filter((name) => name !== "versionId" && name !== "x-id");
    if (!buckets.includes(bucket) || key === "" || queryNames.length > 0) return next();
    const id = `${bucket}/${key}`;
    const history = versions.get(id) ?? [];
    if (ctx.method === "PUT" || ctx.method === "DELETE") {
      await next();
      if (ctx.status >= 300) return;
      const version: Version = {
        id: randomBytes(16).toString("base64url"),
        deleteMarker: ctx.method === "DELETE",
        headers: versionHeaders(ctx.request.headers),
      };
      versions.set(id, [...history, version]);
      ctx.set("x-amz-version-id", version.id);
      if (version.deleteMarker) ctx.set("x-amz-delete-marker", "true");
      return;
    }
    if (ctx.method !== "HEAD" && ctx.method !== "GET") return next();
    if (ctx.method === "HEAD") {
      heads.push(key);
      if (options.stall?.(key)) {
        await new Promise((resolve) => ctx.req.once("close", resolve));
        return;
      }
    }
    const versionId = ctx.query.versionId;
    if (typeof versionId !== "string") return next();
    const index = history.findIndex((version) => version.id === versionId);
    if (index === -1) {
      ctx.status = 404;
      ctx.body = ctx.method === "HEAD" ? undefined : "<Error><Code>NoSuchVersion</Code></Error>";
      return;
    }
    const version = history[index];
    ctx.set("x-amz-version-id", version.id);
    if (version.deleteMarker) {
      ctx.set("x-amz-delete-marker", "true");
      ctx.status = 405;
      return;
    }
    if (index === history.length - 1) {
      // The current version is what s3rver stores.
      delete ctx.query.versionId;
      return next();
    }
    if (ctx.method === "GET") {
      ctx.status = 501;
      return;
    }
    for (const [name, value] of Object.entries(version.headers)) ctx.set(name, value);
    ctx.status = 200;
  };
  return { ...(await startS3(buckets, { middleware: versioning })), heads };
}
