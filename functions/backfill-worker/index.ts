// Placeholder (replaced by the backfill-code branch).
export const handler = async (event: { Records: unknown[] }) => ({
  batchItemFailures: [],
  received: event.Records.length,
});
