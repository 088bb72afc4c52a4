/** Why a copy could not be done. Permanent reasons are recorded and never retried. */
export type CopyFailureReason =
  "source-not-found" | "too-large" | "integrity-mismatch" | "source-changed" | "short-read" | "aborted";

const PERMANENT_REASONS: ReadonlySet<CopyFailureReason> = new Set(["source-not-found", "too-large"]);

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
