import { z } from "zod";
import { enabled } from "../primitives";

/** Memory of the Lambda@Edge functions: origin-facing triggers allow up to 10,240 MB; 128 is plenty for them. */
export const DEFAULT_EDGE_MEMORY_MB = 128;
/** Timeout of the Lambda@Edge functions: they make one small AWS call each. */
export const DEFAULT_EDGE_TIMEOUT_SECONDS = 5;
/** Lambda@Edge's ceiling for origin-request and origin-response functions. */
export const MAX_EDGE_ORIGIN_TIMEOUT_SECONDS = 30;

export const edgeSection = z
  .strictObject({
    enabled: enabled.meta({ description: "the `edge` stack exists when this is on and `legacyOrigin` is set" }),
    memoryMb: z
      .int()
      .min(128)
      .max(10_240, "must be at most 10240 (the Lambda@Edge limit for origin events)")
      .default(DEFAULT_EDGE_MEMORY_MB)
      .meta({ description: "memory of the Lambda@Edge functions (origin events allow up to 10240)" }),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(
        MAX_EDGE_ORIGIN_TIMEOUT_SECONDS,
        `must be at most ${MAX_EDGE_ORIGIN_TIMEOUT_SECONDS} (the Lambda@Edge limit for origin events)`,
      )
      .default(DEFAULT_EDGE_TIMEOUT_SECONDS)
      .meta({ description: "timeout of the Lambda@Edge functions (origin events allow 30 s)" }),
  })
  .meta({ description: "Lambda@Edge functions of the back-to-origin flow (stack `edge`, us-east-1)" });
