// Placeholder (replaced by the backfill-code branch).
export const handler = async () => ({ redriven: 0 });
