import { Logger } from "@aws-lambda-powertools/logger";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from "aws-lambda";
import { isLegacyOrigin } from "../shared/cloudfront";
import { cachedHmacKey } from "../shared/gcs-hmac-key";
import { LEGACY_ORIGIN_DOMAIN } from "../shared/legacy-origin-domain";
import { GCS_HMAC_SECRET_ID, GCS_HMAC_SECRET_REGION, LEGACY_SIGNING_REGION } from "./constants";
import { signForGcs } from "./sign";

const logger = new Logger({ serviceName: "gcs-signer" });
const hmacKey = cachedHmacKey(new SecretsManagerClient({ region: GCS_HMAC_SECRET_REGION }), GCS_HMAC_SECRET_ID);

/**
 * Origin request: signs requests bound for the private legacy store (GCS or S3-compatible); every other request (the S3
 * origin of the same origin group, other origins) passes untouched and never reads the secret.
 */
export const handler = async (event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> => {
  const { request } = event.Records[0].cf;
  if (!isLegacyOrigin(request.origin, LEGACY_ORIGIN_DOMAIN)) return request;
  try {
    return await signForGcs(request, await hmacKey(), LEGACY_SIGNING_REGION);
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
