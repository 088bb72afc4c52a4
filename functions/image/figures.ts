import type { Metrics } from "@aws-lambda-powertools/metrics";
import { IMAGE_METRICS, MetricUnit } from "../shared/metrics";

const STATUS_METRIC: Readonly<Record<number, string>> = {
  2: IMAGE_METRICS.status2xx,
  4: IMAGE_METRICS.status4xx,
  5: IMAGE_METRICS.status5xx,
};

/** The image service's figures (names in functions/shared/metrics.ts), stored until the runtime publishes them. */
export class ImageFigures {
  constructor(private readonly metrics: Metrics) {}

  answered(status: number, outputBytes: number, ms: number): void {
    this.metrics.addMetric(IMAGE_METRICS.requests, MetricUnit.Count, 1);
    const byClass = STATUS_METRIC[Math.floor(status / 100)];
    if (byClass) this.metrics.addMetric(byClass, MetricUnit.Count, 1);
    this.metrics.addMetric(IMAGE_METRICS.processingTime, MetricUnit.Milliseconds, ms);
    this.metrics.addMetric(IMAGE_METRICS.outputBytes, MetricUnit.Bytes, outputBytes);
  }

  sourceRead(bytes: number): void {
    this.metrics.addMetric(IMAGE_METRICS.sourceBytes, MetricUnit.Bytes, bytes);
  }

  busy(): void {
    this.metrics.addMetric(IMAGE_METRICS.busy, MetricUnit.Count, 1);
  }
}
