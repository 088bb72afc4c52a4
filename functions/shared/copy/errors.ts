/** Why a copy could not be done. Permanent reasons are recorded and never retried. */
export type CopyFailureReason =
  | "source-not-found"
  | "too-large"
  | "integrity-mismatch"
  | "source-changed"
  | "short-read"
  | "aborted"
  /** S3 holds an object the migration did not write (or a newer one): reported, never overwritten. */
  | "newer-in-s3"
  /** A concurrent write to the key (409 ConditionalRequestConflict, or the copy to replace was deleted). */
  | "write-conflict"
  /** S3 refused the object's metadata even after it was fitted to S3's limits. */
  | "metadata-rejected"
  /** The upload was aborted or expired while parts were being written. */
  | "upload-gone";

const PERMANENT_REASONS: ReadonlySet<CopyFailureReason> = new Set([
  "source-not-found",
  "too-large",
  "newer-in-s3",
  "metadata-rejected",
]);

/** The one error type of the copy engine: a reason code, the key, and whether retrying can help. */
export class CopyError extends Error {
  readonly permanent: boolean;
  constructor(
    readonly reason: CopyFailureReason,
    readonly key: string,
    detail: string,
  ) {
    super(`${key}: ${reason}: ${detail}`);
    this.name = "CopyError";
    this.permanent = PERMANENT_REASONS.has(reason);
  }
}

/** Marks SDK errors that name a missing object (HEAD answers a bare 404, GET a NoSuchKey). */
export function isNotFound(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    candidate?.name === "NotFound" || candidate?.name === "NoSuchKey" || candidate?.$metadata?.httpStatusCode === 404
  );
}

/**
 * Maps S3's answers to a conditional write: 412 PreconditionFailed (the key holds something else
 * now), 409 ConditionalRequestConflict or a 404 to `If-Match` (another write raced this one),
 * 404 NoSuchUpload (the upload is gone), 400 on metadata. Anything else is returned unchanged.
 */
export function writeError(error: unknown, key: string): unknown {
  const candidate = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = candidate?.$metadata?.httpStatusCode;
  if (status === 412 || candidate?.name === "PreconditionFailed") {
    return new CopyError("newer-in-s3", key, "S3 holds an object the migration did not write");
  }
  if (candidate?.name === "NoSuchUpload")
    return new CopyError("upload-gone", key, "the multipart upload no longer exists");
  if (status === 409 || status === 404) return new CopyError("write-conflict", key, candidate?.message ?? "conflict");
  if (candidate?.name === "MetadataTooLarge" || (status === 400 && /metadata/i.test(candidate?.message ?? ""))) {
    return new CopyError("metadata-rejected", key, candidate?.message ?? "metadata refused");
  }
  return error;
}
