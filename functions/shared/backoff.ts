import { setTimeout as sleepFor } from "node:timers/promises";

export interface BackoffOptions {
  /** Total attempts, the first included. */
  readonly attempts: number;
  /** Ceiling of the first retry's delay; it doubles each time (full jitter: a random share of it). */
  readonly baseDelayMs: number;
  /** @default no cap */
  readonly maxDelayMs?: number;
  /** Whether another attempt may succeed after this error. */
  readonly retryable: (error: unknown) => boolean;
  /**
   * Milliseconds the invocation has left: no retry starts whose wait plus `reserveMs` would not fit.
   * @default unbounded
   */
  readonly remainingTimeMs?: () => number;
  /** @default 0 */
  readonly reserveMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * Runs `work` until it succeeds, retrying retryable errors with exponential backoff and full
 * jitter; the last error is thrown when the attempts or the time run out. `work` gets the attempt
 * number (1-based).
 */
export async function withBackoff<T>(work: (attempt: number) => Promise<T>, options: BackoffOptions): Promise<T> {
  const sleep = options.sleep ?? sleepFor;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const ceiling = Math.min(
        options.maxDelayMs ?? Number.POSITIVE_INFINITY,
        options.baseDelayMs * 2 ** (attempt - 1),
      );
      const delay = Math.round(random() * ceiling);
      const timeLeft = options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
      if (!options.retryable(error) || attempt >= options.attempts || delay + (options.reserveMs ?? 0) > timeLeft) {
        throw error;
      }
      await sleep(delay);
    }
  }
}
