/**
 * What the storage-replication stack creates for `npm run replicate-existing` and the script reads
 * back from its Terraform outputs: one module, so that the names cannot drift apart.
 */

/** Key prefix of the completion reports in the reports bucket; the role may write only below it. */
export const BATCH_REPLICATION_REPORT_PREFIX = "batch-replication";

/** storage-replication outputs the script reads. */
export const BATCH_REPLICATION_OUTPUTS = {
  roleArn: "batch_replication_role_arn",
  reportBucketName: "batch_replication_report_bucket_name",
  primaryBucketName: "primary_bucket_name",
  primaryBucketRegion: "primary_bucket_region",
} as const;

/** The service whose principal (`batchoperations.s3.<partition dns suffix>`) runs the jobs and assumes the role. */
export const BATCH_OPERATIONS_SERVICE = "batchoperations.s3";
