import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { CopyFailureReason } from "../shared/copy/errors";
import { BACKFILL_METRICS, MetricUnit, REASON_DIMENSION } from "../shared/metrics";

/** The worker's figures (names in functions/shared/metrics.ts), stored until the handler publishes them. */
export class BackfillFigures {
  constructor(private readonly metrics: Metrics) {}

  copied(bytes: number, seconds: number): void {
    this.metrics.addMetric(BACKFILL_METRICS.copied, MetricUnit.Count, 1);
    this.metrics.addMetric(BACKFILL_METRICS.bytesCopied, MetricUnit.Bytes, bytes);
    this.metrics.addMetric(BACKFILL_METRICS.copySeconds, MetricUnit.Seconds, seconds);
  }

  /** A fanned-out copy completed: its bytes count once, its time is spread over many workers. */
  assembled(bytes: number): void {
    this.metrics.addMetric(BACKFILL_METRICS.copied, MetricUnit.Count, 1);
    this.metrics.addMetric(BACKFILL_METRICS.bytesCopied, MetricUnit.Bytes, bytes);
  }

  skipped(): void {
    this.metrics.addMetric(BACKFILL_METRICS.skipped, MetricUnit.Count, 1);
  }

  fannedOut(): void {
    this.metrics.addMetric(BACKFILL_METRICS.fannedOut, MetricUnit.Count, 1);
  }

  partCopied(): void {
    this.metrics.addMetric(BACKFILL_METRICS.partsCopied, MetricUnit.Count, 1);
  }

  failed(reason: CopyFailureReason | "attempts-exhausted"): void {
    this.metrics.addMetric(BACKFILL_METRICS.failed, MetricUnit.Count, 1);
    // A separate EMF line: the reason dimension must not apply to the other figures.
    this.metrics
      .singleMetric()
      .addDimension(REASON_DIMENSION, reason)
      .addMetric(BACKFILL_METRICS.failedByReason, MetricUnit.Count, 1);
  }

  retried(): void {
    this.metrics.addMetric(BACKFILL_METRICS.retried, MetricUnit.Count, 1);
  }
}
