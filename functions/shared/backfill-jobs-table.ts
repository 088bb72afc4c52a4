/**
 * The backfill jobs table's layout, shared by the job store, the Terraform that creates the table
 * and the tests that create it in dynalite.
 */

/** Partition key (string): `object#<key>` for a copy job, `part#<upload id>#<n>` for a fanned-out part. */
export const JOBS_PARTITION_KEY = "pk";
/** Epoch seconds after which DynamoDB's TTL deletes a record. */
export const JOBS_TTL_ATTRIBUTE = "expiresAt";
/** The `by-status` index: hash `status`, range `updatedAt` (epoch ms). Part records have no status. */
export const JOBS_STATUS_INDEX = "by-status";
export const JOBS_STATUS_ATTRIBUTE = "status";
export const JOBS_UPDATED_AT_ATTRIBUTE = "updatedAt";
