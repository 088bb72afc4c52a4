import { z } from "zod";
import { LAMBDA_EDGE_LIMITS, LAMBDA_MIN_MEMORY_MB } from "../aws-facts";
import { enabled } from "../primitives";
import { DEFAULT_EDGE_MEMORY_MB, DEFAULT_EDGE_TIMEOUT_SECONDS } from "../../constructs/defaults";

const { maxMemoryMb, maxTimeoutSeconds } = LAMBDA_EDGE_LIMITS.origin;

export const edgeSection = z
  .strictObject({
    enabled: enabled.meta({ description: "the `edge` stack exists when this is on and `legacyOrigin` is set" }),
    memoryMb: z
      .int()
      .min(LAMBDA_MIN_MEMORY_MB)
      .max(maxMemoryMb, `must be at most ${maxMemoryMb} (the Lambda@Edge limit for origin events)`)
      .default(DEFAULT_EDGE_MEMORY_MB)
      .meta({ description: "memory of the Lambda@Edge functions (origin events allow up to 10240)" }),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(maxTimeoutSeconds, `must be at most ${maxTimeoutSeconds} (the Lambda@Edge limit for origin events)`)
      .default(DEFAULT_EDGE_TIMEOUT_SECONDS)
      .meta({ description: "timeout of the Lambda@Edge functions (origin events allow 30 s)" }),
  })
  .meta({ description: "Lambda@Edge functions of the back-to-origin flow (stack `edge`, us-east-1)" });
