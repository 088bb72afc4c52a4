/**
 * How the migration marks the objects it writes, so that the automatic invalidation can tell a
 * copy of bytes CloudFront already serves from the legacy store (no purge) from any other write.
 * Shared by the copy engine (which sets it) and the invalidation function (which reads it with one
 * HEAD of the written version).
 */

/** User metadata (`x-amz-meta-<name>`) on every object version the copy engine writes. */
export const MIGRATION_WRITE_METADATA = "s3edge-migration-write";

export const MigrationWrite = {
  /** The migration created the key where S3 had no object: nothing to invalidate. */
  created: "created",
  /** The migration replaced its own earlier copy because the source changed: invalidated like any write. */
  replaced: "replaced",
} as const;
export type MigrationWrite = (typeof MigrationWrite)[keyof typeof MigrationWrite];
