/**
 * The counters table's layout, shared by the function and the Terraform that creates the table
 * (and by the tests, which create the same table in dynalite).
 */

/** Partition key (string): `BUCKET#<bucket>` for counters, `EVENT#<event id>` for dedupe records. */
export const PARTITION_KEY = "pk";
/** Sort key (string): `TOTAL`, `PREFIX#<top-level prefix>`, `SUMMARY` or `EVENT`. */
export const SORT_KEY = "sk";
/** Epoch seconds after which DynamoDB's TTL deletes a dedupe record. */
export const TTL_ATTRIBUTE = "expiresAt";

export const bucketPartition = (bucket: string) => `BUCKET#${bucket}`;
export const eventPartition = (eventId: string) => `EVENT#${eventId}`;
export const TOTAL_SORT_KEY = "TOTAL";
export const PREFIX_SORT_KEY_PREFIX = "PREFIX#";
export const prefixSortKey = (prefix: string) => `${PREFIX_SORT_KEY_PREFIX}${prefix}`;
export const SUMMARY_SORT_KEY = "SUMMARY";
export const EVENT_SORT_KEY = "EVENT";
/** Items holding the last summary's per-prefix snapshot, in chunks under DynamoDB's item limit. */
export const SUMMARY_CHUNK_SORT_KEY_PREFIX = "SUMMARY#";
export const summaryChunkSortKey = (eventId: string, index: number) =>
  `${SUMMARY_CHUNK_SORT_KEY_PREFIX}${eventId}#${String(index).padStart(5, "0")}`;
