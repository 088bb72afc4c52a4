import { withBackoff } from "../backoff";
import { CopyError } from "./errors";

export interface RetryOptions {
  /** Total attempts, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; doubles each time, with full jitter. */
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 200 };

/**
 * Retries work the SDK cannot retry by itself: a body stream that breaks after the headers
 * arrived (the SDK's own retries, with backoff for throttling and 5xx, cover the request).
 * Permanent copy errors and integrity mismatches are not retried here.
 */
export function withRetries<T>(work: () => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  return withBackoff(work, { ...options, retryable: isRetryable });
}

/** Broken streams, throttling and server errors are worth another try; client errors are not. */
function isRetryable(error: unknown): boolean {
  if (error instanceof CopyError) return error.reason === "short-read";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
