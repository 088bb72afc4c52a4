import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { JOBS_STATUS_INDEX } from "./backfill-jobs-table";
import type { MigrateOutcome, UploadedPart, WriteCondition } from "./copy/engine";

export const JobStatus = {
  inProgress: "in-progress",
  /** After a transient failure: claimable again from `retryAt` (a later miss, or the sweeper, brings it back). */
  retrying: "retrying",
  done: "done",
  /** A permanent failure (recorded with its reason): tried again only when the source object changes. */
  failed: "failed",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** How long records live (DynamoDB TTL on `expiresAt`). A done record only needs to outlive a burst of misses. */
const TTL_SECONDS = { done: 3600, failed: 7 * 86_400, active: 7 * 86_400 } as const;

/** A job: one object being copied. `pk` is `object#<key>`. */
export interface JobRecord {
  readonly pk: string;
  readonly key: string;
  readonly status: JobStatus;
  readonly updatedAt: number;
  readonly expiresAt: number;
  readonly sourceEtag?: string;
  readonly size?: number;
  /** Claims since the last success. */
  readonly attempts?: number;
  /** Transient failures in the current streak (reset once `lastFailureAt` is older than the cool-down). */
  readonly failures?: number;
  readonly lastFailureAt?: number;
  /** A retrying job is not claimed before this (epoch ms). */
  readonly retryAt?: number;
  /** When the parts of a fanned-out copy were (last) queued (epoch ms). */
  readonly queuedAt?: number;
  /** Fan-out copies: how the completion writes the key. */
  readonly writeMode?: WriteCondition["mode"];
  readonly replaceEtag?: string;
  /** Fan-out copies: the upload the parts go to and how many there are. */
  readonly uploadId?: string;
  readonly partCount?: number;
  readonly partSize?: number;
  readonly doneParts?: Set<number>;
  readonly error?: string;
  /** Over CloudFront's 30 GB cacheable limit. */
  readonly overCloudFrontLimit?: boolean;
}

export interface DoneDetails {
  readonly outcome: MigrateOutcome;
  readonly bytes?: number;
  readonly verifiedWith?: string;
  readonly overCloudFrontLimit?: boolean;
}

export type PartCount = "last" | "counted" | "repeat-complete" | "repeat" | "stale";

/** Backoff of transient failures: doubles from `baseMs` up to `maxMs`; a streak ends after `coolDownMs` without failure. */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly coolDownMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 60_000, maxMs: 6 * 3_600_000, coolDownMs: 24 * 3_600_000 };

const objectPk = (key: string) => `object#${key}`;
/** One record holding the SentTimestamp of the newest message the workers have taken from the queue. */
const QUEUE_PROGRESS_PK = "queue#progress";
const partPk = (uploadId: string, partNumber: number) => `part#${uploadId}#${partNumber}`;
const NAMES = { "#status": "status", "#key": "key", "#size": "size", "#error": "error" };

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || (error as Error)?.name === "ConditionalCheckFailedException"
  );
}

/** The jobs table: dedupe of concurrent requests, fan-out part counters, permanent failures. */
export class JobStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** A job whose record has not moved for this long is considered stalled. */
    readonly stallMs: number,
    private readonly now: () => number = Date.now,
    readonly retryPolicy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  /** The failure streak and retry time after one more transient failure of `job`. */
  private nextRetry(job: Pick<JobRecord, "failures" | "lastFailureAt">) {
    const now = this.now();
    const { baseMs, maxMs, coolDownMs } = this.retryPolicy;
    const inStreak = job.lastFailureAt !== undefined && now - job.lastFailureAt < coolDownMs;
    const failures = inStreak ? (job.failures ?? 0) + 1 : 1;
    return { failures, lastFailureAt: now, retryAt: now + Math.min(maxMs, baseMs * 2 ** (failures - 1)) };
  }

  private expiry(seconds: number): number {
    return Math.floor(this.now() / 1000) + seconds;
  }

  /**
   * Takes the job for this version of the object, or returns undefined when another worker holds
   * it, this version is done or failed for good, or a transient failure's backoff has not run out.
   * Only one of many concurrent claims succeeds. A stalled claim is not taken here: the sweeper
   * takes it over (it aborts the upload the stalled copy left, and knows a queued copy from a stalled one).
   */
  async claim(key: string, sourceEtag: string, size: number): Promise<JobRecord | undefined> {
    const now = this.now();
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: objectPk(key) },
          UpdateExpression:
            "SET #key = :key, #status = :inProgress, updatedAt = :now, expiresAt = :expiresAt, sourceEtag = :etag, #size = :size" +
            " ADD attempts :one REMOVE uploadId, partCount, partSize, doneParts, #error, retryAt, queuedAt, writeMode, replaceEtag",
          ConditionExpression:
            "attribute_not_exists(pk) OR (#status = :retrying AND (attribute_not_exists(retryAt) OR retryAt <= :now))" +
            " OR (#status IN (:done, :failed) AND (attribute_not_exists(sourceEtag) OR sourceEtag <> :etag))",
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ":key": key,
            ":inProgress": JobStatus.inProgress,
            ":failed": JobStatus.failed,
            ":retrying": JobStatus.retrying,
            ":done": JobStatus.done,
            ":now": now,
            ":expiresAt": this.expiry(TTL_SECONDS.active),
            ":etag": sourceEtag,
            ":size": size,
            ":one": 1,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return Attributes as JobRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<JobRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: objectPk(key) }, ConsistentRead: true }),
    );
    return Item as JobRecord | undefined;
  }

  /** Keeps a long copy from looking stalled. */
  async heartbeat(key: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: objectPk(key) },
          UpdateExpression: "SET updatedAt = :now",
          ConditionExpression: "#status = :inProgress",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":now": this.now(), ":inProgress": JobStatus.inProgress },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async markDone(key: string, details: DoneDetails): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression:
          "SET #status = :done, updatedAt = :now, expiresAt = :expiresAt, outcome = :outcome, bytesCopied = :bytes," +
          " verifiedWith = :verified, overCloudFrontLimit = :over REMOVE attempts, failures, lastFailureAt, retryAt, #error",
        ExpressionAttributeNames: { "#status": "status", "#error": "error" },
        ExpressionAttributeValues: {
          ":done": JobStatus.done,
          ":now": this.now(),
          ":expiresAt": this.expiry(TTL_SECONDS.done),
          ":outcome": details.outcome,
          ":bytes": details.bytes ?? 0,
          ":verified": details.verifiedWith ?? "none",
          ":over": details.overCloudFrontLimit ?? false,
        },
      }),
    );
  }

  /** Records a failure that retrying will not fix; only a change of the source object (its ETag) reopens the job. */
  async markFailed(key: string, reason: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression:
          "SET #key = :key, #status = :failed, updatedAt = :now, expiresAt = :expiresAt, #error = :reason" +
          " REMOVE retryAt, uploadId",
        ExpressionAttributeNames: { "#key": "key", "#status": "status", "#error": "error" },
        ExpressionAttributeValues: {
          ":key": key,
          ":failed": JobStatus.failed,
          ":now": this.now(),
          ":expiresAt": this.expiry(TTL_SECONDS.failed),
          ":reason": reason,
        },
      }),
    );
  }

  /**
   * Gives a claimed job back after a transient failure: one failure, one step of backoff. The job
   * is claimable again from `retryAt` (returned), by a later miss or the sweeper.
   */
  async release(job: JobRecord, reason: string): Promise<number | undefined> {
    const retry = this.nextRetry(job);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: job.pk },
          UpdateExpression:
            "SET #status = :retrying, updatedAt = :now, #error = :reason, failures = :failures," +
            " lastFailureAt = :now, retryAt = :retryAt REMOVE uploadId, doneParts, queuedAt",
          ConditionExpression: "#status = :inProgress AND attempts = :attempts",
          ExpressionAttributeNames: { "#status": "status", "#error": "error" },
          ExpressionAttributeValues: {
            ":retrying": JobStatus.retrying,
            ":inProgress": JobStatus.inProgress,
            ":attempts": job.attempts ?? 1,
            ":now": retry.lastFailureAt,
            ":reason": reason,
            ":failures": retry.failures,
            ":retryAt": retry.retryAt,
          },
        }),
      );
      return retry.retryAt;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  /** Records the multipart upload a single-worker copy writes to, so that the sweeper can abort it after a crash. */
  async recordUpload(key: string, uploadId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression: "SET uploadId = :uploadId, updatedAt = :now",
        ConditionExpression: "#status = :inProgress",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":uploadId": uploadId, ":inProgress": JobStatus.inProgress, ":now": this.now() },
      }),
    );
  }

  /** Notes that the workers took a message sent at `sentAt` (epoch ms): the queue has moved at least that far. */
  async noteQueueProgress(sentAt: number): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: QUEUE_PROGRESS_PK },
          UpdateExpression: "SET sentAt = :sentAt",
          ConditionExpression: "attribute_not_exists(sentAt) OR sentAt < :sentAt",
          ExpressionAttributeValues: { ":sentAt": sentAt },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** The SentTimestamp of the newest message the workers have taken, if any. */
  async queueProgress(): Promise<number | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: QUEUE_PROGRESS_PK }, ConsistentRead: true }),
    );
    return (Item as { sentAt?: number } | undefined)?.sentAt;
  }

  /**
   * Records the upload a fanned-out copy writes to, how its completion writes the key, and when
   * its parts were queued; part counters start empty.
   */
  async startFanOut(
    key: string,
    fanOut: {
      uploadId: string;
      partCount: number;
      partSize: number;
      overCloudFrontLimit: boolean;
      write: WriteCondition;
    },
  ): Promise<void> {
    const now = this.now();
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression:
          "SET uploadId = :uploadId, partCount = :partCount, partSize = :partSize, overCloudFrontLimit = :over," +
          " updatedAt = :now, queuedAt = :now, writeMode = :writeMode" +
          (fanOut.write.mode === "replaced" ? ", replaceEtag = :replaceEtag" : ""),
        ConditionExpression: "#status = :inProgress",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":uploadId": fanOut.uploadId,
          ":partCount": fanOut.partCount,
          ":partSize": fanOut.partSize,
          ":over": fanOut.overCloudFrontLimit,
          ":inProgress": JobStatus.inProgress,
          ":now": now,
          ":writeMode": fanOut.write.mode,
          ...(fanOut.write.mode === "replaced" ? { ":replaceEtag": fanOut.write.ifMatch } : {}),
        },
      }),
    );
  }

  /**
   * The sweeper's re-drive of a stalled fan-out: keeps the upload and the parts already counted,
   * and stamps the new queueing time, if nobody touched the job since it was read.
   */
  async requeueParts(job: JobRecord): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: job.pk },
          UpdateExpression: "SET updatedAt = :now, queuedAt = :now",
          ConditionExpression: "#status = :inProgress AND updatedAt = :updatedAt AND uploadId = :uploadId",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":inProgress": JobStatus.inProgress,
            ":updatedAt": job.updatedAt,
            ":uploadId": job.uploadId,
            ":now": this.now(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Stores what completion needs of a part (its own record: a job may have up to 10,000 parts). */
  async recordPart(uploadId: string, part: UploadedPart): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: partPk(uploadId, part.partNumber), ...part, expiresAt: this.expiry(TTL_SECONDS.active) },
      }),
    );
  }

  /**
   * Adds a part to the job's set of finished parts. Exactly one call sees the set become full
   * ("last"): that caller completes the upload. A redelivered part is not counted twice
   * ("repeat", or "repeat-complete" when all parts are in but the job is not done yet, so that a
   * completer that crashed is replaced); parts of an abandoned upload are "stale".
   */
  async countPart(key: string, uploadId: string, partNumber: number): Promise<PartCount> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: objectPk(key) },
          UpdateExpression: "ADD doneParts :part SET updatedAt = :now",
          ConditionExpression:
            "#status = :inProgress AND uploadId = :uploadId AND NOT contains(doneParts, :partNumber)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":part": new Set([partNumber]),
            ":partNumber": partNumber,
            ":uploadId": uploadId,
            ":inProgress": JobStatus.inProgress,
            ":now": this.now(),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      const job = Attributes as JobRecord;
      return job.doneParts?.size === job.partCount ? "last" : "counted";
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const job = await this.get(key);
    if (job?.status !== JobStatus.inProgress || job.uploadId !== uploadId || !job.doneParts?.has(partNumber))
      return "stale";
    return job.doneParts.size === job.partCount ? "repeat-complete" : "repeat";
  }

  async partsOf(uploadId: string, partCount: number, parallel = 16): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    for (let first = 1; first <= partCount; first += parallel) {
      const numbers = Array.from({ length: Math.min(parallel, partCount - first + 1) }, (_, index) => first + index);
      const items = await Promise.all(
        numbers.map((partNumber) =>
          this.db.send(
            new GetCommand({ TableName: this.table, Key: { pk: partPk(uploadId, partNumber) }, ConsistentRead: true }),
          ),
        ),
      );
      for (const [index, { Item }] of items.entries()) {
        if (!Item) throw new Error(`part ${numbers[index]} of upload ${uploadId} is counted but not recorded`);
        const { partNumber, etag, size, crc32c } = Item as UploadedPart;
        parts.push({ partNumber, etag, size, crc32c });
      }
    }
    return parts;
  }

  /**
   * Jobs in `status` whose record has not moved for `stallMs` (oldest first), from the `by-status`
   * index; retrying jobs only once their backoff has run out.
   */
  async *stalled(status: JobStatus, limit: number): AsyncGenerator<JobRecord> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    let seen = 0;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: JOBS_STATUS_INDEX,
          KeyConditionExpression: "#status = :status AND updatedAt < :staleBefore",
          FilterExpression: "attribute_not_exists(retryAt) OR retryAt <= :now",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":status": status,
            ":staleBefore": this.now() - this.stallMs,
            ":now": this.now(),
          },
          ExclusiveStartKey,
          Limit: Math.min(100, limit - seen),
        }),
      );
      for (const item of page.Items ?? []) {
        seen++;
        yield item as JobRecord;
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && seen < limit);
  }

  /**
   * Moves a stalled job to `retrying`, claimable at once, if nobody touched it since it was read
   * (so two sweeps never re-drive it twice). A stalled in-progress copy (its worker died) is one
   * failure of the streak; a due retrying job is not failed again. Returns whether this caller took it over.
   */
  async takeOver(job: JobRecord): Promise<boolean> {
    const crashed = job.status === JobStatus.inProgress;
    const { failures, lastFailureAt } = crashed
      ? this.nextRetry(job)
      : { failures: job.failures ?? 0, lastFailureAt: job.lastFailureAt ?? this.now() };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: job.pk },
          UpdateExpression:
            "SET #status = :retrying, updatedAt = :now, retryAt = :now, failures = :failures, lastFailureAt = :lastFailureAt" +
            " REMOVE uploadId, doneParts, queuedAt",
          ConditionExpression: "#status = :status AND updatedAt = :updatedAt",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":retrying": JobStatus.retrying,
            ":status": job.status,
            ":updatedAt": job.updatedAt,
            ":now": this.now(),
            ":failures": failures,
            ":lastFailureAt": lastFailureAt,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
