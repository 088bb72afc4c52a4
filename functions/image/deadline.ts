import { ImageError } from "./errors";

/**
 * When a request's work stops: at its deadline, or as soon as its client goes away. Each sharp
 * pipeline gets the seconds left as its libvips timeout (libvips counts whole seconds, so a
 * pipeline may run up to a second past the deadline), and the engine checks between steps.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly cancel = () => this.controller.abort(this.cancelled?.reason);

  /**
   * `ms` from now, sooner when `cancelled` (the client's disconnect) aborts. One controller and one
   * timer, both let go by `dispose`: AbortSignal.timeout and AbortSignal.any cost 55 µs a request,
   * held their timer for the whole deadline and left weak references for the collector.
   */
  constructor(
    readonly ms: number,
    private readonly cancelled?: AbortSignal,
    private readonly started = Date.now(),
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(
      () => this.controller.abort(new DOMException("the deadline passed", "TimeoutError")),
      Math.max(1, ms),
    ).unref();
    if (cancelled?.aborted) this.cancel();
    else cancelled?.addEventListener("abort", this.cancel, { once: true });
  }

  /** Once the request is answered: stops the timer and stops listening to the client. */
  dispose(): void {
    clearTimeout(this.timer);
    this.cancelled?.removeEventListener("abort", this.cancel);
  }

  /** Milliseconds left (0 once expired or cancelled). */
  remaining(): number {
    return this.signal.aborted ? 0 : Math.max(0, this.started + this.ms - Date.now());
  }

  /** libvips' timeout for the next pipeline: the seconds left, rounded up, at least 1. */
  seconds(): number {
    return Math.max(1, Math.ceil(this.remaining() / 1000));
  }

  /** Throws the reason the work stopped, if it did. */
  check(): void {
    if (this.signal.aborted) throw this.error();
  }

  /** What the work is answered with once it stopped. */
  error(): ImageError {
    const reason = this.signal.reason as { name?: string } | undefined;
    if (reason?.name === "TimeoutError")
      return new ImageError(
        "ServiceUnavailable",
        `the request took longer than its ${this.ms} ms deadline; its work was abandoned`,
      );
    return new ImageError("ServiceUnavailable", "the client went away; the request's work was abandoned");
  }

  /**
   * `work`'s outcome, or the reason the work stopped as soon as it stops. The abort listener goes
   * once `work` settles: left on the signal, it kept each answered request's response reachable
   * until the deadline's timer fired (25 s of responses at a time, hundreds of MB under load).
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.error());
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(this.error());
      this.signal.addEventListener("abort", stop, { once: true });
      work.then(resolve, reject).finally(() => this.signal.removeEventListener("abort", stop));
    });
  }
}
