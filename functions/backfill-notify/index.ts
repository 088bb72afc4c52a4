// Placeholder (replaced by the backfill-code branch): references the compile-time constants.
declare const __BACKFILL_QUEUE_NAME__: string;
declare const __BACKFILL_QUEUE_REGION__: string;
declare const __LEGACY_ORIGIN_DOMAIN__: string;

export const handler = async (event: { Records: Array<{ cf: { response: unknown } }> }) => {
  console.log(
    JSON.stringify({
      queue: __BACKFILL_QUEUE_NAME__,
      region: __BACKFILL_QUEUE_REGION__,
      origin: __LEGACY_ORIGIN_DOMAIN__,
    }),
  );
  return event.Records[0].cf.response;
};
