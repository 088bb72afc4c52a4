/**
 * Bytes of object data one process may hold at once, shared by every copy it runs (the worker runs
 * a batch's records in parallel, and parts grow to 525 MiB for a 5 TiB object). A buffer is read
 * only after its bytes were granted; one larger than the whole budget waits until it is alone.
 */
export class MemoryBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];
  /** The most bytes granted at once (what a test compares with the limit). */
  peakBytes = 0;

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError("a memory budget must be positive");
  }

  /** Waits for `bytes` (first come, first served) and returns the function that gives them back. */
  async acquire(bytes: number): Promise<() => void> {
    if (this.waiting.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((grant) => this.waiting.push({ bytes, grant }));
    } else {
      this.take(bytes);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.wake();
    };
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limitBytes;
  }

  private take(bytes: number): void {
    this.used += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.used);
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.take(next.bytes);
      next.grant();
    }
  }
}
