/**
 * A counting semaphore with a FIFO queue whose waiters leave when their request's signal aborts.
 * The container server holds two: one bounds the requests that hold a source in memory, the
 * other the images being processed (CPU).
 */
export class Slots {
  private taken = 0;
  private readonly waiting: Array<() => void> = [];
  private idle?: () => void;

  constructor(readonly size: number) {}

  /** Slots in use. */
  get busy(): number {
    return this.taken;
  }

  /** Waiters in the queue. */
  get queued(): number {
    return this.waiting.length;
  }

  get full(): boolean {
    return this.taken >= this.size;
  }

  /**
   * Takes a slot, waiting in line when none is free. Resolves with the function that gives it
   * back, or with undefined when `signal` aborts first (the waiter has left the queue then).
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (!this.full) return Promise.resolve(this.take());
    return new Promise((resolve) => {
      const admit = () => {
        signal?.removeEventListener("abort", leave);
        resolve(this.take());
      };
      const leave = () => {
        const at = this.waiting.indexOf(admit);
        if (at !== -1) this.waiting.splice(at, 1);
        this.settle();
        resolve(undefined);
      };
      this.waiting.push(admit);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }

  /** Resolves once no slot is taken and nobody waits. */
  drained(): Promise<void> {
    if (this.taken === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  private take(): () => void {
    this.taken++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.taken--;
      // The slot goes straight to the next waiter: `taken` counts it again in `admit`.
      const next = this.waiting.shift();
      if (next) next();
      else this.settle();
    };
  }

  private settle(): void {
    if (this.taken === 0 && this.waiting.length === 0 && this.idle) {
      this.idle();
      this.idle = undefined;
    }
  }
}
