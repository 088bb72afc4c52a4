import { ObjectStatsError } from "./errors";

/** An S3 change that moves the counters, taken from an EventBridge event. */
export interface ObjectChange {
  /** The EventBridge event id: a redelivery carries the same id. */
  readonly eventId: string;
  readonly kind: "created" | "removed";
  readonly bucket: string;
  /** The decoded object key. */
  readonly key: string;
  /** Top-level prefix: the key up to and including its first `/`; `""` (root) when it has none. */
  readonly prefix: string;
  /** Bytes added (the new object's size); 0 for removals, whose events carry no size. */
  readonly bytes: number;
  /** When S3 emitted the event (ISO 8601). */
  readonly time: string;
  /** S3's reason: PutObject, CopyObject, CompleteMultipartUpload, DeleteObject, Lifecycle Expiration... */
  readonly reason: string;
}

/** What one EventBridge event means for the counters. */
export type EventOutcome =
  | { readonly type: "change"; readonly change: ObjectChange }
  /** A valid event that does not change what a viewer sees (see `changeFromEvent`). */
  | { readonly type: "ignored"; readonly eventId: string; readonly why: string };

export const OBJECT_CREATED = "Object Created";
export const OBJECT_DELETED = "Object Deleted";
export const DELETE_MARKER_CREATED = "Delete Marker Created";
export const PERMANENTLY_DELETED = "Permanently Deleted";

/** The top-level prefix of a key: `images/a/b.jpg` → `images/`, `a.txt` → `""` (root). */
export function topLevelPrefix(key: string): string {
  const slash = key.indexOf("/");
  return slash === -1 ? "" : key.slice(0, slash + 1);
}

/** A top-level prefix as `GET /count?prefix=` accepts it: `""` (root) or one segment ending in `/`. */
export function isTopLevelPrefix(prefix: string): boolean {
  return prefix === "" || /^[^/]*\/$/.test(prefix);
}

/** S3 event keys are form-encoded: `+` is a space, `%XX` a UTF-8 byte. */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch {
    throw new ObjectStatsError("malformed-event", `detail.object.key "${encoded}" is not valid URL encoding`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function field(parent: unknown, path: string): unknown {
  let value: unknown = parent;
  for (const part of path.split(".")) value = isRecord(value) ? value[part] : undefined;
  return value;
}

function requiredString(event: unknown, path: string): string {
  const value = field(event, path);
  if (typeof value !== "string" || value === "")
    throw new ObjectStatsError("malformed-event", `${path} is missing or not a non-empty string`);
  return value;
}

/**
 * Reads an S3 "Object Created" / "Object Deleted" event as EventBridge delivers it
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html). Throws
 * `ObjectStatsError("malformed-event")` for anything else.
 *
 * Deletions (the primary bucket is versioned):
 * - `Delete Marker Created` counts as removed: a viewer no longer gets the object.
 * - `Permanently Deleted` without a version id counts as removed: the bucket is unversioned and
 *   the object is gone.
 * - `Permanently Deleted` of a specific version is ignored: either the version was noncurrent
 *   (lifecycle expiry of old versions, or cleanup after a delete marker that was already counted),
 *   or an operator purged a version by id; counting it would count one removal twice.
 * Deleted events carry no size, so removals never subtract bytes: `bytes` is bytes added.
 */
export function changeFromEvent(event: unknown): EventOutcome {
  const eventId = requiredString(event, "id");
  const source = field(event, "source");
  if (source !== "aws.s3")
    throw new ObjectStatsError("malformed-event", `source is ${JSON.stringify(source)}, not aws.s3`);
  const detailType = requiredString(event, "detail-type");
  const bucket = requiredString(event, "detail.bucket.name");
  const key = decodeS3Key(requiredString(event, "detail.object.key"));
  const time = requiredString(event, "time");
  const reason = typeof field(event, "detail.reason") === "string" ? (field(event, "detail.reason") as string) : "";
  const base = { eventId, bucket, key, prefix: topLevelPrefix(key), time, reason };

  if (detailType === OBJECT_CREATED) {
    const size = field(event, "detail.object.size");
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw new ObjectStatsError("malformed-event", "detail.object.size is missing or not a non-negative integer");
    return { type: "change", change: { ...base, kind: "created", bytes: size } };
  }
  if (detailType === OBJECT_DELETED) {
    const deletionType = field(event, "detail.deletion-type");
    const versionId = field(event, "detail.object.version-id");
    if (deletionType === DELETE_MARKER_CREATED || (deletionType === PERMANENTLY_DELETED && versionId === undefined))
      return { type: "change", change: { ...base, kind: "removed", bytes: 0 } };
    if (deletionType === PERMANENTLY_DELETED)
      return { type: "ignored", eventId, why: "permanent deletion of a specific version: not a removal a viewer sees" };
    throw new ObjectStatsError(
      "malformed-event",
      `detail.deletion-type ${JSON.stringify(deletionType)} is neither "${DELETE_MARKER_CREATED}" nor "${PERMANENTLY_DELETED}"`,
    );
  }
  throw new ObjectStatsError(
    "malformed-event",
    `detail-type "${detailType}" is not ${OBJECT_CREATED} or ${OBJECT_DELETED}`,
  );
}
