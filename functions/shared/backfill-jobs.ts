import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { JOBS_STATUS_INDEX } from "./backfill-jobs-table";
import type { UploadedPart } from "./copy/engine";

export const JobStatus = {
  inProgress: "in-progress",
  /** Released after a transient failure: the queue (or the sweeper) brings the job back. */
  retrying: "retrying",
  done: "done",
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
  readonly outcome: "copied" | "skipped";
  readonly bytes?: number;
  readonly verifiedWith?: string;
  readonly overCloudFrontLimit?: boolean;
}

export type PartCount = "last" | "counted" | "repeat-complete" | "repeat" | "stale";

const objectPk = (key: string) => `object#${key}`;
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
  ) {}

  private expiry(seconds: number): number {
    return Math.floor(this.now() / 1000) + seconds;
  }

  /**
   * Takes the job for this version of the object, or returns undefined when another worker holds
   * a live claim or this version is already done. Only one of many concurrent claims succeeds.
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
            " ADD attempts :one REMOVE uploadId, partCount, partSize, doneParts, #error",
          ConditionExpression:
            "attribute_not_exists(pk) OR #status IN (:failed, :retrying)" +
            " OR (#status = :done AND sourceEtag <> :etag) OR (#status = :inProgress AND updatedAt < :staleBefore)",
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ":key": key,
            ":inProgress": JobStatus.inProgress,
            ":failed": JobStatus.failed,
            ":retrying": JobStatus.retrying,
            ":done": JobStatus.done,
            ":now": now,
            ":staleBefore": now - this.stallMs,
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
          " verifiedWith = :verified, overCloudFrontLimit = :over REMOVE attempts, #error",
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

  /** Records a failure that retrying will not fix; a later request for the key may try again. */
  async markFailed(key: string, reason: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression:
          "SET #key = :key, #status = :failed, updatedAt = :now, expiresAt = :expiresAt, #error = :reason",
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

  /** Gives a claimed job back after a transient failure, so that the redelivered message can claim it at once. */
  async release(key: string, reason: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: objectPk(key) },
          UpdateExpression: "SET #status = :retrying, updatedAt = :now, #error = :reason REMOVE uploadId",
          ConditionExpression: "#status = :inProgress",
          ExpressionAttributeNames: { "#status": "status", "#error": "error" },
          ExpressionAttributeValues: {
            ":retrying": JobStatus.retrying,
            ":inProgress": JobStatus.inProgress,
            ":now": this.now(),
            ":reason": reason,
          },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** Records the upload a fanned-out copy writes to; part counters start empty. */
  async startFanOut(
    key: string,
    fanOut: { uploadId: string; partCount: number; partSize: number; overCloudFrontLimit: boolean },
  ): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: objectPk(key) },
        UpdateExpression:
          "SET uploadId = :uploadId, partCount = :partCount, partSize = :partSize, overCloudFrontLimit = :over, updatedAt = :now",
        ConditionExpression: "#status = :inProgress",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":uploadId": fanOut.uploadId,
          ":partCount": fanOut.partCount,
          ":partSize": fanOut.partSize,
          ":over": fanOut.overCloudFrontLimit,
          ":inProgress": JobStatus.inProgress,
          ":now": this.now(),
        },
      }),
    );
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

  /** Jobs in `status` whose record has not moved for `stallMs` (oldest first), from the `by-status` index. */
  async *stalled(status: JobStatus, limit: number): AsyncGenerator<JobRecord> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    let seen = 0;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: JOBS_STATUS_INDEX,
          KeyConditionExpression: "#status = :status AND updatedAt < :staleBefore",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":status": status, ":staleBefore": this.now() - this.stallMs },
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
   * Moves a stalled job to `retrying` if nobody touched it since it was read (so two sweeps never
   * re-drive it twice). Returns whether this caller took it over.
   */
  async takeOver(job: JobRecord): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: job.pk },
          UpdateExpression: "SET #status = :retrying, updatedAt = :now REMOVE uploadId, doneParts",
          ConditionExpression: "#status = :status AND updatedAt = :updatedAt",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":retrying": JobStatus.retrying,
            ":status": job.status,
            ":updatedAt": job.updatedAt,
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
}
