// Placeholder (replaced by the backfill-code branch): references the compile-time constants.
declare const __GCS_HMAC_SECRET_ID__: string;
declare const __GCS_HMAC_SECRET_REGION__: string;
declare const __LEGACY_ORIGIN_DOMAIN__: string;

export const handler = async (event: { Records: Array<{ cf: { request: unknown } }> }) => {
  console.log(
    JSON.stringify({
      secret: __GCS_HMAC_SECRET_ID__,
      region: __GCS_HMAC_SECRET_REGION__,
      origin: __LEGACY_ORIGIN_DOMAIN__,
    }),
  );
  return event.Records[0].cf.request;
};
