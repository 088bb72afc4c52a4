import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import { ObjectStatsError } from "./errors";
import type { ObjectChange } from "./events";
import {
  bucketPartition,
  EVENT_SORT_KEY,
  eventPartition,
  PARTITION_KEY,
  PREFIX_SORT_KEY_PREFIX,
  prefixSortKey,
  SORT_KEY,
  SUMMARY_CHUNK_SORT_KEY_PREFIX,
  SUMMARY_SORT_KEY,
  summaryChunkSortKey,
  TOTAL_SORT_KEY,
  TTL_ATTRIBUTE,
} from "./table";

/** Counters as stored: `live` is derived on read. */
export interface StoredCounts {
  readonly created: number;
  /** Removals of objects the counters had seen created (never more than `created`). */
  readonly removed: number;
  readonly bytes: number;
  /**
   * Removals of keys the counters had not seen created under that prefix: objects older than the
   * counters, or delete markers on keys that never existed (S3 writes one for any key). Kept
   * apart so that they never take `live` below zero.
   */
  readonly unmatchedRemovals: number;
}

export interface Counts extends StoredCounts {
  /** created − removed: the objects created since counting began that still exist. */
  readonly live: number;
}

export interface BucketCounts extends Counts {
  readonly bucket: string;
  /** Top-level prefix (`""` is the root) → its counters. */
  readonly prefixes: Readonly<Record<string, Counts>>;
}

/** What the last summary reported, so that the next one reports the change since. */
export interface SummarySnapshot {
  readonly total: StoredCounts;
  readonly prefixes: Readonly<Record<string, StoredCounts>>;
  /** The scheduled event that wrote it: a redelivered schedule event is not summarized twice. */
  readonly eventId: string;
  readonly time: string;
}

export const ZERO: StoredCounts = { created: 0, removed: 0, bytes: 0, unmatchedRemovals: 0 };

/** Counters written before removals were matched may hold removed > created: `live` floors at 0. */
export const withLive = (counts: StoredCounts): Counts => ({
  ...counts,
  live: Math.max(0, counts.created - counts.removed),
});

/** The counter items one change moves, and by how much: the bucket's total and its prefix's. */
export function counterUpdates(change: ObjectChange): Array<{ sortKey: string; add: StoredCounts }> {
  const add = {
    created: change.kind === "created" ? 1 : 0,
    removed: change.kind === "removed" ? 1 : 0,
    bytes: change.bytes,
    unmatchedRemovals: 0,
  };
  return [
    { sortKey: TOTAL_SORT_KEY, add },
    { sortKey: prefixSortKey(change.prefix), add },
  ];
}

export interface CountOptions {
  /** How long the claim on the event protects it: at least the invocation's remaining time. */
  readonly leaseMs: number;
  /** Runs once the counters include the change, before the event is marked done (at-least-once). */
  readonly afterCount?: () => Promise<void>;
}

/** "counted": this call added the change; "duplicate": an earlier delivery of the event did. */
export type CountResult = "counted" | "duplicate";

const CLAIMED = "claimed";
const DONE = "done";
/** Set attribute on a counter item: ids of events whose ADD is applied but not yet marked done. */
const APPLYING = "applying";
/** Set attribute beside `applying`: those of its removals that were applied as unmatched. */
const APPLYING_UNMATCHED = "applyingUnmatched";

/** The key of an event's dedupe record. */
const eventKey = (eventId: string) => ({ [PARTITION_KEY]: eventPartition(eventId), [SORT_KEY]: EVENT_SORT_KEY });

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/**
 * Bytes of prefix snapshot JSON per summary chunk item: DynamoDB items hold at most 400 KB
 * (`DYNAMODB_MAX_ITEM_BYTES`), and the key and attribute names need a little of it.
 */
export const SUMMARY_CHUNK_MAX_BYTES = 350_000;

/** One page of a bucket's prefixes, in key order. */
export interface PrefixPage {
  readonly prefixes: Readonly<Record<string, Counts>>;
  /** The last prefix of the page when more may follow: the next page starts after it. */
  readonly lastPrefix?: string;
}

/** A snapshot's prefixes as JSON strings of at most `maxBytes` each. */
export function snapshotChunks(
  prefixes: Readonly<Record<string, StoredCounts>>,
  maxBytes = SUMMARY_CHUNK_MAX_BYTES,
): string[] {
  const chunks: string[] = [];
  let entries: string[] = [];
  let size = 2;
  for (const [prefix, counts] of Object.entries(prefixes)) {
    const entry = `${JSON.stringify(prefix)}:${JSON.stringify(counts)}`;
    const bytes = Buffer.byteLength(entry) + 1;
    if (entries.length > 0 && size + bytes > maxBytes) {
      chunks.push(`{${entries.join(",")}}`);
      entries = [];
      size = 2;
    }
    entries.push(entry);
    size += bytes;
  }
  if (entries.length > 0 || chunks.length === 0) chunks.push(`{${entries.join(",")}}`);
  return chunks;
}

/**
 * DynamoDB counters with exactly-once counting per event id.
 *
 * Why not one TransactWriteItems (conditional Put of the dedupe record + the two ADDs)? It would
 * be the natural design, but dynalite, the DynamoDB the tests run against, has no transactions,
 * and shipping the one code path that the tests cannot run is worse. The protocol below uses only
 * single-item conditional writes (each atomic on its own), gives the same guarantee and costs the
 * same write units as a transaction (which bills each item twice):
 *
 * 1. Claim: create the event's dedupe record (`EVENT#<id>`, state `claimed`, owner, lease, TTL)
 *    unless it exists, or take it over if a previous attempt's lease expired (that attempt died).
 *    A record in state `done` means the event was counted: skip. A live claim of another
 *    invocation (a concurrent redelivery): fail, so that the delivery is retried later.
 * 2. Apply: to the bucket total and the prefix item (in parallel), `ADD created/removed/bytes`
 *    together with `ADD applying {id}`, on the condition `NOT contains(applying, id)`. If a crashed
 *    attempt already applied an item, the condition fails and the item is left alone: each ADD
 *    happens once even when a crash lands between the two items.
 * 3. Notify (per-change mode), then mark the record `done`, on the condition that we still own it.
 *    A failed condition with the record `done` is success (the SDK's retry of this write, or a
 *    takeover that finished); with another owner, this attempt fails and the owner finishes.
 * 4. Remove the id from both items' `applying` sets (only after `done`, so no later attempt can
 *    pass step 2's condition again). A crash before this leaves an id in a set, which the next
 *    redelivery of that event removes; the set only holds events in flight, so it stays small.
 *
 * Counters only ever change through `ADD` (never read-modify-write), so concurrent events on the
 * same item never lose an update.
 */
export class CounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Days a dedupe record is kept: redeliveries within this time count once. */
    private readonly dedupeTtlDays: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async count(change: ObjectChange, options: CountOptions): Promise<CountResult> {
    const owner = randomUUID();
    if (!(await this.claim(change.eventId, owner, options.leaseMs))) {
      await this.finishApplying(change);
      return "duplicate";
    }
    try {
      if (change.kind === "removed") await this.applyRemoval(change);
      else await Promise.all(counterUpdates(change).map(({ sortKey, add }) => this.apply(change, sortKey, add)));
      await options.afterCount?.();
    } catch (error) {
      await this.release(change.eventId, owner).catch(() => undefined);
      throw error;
    }
    await this.markDone(change.eventId, owner);
    await this.finishApplying(change);
    return "counted";
  }

  /** True when we own the claim; false when the event is done; throws when someone else holds it. */
  private async claim(eventId: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.clock();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: eventKey(eventId),
          UpdateExpression: "SET #state = :claimed, #owner = :owner, #lease = :lease, #ttl = :ttl",
          // `#owner = :owner`: the SDK's retry of this very claim (its first attempt applied, the
          // answer was lost) finds its own claim, not someone else's.
          ConditionExpression:
            "attribute_not_exists(#pk) OR (#state = :claimed AND (#lease < :now OR #owner = :owner))",
          ExpressionAttributeNames: {
            "#pk": PARTITION_KEY,
            "#state": "state",
            "#owner": "owner",
            "#lease": "leaseUntil",
            "#ttl": TTL_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ":claimed": CLAIMED,
            ":owner": owner,
            ":lease": now + leaseMs,
            ":now": now,
            ":ttl": Math.floor(now / 1000) + this.dedupeTtlDays * 86_400,
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    if ((await this.readEvent(eventId))?.state === DONE) return false;
    throw new ObjectStatsError("event-in-progress", `event ${eventId} is being counted by another invocation`);
  }

  private async readEvent(eventId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: eventKey(eventId),
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  private async apply(change: ObjectChange, sortKey: string, add: StoredCounts): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: bucketPartition(change.bucket), [SORT_KEY]: sortKey },
          UpdateExpression: "ADD #created :created, #removed :removed, #bytes :bytes, #applying :ids",
          ConditionExpression: "NOT contains(#applying, :id)",
          ExpressionAttributeNames: {
            "#created": "created",
            "#removed": "removed",
            "#bytes": "bytes",
            "#applying": APPLYING,
          },
          ExpressionAttributeValues: {
            ":created": add.created,
            ":removed": add.removed,
            ":bytes": add.bytes,
            ":ids": new Set([change.eventId]),
            ":id": change.eventId,
          },
        }),
      );
    } catch (error) {
      // A crashed attempt already applied this item (its id is still in `applying`): done here.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * A removal counts against `live` only where a creation was counted: on the prefix item, the
   * conditional ADD of `removed` requires `created > removed`; when it fails, the removal is
   * counted in `unmatchedRemovals` instead (and its id noted in `applyingUnmatched`). The bucket
   * total follows the prefix's decision, so the total stays the sum of its prefixes. A crashed
   * attempt that applied the prefix already left its decision in the item, which a retry reads.
   */
  private async applyRemoval(change: ObjectChange): Promise<void> {
    const [total, prefix] = counterUpdates(change).map((update) => update.sortKey);
    const key = (sortKey: string) => ({ [PARTITION_KEY]: bucketPartition(change.bucket), [SORT_KEY]: sortKey });
    const ids = new Set([change.eventId]);
    const matched = await this.conditionalAdd(key(prefix), change.eventId, {
      UpdateExpression: "ADD #removed :one, #applying :ids",
      ConditionExpression: "NOT contains(#applying, :id) AND #created > #removed",
      ExpressionAttributeNames: { "#removed": "removed", "#created": "created" },
      ExpressionAttributeValues: { ":one": 1, ":ids": ids },
    });
    let unmatched = false;
    if (!matched) {
      unmatched = await this.conditionalAdd(key(prefix), change.eventId, {
        UpdateExpression: "ADD #unmatched :one, #applying :ids, #applyingUnmatched :ids",
        ConditionExpression: "NOT contains(#applying, :id)",
        ExpressionAttributeNames: { "#unmatched": "unmatchedRemovals", "#applyingUnmatched": APPLYING_UNMATCHED },
        ExpressionAttributeValues: { ":one": 1, ":ids": ids },
      });
      if (!unmatched) {
        // Applied by a crashed attempt: its decision is in the item.
        const { Item } = await this.client.send(
          new GetCommand({ TableName: this.tableName, Key: key(prefix), ConsistentRead: true }),
        );
        unmatched = (Item?.[APPLYING_UNMATCHED] as Set<string> | undefined)?.has(change.eventId) ?? false;
      }
    }
    await this.conditionalAdd(key(total), change.eventId, {
      UpdateExpression: unmatched ? "ADD #unmatched :one, #applying :ids" : "ADD #removed :one, #applying :ids",
      ConditionExpression: "NOT contains(#applying, :id)",
      ExpressionAttributeNames: unmatched ? { "#unmatched": "unmatchedRemovals" } : { "#removed": "removed" },
      ExpressionAttributeValues: { ":one": 1, ":ids": ids },
    });
  }

  /** One conditional update of a counter item; false when its condition failed. */
  private async conditionalAdd(
    key: Record<string, string>,
    eventId: string,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: update.ConditionExpression,
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, "#applying": APPLYING },
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ":id": eventId },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  /**
   * Marks the event counted. When the condition fails, the record tells why: `done` means the
   * event is counted (the SDK retried this write after its first attempt applied, or an attempt
   * that took the claim over finished it); another owner means our lease ran out and that attempt
   * finishes the event, so this one fails and its redelivery finds it done.
   */
  private async markDone(eventId: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: eventKey(eventId),
          UpdateExpression: "SET #state = :done REMOVE #owner, #lease",
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#state": "state", "#owner": "owner", "#lease": "leaseUntil" },
          ExpressionAttributeValues: { ":done": DONE, ":owner": owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const record = await this.readEvent(eventId);
      if (record?.state === DONE) return;
      throw new ObjectStatsError(
        "event-in-progress",
        `event ${eventId} lost its claim before it was marked counted (record: ${record ? `${String(record.state)}, owner ${String(record.owner)}, lease until ${String(record.leaseUntil)}` : "missing"}); its redelivery finishes it`,
      );
    }
  }

  /** Lets a retry take the event over at once instead of waiting for the lease to run out. */
  private async release(eventId: string, owner: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: eventKey(eventId),
        UpdateExpression: "SET #lease = :expired",
        ConditionExpression: "#owner = :owner AND #state = :claimed",
        ExpressionAttributeNames: { "#state": "state", "#owner": "owner", "#lease": "leaseUntil" },
        ExpressionAttributeValues: { ":expired": 0, ":owner": owner, ":claimed": CLAIMED },
      }),
    );
  }

  private async finishApplying(change: ObjectChange): Promise<void> {
    await Promise.all(
      counterUpdates(change).map(({ sortKey }) =>
        this.client
          .send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { [PARTITION_KEY]: bucketPartition(change.bucket), [SORT_KEY]: sortKey },
              UpdateExpression: "DELETE #applying :ids, #applyingUnmatched :ids",
              // Never create a counter item just to delete from it.
              ConditionExpression: "attribute_exists(#pk)",
              ExpressionAttributeNames: {
                "#applying": APPLYING,
                "#applyingUnmatched": APPLYING_UNMATCHED,
                "#pk": PARTITION_KEY,
              },
              ExpressionAttributeValues: { ":ids": new Set([change.eventId]) },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw error;
          }),
      ),
    );
  }

  /** The bucket's total and every prefix's counters (zeros for a bucket without events), and the last summary. */
  async readBucket(bucket: string): Promise<{ counts: BucketCounts; summary?: SummarySnapshot }> {
    let total: StoredCounts = ZERO;
    let head: Record<string, unknown> | undefined;
    const chunks = new Map<string, string>();
    const prefixes: Record<string, Counts> = {};
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":pk": bucketPartition(bucket) },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) {
        const sortKey = item[SORT_KEY] as string;
        if (sortKey === TOTAL_SORT_KEY) total = storedCounts(item);
        else if (sortKey === SUMMARY_SORT_KEY) head = item;
        else if (sortKey.startsWith(SUMMARY_CHUNK_SORT_KEY_PREFIX)) chunks.set(sortKey, item.prefixes as string);
        else if (sortKey.startsWith(PREFIX_SORT_KEY_PREFIX))
          prefixes[sortKey.slice(PREFIX_SORT_KEY_PREFIX.length)] = withLive(storedCounts(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { counts: { bucket, ...withLive(total), prefixes }, summary: head && summaryFrom(head, chunks) };
  }

  /** The bucket's total counters. */
  async readTotal(bucket: string): Promise<Counts> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PARTITION_KEY]: bucketPartition(bucket), [SORT_KEY]: TOTAL_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    return withLive(Item ? storedCounts(Item) : ZERO);
  }

  /** Up to `limit` prefixes in key order, starting after `after` (the previous page's last prefix). */
  async readPrefixPage(bucket: string, limit: number, after?: string): Promise<PrefixPage> {
    const prefixes: Record<string, Counts> = {};
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefixes)",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
        ExpressionAttributeValues: { ":pk": bucketPartition(bucket), ":prefixes": PREFIX_SORT_KEY_PREFIX },
        ExclusiveStartKey:
          after === undefined
            ? undefined
            : { [PARTITION_KEY]: bucketPartition(bucket), [SORT_KEY]: prefixSortKey(after) },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    let lastPrefix: string | undefined;
    for (const item of page.Items ?? []) {
      lastPrefix = (item[SORT_KEY] as string).slice(PREFIX_SORT_KEY_PREFIX.length);
      prefixes[lastPrefix] = withLive(storedCounts(item));
    }
    return { prefixes, lastPrefix: page.LastEvaluatedKey ? lastPrefix : undefined };
  }

  /** One top-level prefix's counters (zeros when it has seen no event). */
  async readPrefix(bucket: string, prefix: string): Promise<Counts> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PARTITION_KEY]: bucketPartition(bucket), [SORT_KEY]: prefixSortKey(prefix) },
        ConsistentRead: true,
      }),
    );
    return withLive(Item ? storedCounts(Item) : ZERO);
  }

  /**
   * Records what a summary reported: the prefixes in chunk items named by the schedule event (each
   * under DynamoDB's item limit), then the head item that points at them, conditionally, then the
   * previous summary's chunks are deleted. Returns false when this schedule event was already
   * summarized (a redelivery), so the caller does not publish twice. A crash before the head is
   * written leaves the previous summary in force (its chunks untouched).
   */
  async saveSummary(bucket: string, snapshot: SummarySnapshot): Promise<boolean> {
    const partition = bucketPartition(bucket);
    const chunks = snapshotChunks(snapshot.prefixes);
    for (const [index, prefixes] of chunks.entries()) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [PARTITION_KEY]: partition, [SORT_KEY]: summaryChunkSortKey(snapshot.eventId, index), prefixes },
        }),
      );
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: partition, [SORT_KEY]: SUMMARY_SORT_KEY },
          UpdateExpression:
            "SET #total = :total, #time = :time, #chunks = :chunks, #eventId = :eventId REMOVE #snapshot",
          ConditionExpression: "attribute_not_exists(#eventId) OR #eventId <> :eventId",
          ExpressionAttributeNames: {
            "#total": "total",
            "#time": "time",
            "#chunks": "chunks",
            "#eventId": "lastEventId",
            "#snapshot": "snapshot",
          },
          ExpressionAttributeValues: {
            ":total": snapshot.total,
            ":time": snapshot.time,
            ":chunks": chunks.length,
            ":eventId": snapshot.eventId,
          },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.deleteChunksExcept(bucket, snapshot.eventId);
    return true;
  }

  private async deleteChunksExcept(bucket: string, eventId: string): Promise<void> {
    const partition = bucketPartition(bucket);
    const keep = `${SUMMARY_CHUNK_SORT_KEY_PREFIX}${eventId}#`;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :chunks)",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":pk": partition, ":chunks": SUMMARY_CHUNK_SORT_KEY_PREFIX },
          ProjectionExpression: "#pk, #sk",
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sortKey = item[SORT_KEY] as string;
        if (sortKey.startsWith(keep)) continue;
        await this.client.send(
          new DeleteCommand({ TableName: this.tableName, Key: { [PARTITION_KEY]: partition, [SORT_KEY]: sortKey } }),
        );
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}

/**
 * The last summary from its head item and chunks; undefined when a chunk is missing (the next
 * summary then reports every prefix's counts since counting began, rather than a wrong delta).
 * Head items written before chunking hold the whole snapshot.
 */
function summaryFrom(head: Record<string, unknown>, chunks: ReadonlyMap<string, string>): SummarySnapshot | undefined {
  if (head.snapshot) return head.snapshot as SummarySnapshot;
  const eventId = head.lastEventId as string;
  const prefixes: Record<string, StoredCounts> = {};
  for (let index = 0; index < Number(head.chunks ?? 0); index++) {
    const chunk = chunks.get(summaryChunkSortKey(eventId, index));
    if (chunk === undefined) return undefined;
    for (const [prefix, counts] of Object.entries(JSON.parse(chunk) as Record<string, StoredCounts>)) {
      prefixes[prefix] = storedCounts(counts as unknown as Record<string, unknown>);
    }
  }
  return {
    total: storedCounts(head.total as Record<string, unknown>),
    prefixes,
    eventId,
    time: head.time as string,
  };
}

function storedCounts(item: Record<string, unknown>): StoredCounts {
  return {
    created: Number(item.created ?? 0),
    removed: Number(item.removed ?? 0),
    bytes: Number(item.bytes ?? 0),
    unmatchedRemovals: Number(item.unmatchedRemovals ?? 0),
  };
}
