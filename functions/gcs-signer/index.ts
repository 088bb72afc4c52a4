import { Logger } from "@aws-lambda-powertools/logger";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from "aws-lambda";
import { isLegacyOrigin } from "../shared/cloudfront";
import { cachedHmacKey } from "../shared/gcs-hmac-key";
import { compiledSettings } from "./environment";
import { signForGcs } from "./sign";

const settings = compiledSettings();
const logger = new Logger({ serviceName: "gcs-signer" });
const hmacKey = cachedHmacKey(new SecretsManagerClient({ region: settings.hmacSecretRegion }), settings.hmacSecretId);

/**
 * Origin request: signs requests bound for the private legacy store (GCS or S3-compatible); every other request (the S3
 * origin of the same origin group, other origins) passes untouched and never reads the secret.
 */
export const handler = async (event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> => {
  const { request } = event.Records[0].cf;
  if (!isLegacyOrigin(request.origin, settings.legacyOriginDomain)) return request;
  try {
    return await signForGcs(request, await hmacKey(), settings.signingRegion);
  } catch (error) {
    // Unsigned, GCS would answer 403 and CloudFront might cache it: answer a short, uncached 503 instead.
    logger.error("cannot sign the request for GCS", { uri: request.uri, error: error as Error });
    return {
      status: "503",
      statusDescription: "Service Unavailable",
      headers: {
        "cache-control": [{ key: "Cache-Control", value: "no-store" }],
        "content-type": [{ key: "Content-Type", value: "text/plain" }],
      },
      body: "The legacy origin's credentials are unavailable; retry shortly.",
    };
  }
};
