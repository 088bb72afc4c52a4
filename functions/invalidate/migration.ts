/**
 * Tells the migration's own copies apart from every other write, so that a copy of bytes CloudFront
 * already serves from the legacy store purges no cache. The copy engine marks each version it
 * writes (functions/shared/migration-write.ts); this reads the mark with one HEAD of the exact
 * version in the event. Anything short of a readable `created` mark invalidates.
 */
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { MIGRATION_WRITE_METADATA, MigrationWrite } from "../shared/migration-write";
import type { ObjectChange } from "./invalidate";

/** HEADs in flight at once: 10,000 keys take ~300 round trips of a few milliseconds in-region. */
export const MIGRATION_CHECK_CONCURRENCY = 32;
/** The longest one HEAD may take before its key is invalidated anyway. */
export const MIGRATION_CHECK_TIMEOUT_MS = 2_000;
/** The longest all HEADs of a batch may take; keys not checked by then are invalidated. */
export const MIGRATION_CHECK_BUDGET_MS = 30_000;

export interface MigrationCheckDependencies {
  readonly s3: S3Client;
  /** The bucket the migration writes into: only its Object Created events can be migration writes. */
  readonly bucket: string;
  /** @default MIGRATION_CHECK_CONCURRENCY */
  readonly concurrency?: number;
  /** @default MIGRATION_CHECK_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default MIGRATION_CHECK_BUDGET_MS */
  readonly budgetMs?: number;
}

export interface MigrationCheck {
  /** The changes to invalidate. */
  readonly invalidate: readonly ObjectChange[];
  /** Changes of keys the migration created, where S3 had nothing: no invalidation. */
  readonly skipped: readonly ObjectChange[];
  /** HEADs sent (at most one per key). */
  readonly checked: number;
  /** HEADs that failed or ran out of time: their keys are invalidated. */
  readonly failed: number;
}

/**
 * The one version of a key whose mark decides, or undefined when the key must be invalidated
 * without a look: any change of it in the batch other than one Object Created event of a known
 * version (a delete, a restore, a second version) is a write the migration did not make alone.
 * Redeliveries of the same event count once.
 */
function candidateVersion(changes: readonly ObjectChange[], bucket: string): string | undefined {
  const versions = new Set<string | undefined>();
  for (const change of changes) {
    if (change.type !== "Object Created" || change.bucket !== bucket || !change.versionId) return undefined;
    versions.add(change.versionId);
  }
  return versions.size === 1 ? [...versions][0] : undefined;
}

/**
 * Splits a batch into the changes to invalidate and the migration's own creations. At most one
 * HEAD per key, `concurrency` at a time, each bounded by `timeoutMs` and all by `budgetMs`; a key
 * whose HEAD fails, times out or finds any mark but `created` is invalidated.
 */
export async function excludeMigrationWrites(
  changes: readonly ObjectChange[],
  deps: MigrationCheckDependencies,
): Promise<MigrationCheck> {
  const byKey = new Map<string, ObjectChange[]>();
  for (const change of changes) {
    const same = byKey.get(change.key);
    if (same) same.push(change);
    else byKey.set(change.key, [change]);
  }
  const candidates: Array<{ key: string; versionId: string }> = [];
  for (const [key, keyChanges] of byKey) {
    const versionId = candidateVersion(keyChanges, deps.bucket);
    if (versionId) candidates.push({ key, versionId });
  }

  const created = new Set<string>();
  let checked = 0;
  let failed = 0;
  const budget = AbortSignal.timeout(deps.budgetMs ?? MIGRATION_CHECK_BUDGET_MS);
  const timeoutMs = deps.timeoutMs ?? MIGRATION_CHECK_TIMEOUT_MS;
  let next = 0;
  const worker = async () => {
    while (next < candidates.length && !budget.aborted) {
      const { key, versionId } = candidates[next++];
      checked++;
      try {
        const head = await deps.s3.send(
          new HeadObjectCommand({ Bucket: deps.bucket, Key: key, VersionId: versionId }),
          {
            abortSignal: AbortSignal.any([budget, AbortSignal.timeout(timeoutMs)]),
          },
        );
        // The SDK gives user metadata with the `x-amz-meta-` prefix removed and names lower-cased.
        if (head.Metadata?.[MIGRATION_WRITE_METADATA] === MigrationWrite.created) created.add(key);
      } catch {
        failed++;
      }
    }
  };
  const workers = Math.min(deps.concurrency ?? MIGRATION_CHECK_CONCURRENCY, candidates.length);
  await Promise.all(Array.from({ length: workers }, worker));

  const invalidate: ObjectChange[] = [];
  const skipped: ObjectChange[] = [];
  for (const change of changes) (created.has(change.key) ? skipped : invalidate).push(change);
  return { invalidate, skipped, checked, failed };
}
