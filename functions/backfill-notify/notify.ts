import type { CloudFrontRequest, CloudFrontResponse } from "aws-lambda";
import type { CopyJobMessage } from "../shared/backfill-messages";
import { headerValue, isLegacyOrigin, objectKeyFromUri } from "../shared/cloudfront";

/** GCS answers that mean "this object exists": a full body, a range of it, or "not modified". */
const COPYABLE_STATUSES = new Set(["200", "206", "304"]);

/**
 * The copy job to send for an origin response, or undefined: only responses of the legacy GCS
 * origin (in an origin group, the secondary that answered after S3 missed) with 200/206/304 and a
 * URI that can name an object.
 */
export function copyJobFor(
  request: CloudFrontRequest,
  response: CloudFrontResponse,
  legacyDomain: string,
): CopyJobMessage | undefined {
  if (!isLegacyOrigin(request.origin, legacyDomain) || !COPYABLE_STATUSES.has(String(response.status))) {
    return undefined;
  }
  const key = objectKeyFromUri(request.uri);
  if (key === undefined) return undefined;
  const job: CopyJobMessage = { type: "copy", key };
  const size = objectSize(response);
  if (size !== undefined) job.size = size;
  const etag = headerValue(response.headers, "etag");
  if (etag) job.etag = etag;
  const contentType = headerValue(response.headers, "content-type");
  if (contentType) job.contentType = contentType;
  const lastModified = headerValue(response.headers, "last-modified");
  if (lastModified) job.lastModified = lastModified;
  return job;
}

/** The whole object's size: GCS's stored length, the total of a Content-Range, or a 200's Content-Length. */
function objectSize(response: CloudFrontResponse): number | undefined {
  const stored = headerValue(response.headers, "x-goog-stored-content-length");
  const total = /\/(\d+)$/.exec(headerValue(response.headers, "content-range") ?? "")?.[1];
  const length = String(response.status) === "200" ? headerValue(response.headers, "content-length") : undefined;
  const value = stored ?? total ?? length;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export type SendOutcome = { readonly sent: true } | { readonly sent: false; readonly reason: string };

/**
 * Runs `send` for at most `budgetMs`: the signal aborts the SDK call, and the race returns even if
 * a call ignores it. Never throws: a lost notification only delays the copy to the next miss.
 */
export async function sendWithinBudget(
  send: (signal: AbortSignal) => Promise<unknown>,
  budgetMs: number,
): Promise<SendOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<SendOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ sent: false, reason: `no answer within ${budgetMs} ms` });
    }, budgetMs);
  });
  try {
    return await Promise.race([send(controller.signal).then((): SendOutcome => ({ sent: true })), expired]);
  } catch (error) {
    return { sent: false, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
