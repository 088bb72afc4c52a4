/**
 * Lambda variant: API Gateway HTTP API (payload format 2.0) or a Lambda Function URL (the same shape).
 * Bundled with esbuild; `sharp` stays external and is packaged next to the bundle with its linux binaries.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  LambdaFunctionURLEvent,
} from "aws-lambda";
import { createMetrics, publishFigures } from "../shared/metrics";
import { configureImageRuntime } from "./engine";
import { ImageFigures } from "./figures";
import { createServiceFromEnv, errorResponse, type ImageResponse, type ImageService } from "./service";

/** Synchronous invocation response payload limit (6 MB), measured on the JSON the function returns. */
export const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;

/** Time kept to encode and return the answer when the function's own timeout comes first. */
export const LAMBDA_ANSWER_MARGIN_MS = 1_000;

export type ImageEvent = APIGatewayProxyEventV2 | LambdaFunctionURLEvent;

let service: ImageService | undefined;
const metrics = createMetrics();
configureImageRuntime();

/** The service (logger and SDK clients included) is built once per execution environment, on first use. */
export const handler = async (event: ImageEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  service ??= createServiceFromEnv(process.env, new Logger({ serviceName: "image" }), new ImageFigures(metrics));
  try {
    return await createHandler(service)(event, context);
  } finally {
    publishFigures(metrics);
  }
};

export function createHandler(imageService: ImageService) {
  return async (event: ImageEvent, context?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext.requestId ?? context?.awsRequestId ?? "";
    const response = await imageService.handle({
      method: event.requestContext.http.method,
      path: event.rawPath,
      query: event.rawQueryString ?? "",
      headers: event.headers ?? {},
      requestId,
      // Answer before Lambda stops the function: a timed-out invocation is a 502 at CloudFront.
      timeLeftMs: context?.getRemainingTimeInMillis
        ? context.getRemainingTimeInMillis() - LAMBDA_ANSWER_MARGIN_MS
        : undefined,
    });
    return toLambdaResult(response, requestId);
  };
}

/** Binary body in base64; a result past the response limit becomes a 413 that says so. */
export function toLambdaResult(response: ImageResponse, requestId: string): APIGatewayProxyStructuredResultV2 {
  const result = { statusCode: response.status, headers: response.headers, isBase64Encoded: true, body: "" };
  // base64 turns every 3 bytes (or part of 3) into 4 characters, none of which JSON escapes.
  const encodedLength = 4 * Math.ceil(response.body.length / 3);
  const payloadLength = Buffer.byteLength(JSON.stringify(result)) + encodedLength;
  if (payloadLength > LAMBDA_RESPONSE_LIMIT) {
    const tooLarge = errorResponse(
      413,
      "ResponseTooLarge",
      `the processed image is ${response.body.length} bytes (${payloadLength} bytes as a Lambda response); ` +
        `the limit is ${LAMBDA_RESPONSE_LIMIT} bytes: ask for a smaller size, a lower quality or a compressed format`,
      requestId,
    );
    return toLambdaResult(tooLarge, requestId);
  }
  return { ...result, body: response.body.toString("base64") };
}
