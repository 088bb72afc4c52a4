import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import sharp from "sharp";

/**
 * Placeholder so that the image stack bundles and packages sharp on this branch; the image-engine
 * branch replaces this file with the real handler.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  if (!event.queryStringParameters?.["x-oss-process"]) return { statusCode: 403, body: "" };
  const { format } = await sharp({ create: { width: 1, height: 1, channels: 3, background: "#fff" } }).metadata();
  return { statusCode: 501, body: `image processing is not implemented yet (sharp: ${format})` };
}
