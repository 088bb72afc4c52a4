import { setTimeout as sleep } from "node:timers/promises";
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
export async function withRetries<T>(work: () => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || attempt >= options.attempts) throw error;
      await sleep(Math.random() * options.baseDelayMs * 2 ** (attempt - 1));
    }
  }
}

/** Broken streams, throttling and server errors are worth another try; client errors are not. */
function isRetryable(error: unknown): boolean {
  if (error instanceof CopyError) return error.reason === "short-read";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
