import type * as Powertools from "@aws-lambda-powertools/logger";
import type * as Sns from "@aws-sdk/client-sns";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type * as SdkMock from "aws-sdk-client-mock";
import { SNS_MAX_MESSAGE_BYTES, DYNAMODB_MAX_ITEM_BYTES } from "../../../config/aws-facts";
import { FUNCTION_MAXIMUM_RETRY_ATTEMPTS } from "../../../constructs/object-stats";
import { CounterStore } from "../../../functions/object-stats/counters";
import { changeFromEvent, decodeS3Key, topLevelPrefix } from "../../../functions/object-stats/events";
import type * as Index from "../../../functions/object-stats/index";
import type * as Service from "../../../functions/object-stats/service";
import {
  httpRequest,
  objectCreated,
  objectDeleted,
  objectStatsTable,
  scheduledEvent,
} from "../../../testing/aws-events";
import { startLostAnswersProxy, type LostAnswersProxy } from "../../../testing/lost-answers";
import {
  LOCAL_REGION,
  localAwsEnv,
  S3RVER_CREDENTIALS,
  startDynamoDb,
  type LocalDynamoDb,
} from "../../../testing/local-servers";
import { METRICS_NAMESPACE, OBJECT_STATS_METRICS } from "../../../functions/shared/metrics";
import { captureEmf, dimensionSets, figures } from "../../support/emf";

const BUCKET = "media-bucket";
const OTHER_BUCKET = "legacy-uploads";
const TOPIC_ARN = "arn:aws:sns:us-east-2:123456789012:object-stats";
const CONTEXT = { getRemainingTimeInMillis: () => 30_000 };
/**
 * Events counted at once in the concurrency tests (the three-way redelivery and the creation and
 * deletion race scale with it): a quick run for `npm test`; `.ci/run` sets 1000.
 */
const RACE_EVENTS = Number(process.env.S3EDGE_RACE_EVENTS ?? 100);
if (!Number.isInteger(RACE_EVENTS) || RACE_EVENTS < 100 || RACE_EVENTS % 20 !== 0)
  throw new Error("S3EDGE_RACE_EVENTS: a multiple of 20, at least 100");
const TABLE = "object-stats";

let dynamo: LocalDynamoDb;
let documents: DynamoDBDocumentClient;
let handler: typeof Index.handler;
let service: typeof Service;
/** Classes of the handler's module registry; SNS is mocked. */
let PublishCommand: typeof Sns.PublishCommand;
let SNSClient: typeof Sns.SNSClient;
let Logger: typeof Powertools.Logger;
let sns: SdkMock.AwsStub<Sns.ServiceInputTypes, Sns.ServiceOutputTypes, Sns.SNSClientResolvedConfig>;
const table = TABLE;
const savedEnv = { ...process.env };

/** The environment the function is deployed with, pointed at dynalite. */
function setHandlerEnvironment(): void {
  Object.assign(process.env, localAwsEnv(undefined, dynamo.endpoint), {
    TABLE_NAME: TABLE,
    TOPIC_ARN,
    NOTIFICATION_MODE: "per-change",
    MONITORED_BUCKETS: `${BUCKET},${OTHER_BUCKET}`,
    DEDUPE_TTL_DAYS: "7",
    // Never reach for the network should the mock miss a client.
    AWS_ENDPOINT_URL_SNS: "http://127.0.0.1:9",
    // Keep the output readable: warnings (malformed events) and errors only, and no EMF lines
    // (the figures test turns them on).
    POWERTOOLS_LOG_LEVEL: "WARN",
    POWERTOOLS_METRICS_DISABLED: "true",
  });
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
}

/**
 * The handler creates its clients once, from the environment: it is loaded (with the SNS SDK it
 * uses, mocked) in a module registry of its own, once for the file and again for a test that
 * changes its environment (`loadHandlerWith`).
 */
function loadHandler(): void {
  jest.isolateModules(() => {
    ({ SNSClient, PublishCommand } = require("@aws-sdk/client-sns") as typeof Sns);
    ({ Logger } = require("@aws-lambda-powertools/logger") as typeof Powertools);
    sns = (require("aws-sdk-client-mock") as typeof SdkMock).mockClient(SNSClient);
    handler = (require("../../../functions/object-stats/index") as typeof Index).handler;
    service = require("../../../functions/object-stats/service") as typeof Service;
  });
}

let environmentChanged = false;
/** This test's handler sees `overrides`; the next test gets the deployed environment back. */
function loadHandlerWith(overrides: Record<string, string>): void {
  Object.assign(process.env, overrides);
  environmentChanged = true;
  loadHandler();
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
}

/** A fresh, empty table (same name: the loaded handler's clients keep working). */
const freshTable = () => dynamo.recreateTable(objectStatsTable(TABLE));

const invoke = (event: unknown) => handler(event, CONTEXT);

/**
 * Invokes every event at once, as EventBridge would. An invocation that fails is invoked again once
 * all have ended, up to the function's asynchronous retry attempts, as Lambda would: here hundreds
 * of invocations share one SDK client and its retry quota (a Lambda environment serves one at a
 * time), so a burst of connection resets from dynalite on a loaded machine can fail some of them.
 * Counting must then come out exact all the same. Fails with every error left after the last
 * attempt, once all have ended: none is still writing into the next test's table.
 */
async function invokeAllAtOnce(events: readonly unknown[]): Promise<void> {
  let pending = events;
  let errors: string[] = [];
  for (let attempt = 0; attempt <= FUNCTION_MAXIMUM_RETRY_ATTEMPTS && pending.length > 0; attempt++) {
    const results = await Promise.allSettled(pending.map((event) => invoke(event)));
    pending = pending.filter((_, i) => results[i].status === "rejected");
    errors = results.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
  }
  expect(errors).toEqual([]);
}

async function getCount(query?: Record<string, string>, path = "/count", method = "GET") {
  const response = (await invoke(httpRequest(method, path, query))) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(response.body as string) as Record<string, unknown> };
}

/** No counter item still lists an event as being applied. */
async function expectNothingInFlight(): Promise<void> {
  const { Items } = await documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `BUCKET#${BUCKET}` },
    }),
  );
  expect(Items?.length).toBeGreaterThan(0);
  for (const item of Items ?? []) expect(item.applying).toBeUndefined();
}

const counts = (created: number, removed: number, bytes: number, unmatchedRemovals = 0) => ({
  created,
  removed,
  live: created - removed,
  bytes,
  unmatchedRemovals,
});

beforeAll(async () => {
  dynamo = await startDynamoDb();
  documents = DynamoDBDocumentClient.from(dynamo.client);
  setHandlerEnvironment();
  loadHandler();
});
afterAll(async () => {
  await dynamo.close();
  process.env = savedEnv;
});
beforeEach(() => {
  if (environmentChanged) {
    setHandlerEnvironment();
    loadHandler();
    environmentChanged = false;
  }
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
});

describe("reading S3 events", () => {
  it("decodes keys the way S3 encodes them (+ for space) and finds the top-level prefix", () => {
    expect(decodeS3Key("photos/my+summer%20pic%C3%A9.jpg")).toBe("photos/my summer picé.jpg");
    expect(decodeS3Key("a%2Bb")).toBe("a+b");
    expect(topLevelPrefix("images/a/b.jpg")).toBe("images/");
    expect(topLevelPrefix("readme.txt")).toBe("");
    expect(topLevelPrefix("/leading-slash")).toBe("/");
  });

  it("counts a delete marker and an unversioned deletion as removed, but not the purge of one version", () => {
    expect(changeFromEvent(objectDeleted("a.txt"))).toMatchObject({ type: "change", change: { kind: "removed" } });
    expect(
      changeFromEvent(objectDeleted("a.txt", { deletionType: "Permanently Deleted", versionId: null })),
    ).toMatchObject({ type: "change", change: { kind: "removed", bytes: 0 } });
    expect(
      changeFromEvent(objectDeleted("a.txt", { deletionType: "Permanently Deleted", reason: "Lifecycle Expiration" })),
    ).toMatchObject({ type: "ignored" });
  });
});

describe("counting against dynalite", () => {
  beforeEach(freshTable);

  it("gives exact counts per bucket and per top-level prefix for a sequence of events", async () => {
    const events = [
      objectCreated("images/a.jpg", 100),
      objectCreated("images/b c.jpg", 50),
      objectCreated("videos/v.mp4", 1_000, { reason: "CompleteMultipartUpload" }),
      objectCreated("readme.txt", 5),
      objectDeleted("images/a.jpg"),
      objectDeleted("readme.txt", { deletionType: "Permanently Deleted", versionId: null }),
      // Lifecycle expiry of a noncurrent version: not a removal a viewer sees.
      objectDeleted("videos/v.mp4", { deletionType: "Permanently Deleted", reason: "Lifecycle Expiration" }),
      objectCreated("x.txt", 7, { bucket: OTHER_BUCKET }),
    ];
    for (const event of events) await expect(invoke(event)).resolves.toBeUndefined();

    expect(await getCount()).toEqual({
      status: 200,
      body: {
        bucket: BUCKET,
        ...counts(4, 2, 1_155),
        prefixes: { "images/": counts(2, 1, 150), "videos/": counts(1, 0, 1_000), "": counts(1, 1, 5) },
      },
    });
    expect(await getCount({ bucket: OTHER_BUCKET })).toEqual({
      status: 200,
      body: { bucket: OTHER_BUCKET, ...counts(1, 0, 7), prefixes: { "": counts(1, 0, 7) } },
    });
  });

  // dynalite is single-threaded and this machine is shared: allow for a slow run (no timing is asserted).
  it(`counts ${RACE_EVENTS} events processed concurrently exactly`, async () => {
    const events = Array.from({ length: RACE_EVENTS }, (_, i) =>
      i % 10 < 7 ? objectCreated(`${["images", "videos", "docs"][i % 3]}/${i}.bin`, i) : objectDeleted(`images/${i}`),
    );
    await invokeAllAtOnce(events);

    const created = events.filter((e) => e["detail-type"] === "Object Created") as ReturnType<typeof objectCreated>[];
    const inPrefix = (prefix: string) => created.filter((e) => e.detail.object.key.startsWith(prefix));
    const bytesOf = (prefix: string) => inPrefix(prefix).reduce((sum, e) => sum + e.detail.object.size, 0);
    const { body } = await getCount();
    // Removals are matched per prefix: each of the images/ deletions (3 in 10 events) is counted
    // against a creation counted in images/ when one is left, else as unmatched; live never goes
    // below zero.
    const deletions = events.length - created.length;
    expect(deletions).toBe((RACE_EVENTS * 3) / 10);
    const images = inPrefix("images/").length;
    const removedImages = (body.prefixes as Record<string, ReturnType<typeof counts>>)["images/"].removed;
    expect(removedImages).toBeLessThanOrEqual(images);
    expect(body).toEqual({
      bucket: BUCKET,
      ...counts(created.length, removedImages, bytesOf(""), deletions - removedImages),
      prefixes: {
        "images/": counts(images, removedImages, bytesOf("images/"), deletions - removedImages),
        "videos/": counts(inPrefix("videos/").length, 0, bytesOf("videos/")),
        "docs/": counts(inPrefix("docs/").length, 0, bytesOf("docs/")),
      },
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(RACE_EVENTS);
    await expectNothingInFlight();
  }, 300_000);

  it(`counts ${RACE_EVENTS / 4} events delivered three times at once exactly once`, async () => {
    const events = Array.from({ length: RACE_EVENTS / 4 }, (_, i) => objectCreated(`images/${i}.jpg`, 100));
    const deliveries = [...events, ...events, ...events];
    const results = await Promise.allSettled(deliveries.map((event) => invoke(event)));
    // A concurrent redelivery either finds the event counted or fails so that Lambda retries it later.
    const failed = results.flatMap((result, index) => (result.status === "rejected" ? [index] : []));
    for (const index of failed)
      expect((results[index] as PromiseRejectedResult).reason).toMatchObject({
        message: expect.stringMatching(/is being counted by another invocation/),
      });
    for (const index of failed) await expect(invoke(deliveries[index])).resolves.toBeUndefined();
    expect((await getCount()).body).toMatchObject(counts(events.length, 0, events.length * 100));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(events.length);
    await expectNothingInFlight();
  }, 120_000);

  it("counts a redelivered event (same event id) once and notifies once", async () => {
    const event = objectCreated("images/once.jpg", 42);
    await invoke(event);
    await invoke(event);
    await invoke({ ...event, time: "2026-11-21T12:30:00Z" });
    expect((await getCount()).body).toMatchObject(counts(1, 0, 42));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    const dedupe = await documents.send(
      new GetCommand({ TableName: table, Key: { pk: `EVENT#${event.id}`, sk: "EVENT" } }),
    );
    expect(dedupe.Item).toMatchObject({ state: "done", expiresAt: expect.any(Number) });
    const ttlDays = (dedupe.Item!.expiresAt - Date.now() / 1000) / 86_400;
    expect(ttlDays).toBeGreaterThan(6.9);
    expect(ttlDays).toBeLessThanOrEqual(7);
  });

  it("publishes one SNS notification per change with the change and filterable attributes", async () => {
    await invoke(objectCreated("images/my photo.jpg", 2_048));
    await invoke(objectDeleted("images/old.jpg"));
    const messages = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: `s3-edge: object created in ${BUCKET}`,
      MessageAttributes: {
        type: { DataType: "String", StringValue: "object-change" },
        bucket: { DataType: "String", StringValue: BUCKET },
        change: { DataType: "String", StringValue: "created" },
      },
    });
    expect(JSON.parse(messages[0].Message!)).toMatchObject({
      change: "created",
      bucket: BUCKET,
      key: "images/my photo.jpg",
      prefix: "images/",
      bytes: 2_048,
      reason: "PutObject",
    });
    expect(JSON.parse(messages[1].Message!)).toMatchObject({ change: "removed", key: "images/old.jpg", bytes: 0 });
  });

  it("retries a failed notification without counting the change twice", async () => {
    sns.on(PublishCommand).rejectsOnce(new Error("SNS throttled")).resolves({ MessageId: "m-2" });
    const event = objectCreated("images/retry.jpg", 10);
    await expect(invoke(event)).rejects.toThrow("SNS throttled");
    await expect(invoke(event)).resolves.toBeUndefined();
    await invoke(event);
    expect((await getCount()).body).toMatchObject(counts(1, 0, 10));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it("logs and skips malformed events without failing", async () => {
    const warn = jest.spyOn(Logger.prototype, "warn");
    const valid = objectCreated("images/ok.jpg", 1);
    const malformed: unknown[] = [
      null,
      "not an event",
      { ...valid, detail: undefined },
      { ...valid, source: "aws.ec2" },
      { ...valid, "detail-type": "Object Restore Completed" },
      { ...valid, detail: { ...valid.detail, object: { ...valid.detail.object, size: "12" } } },
      { ...valid, detail: { ...valid.detail, object: { ...valid.detail.object, key: "bad%E0%A4%A" } } },
      { ...objectDeleted("a"), detail: { ...objectDeleted("a").detail, "deletion-type": "Shredded" } },
    ];
    try {
      for (const event of malformed) await expect(invoke(event)).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(malformed.length);
      expect(warn).toHaveBeenCalledWith(
        "malformed event skipped",
        expect.objectContaining({ reason: expect.stringContaining("detail.object.size") }),
      );
    } finally {
      warn.mockRestore();
    }
    expect((await getCount()).body).toMatchObject(counts(0, 0, 0));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe("live never goes below zero", () => {
  beforeEach(freshTable);

  it("counts the deletion of a key never created as unmatched, not against live", async () => {
    await invoke(objectDeleted("images/never-was.jpg"));
    expect((await getCount()).body).toEqual({
      bucket: BUCKET,
      ...counts(0, 0, 0, 1),
      prefixes: { "images/": counts(0, 0, 0, 1) },
    });
  });

  it("matches one removal per counted creation in the prefix: a second delete marker is unmatched", async () => {
    await invoke(objectCreated("images/a.jpg", 10));
    await invoke(objectDeleted("images/a.jpg"));
    await invoke(objectDeleted("images/a.jpg")); // S3 writes another delete marker
    await invoke(objectDeleted("docs/a.jpg")); // another prefix had no creation
    expect((await getCount()).body).toEqual({
      bucket: BUCKET,
      ...counts(1, 1, 10, 2),
      prefixes: { "images/": counts(1, 1, 10, 1), "docs/": counts(0, 0, 0, 1) },
    });
  });

  it("keeps live >= 0 and the total equal to the sum of its prefixes when creations and deletions race", async () => {
    const keys = RACE_EVENTS / 5;
    const events = Array.from({ length: keys }, (_, i) => [
      objectCreated(`p${i % 3}/${i}.bin`, 1),
      objectDeleted(`p${i % 3}/${i}.bin`),
      objectDeleted(`p${i % 3}/${i}.bin`),
    ]).flat();
    // Interleaved deliveries, all at once: deletions may be counted before their creation.
    await invokeAllAtOnce([...events].reverse());
    const { body } = await getCount();
    const prefixes = Object.values(body.prefixes as Record<string, ReturnType<typeof counts>>);
    const sum = (field: keyof ReturnType<typeof counts>) => prefixes.reduce((total, p) => total + p[field], 0);
    expect(body).toMatchObject({ created: keys, bytes: keys });
    for (const prefix of [body as ReturnType<typeof counts>, ...prefixes]) {
      expect(prefix.live).toBeGreaterThanOrEqual(0);
      expect(prefix.removed).toBeLessThanOrEqual(prefix.created);
    }
    expect((body.removed as number) + (body.unmatchedRemovals as number)).toBe(2 * keys);
    expect(body).toMatchObject({
      removed: sum("removed"),
      unmatchedRemovals: sum("unmatchedRemovals"),
      live: sum("live"),
    });
    await expectNothingInFlight();
  }, 120_000);
});

describe("a crash at any step of counting loses nothing and counts nothing twice", () => {
  beforeEach(freshTable);

  /** A DynamoDB client that dies (every later call fails) after `calls` successful writes. */
  function dyingAfter(calls: number): DynamoDBDocumentClient {
    let made = 0;
    return {
      send: async (command: unknown) => {
        if (made++ >= calls) throw new Error("crashed");
        return documents.send(command as UpdateCommand);
      },
    } as unknown as DynamoDBDocumentClient;
  }

  // Writes of one count: claim, ADD total, ADD prefix, mark done, then two removals from `applying`.
  it.each([0, 1, 2, 3, 4, 5])("after %i successful writes", async (writes) => {
    const event = objectCreated("videos/crash.mp4", 300);
    const change = changeFromEvent(event);
    if (change.type !== "change") throw new Error("expected a change");
    const dying = new CounterStore(dyingAfter(writes), table, 7);
    await dying.count(change.change, { leaseMs: 30_000 }).catch(() => undefined);
    // The retry comes after the dead attempt's lease ran out.
    const later = new CounterStore(documents, table, 7, () => Date.now() + 60_000);
    await expect(later.count(change.change, { leaseMs: 30_000 })).resolves.toMatch(/^(counted|duplicate)$/);
    await expect(later.count(change.change, { leaseMs: 30_000 })).resolves.toBe("duplicate");
    const { counts: after } = await later.readBucket(BUCKET);
    expect(after).toMatchObject({ ...counts(1, 0, 300), prefixes: { "videos/": counts(1, 0, 300) } });
    await expectNothingInFlight();
  });

  // Writes of one removal: claim, prefix ADD (conditional), total ADD, mark done, two set cleanups.
  it.each([
    ...[0, 1, 2, 3, 4, 5].map((writes) => ["counted", writes] as const),
    ...[0, 1, 2, 3, 4, 5].map((writes) => ["unmatched", writes] as const),
  ])("for a %s removal, after %i successful writes", async (kind, writes) => {
    if (kind === "counted") await invoke(objectCreated("videos/gone.mp4", 300));
    const change = changeFromEvent(objectDeleted("videos/gone.mp4"));
    if (change.type !== "change") throw new Error("expected a change");
    const dying = new CounterStore(dyingAfter(writes), table, 7);
    await dying.count(change.change, { leaseMs: 30_000 }).catch(() => undefined);
    const later = new CounterStore(documents, table, 7, () => Date.now() + 60_000);
    await expect(later.count(change.change, { leaseMs: 30_000 })).resolves.toMatch(/^(counted|duplicate)$/);
    await expect(later.count(change.change, { leaseMs: 30_000 })).resolves.toBe("duplicate");
    const expected = kind === "counted" ? counts(1, 1, 300) : counts(0, 0, 0, 1);
    const { counts: after } = await later.readBucket(BUCKET);
    expect(after).toMatchObject({ ...expected, prefixes: { "videos/": expected } });
    await expectNothingInFlight();
  });

  it("refuses a second delivery while the first one's claim is alive", async () => {
    const change = changeFromEvent(objectCreated("docs/a.pdf", 1));
    if (change.type !== "change") throw new Error("expected a change");
    await new CounterStore(dyingAfter(1), table, 7).count(change.change, { leaseMs: 30_000 }).catch(() => undefined);
    await expect(new CounterStore(documents, table, 7).count(change.change, { leaseMs: 30_000 })).rejects.toThrow(
      /being counted by another invocation/,
    );
  });
});

describe("an attempt whose lease ran out, or whose write's answer was lost", () => {
  beforeEach(freshTable);

  const changeOf = (event: unknown) => {
    const outcome = changeFromEvent(event);
    if (outcome.type !== "change") throw new Error("expected a change");
    return outcome.change;
  };
  /** A store whose clock is past every lease taken now: it takes over claims of live attempts. */
  const later = () => new CounterStore(documents, table, 7, () => Date.now() + 60_000);

  it("counts once when a later attempt took the claim over and finished before this one marked it", async () => {
    const change = changeOf(objectCreated("docs/slow.pdf", 9));
    const slow = new CounterStore(documents, table, 7);
    const result = await slow.count(change, {
      leaseMs: 1,
      // The slow attempt has applied its counts when its lease runs out and a redelivery finishes the event.
      afterCount: async () => {
        await expect(later().count(change, { leaseMs: 30_000 })).resolves.toBe("counted");
      },
    });
    expect(result).toBe("counted");
    expect((await slow.readBucket(BUCKET)).counts).toMatchObject({
      ...counts(1, 0, 9),
      prefixes: { "docs/": counts(1, 0, 9) },
    });
    await expectNothingInFlight();
  });

  it("fails the attempt that lost its claim to a live one, which then counts the event once", async () => {
    const change = changeOf(objectDeleted("docs/taken.pdf"));
    let letTakeoverFinish!: () => void;
    let takeover!: Promise<string>;
    const slow = new CounterStore(documents, table, 7).count(change, {
      leaseMs: 1,
      afterCount: async () => {
        takeover = later().count(change, {
          leaseMs: 30_000,
          afterCount: () => new Promise<void>((resolve) => (letTakeoverFinish = resolve)),
        });
        // Wait until the redelivery holds the claim (its hook runs after its claim and counts).
        while (!letTakeoverFinish) await new Promise((resolve) => setImmediate(resolve));
      },
    });
    await expect(slow).rejects.toMatchObject({
      code: "event-in-progress",
      message: expect.stringMatching(/lost its claim before it was marked counted \(record: claimed, owner /),
    });
    letTakeoverFinish();
    await expect(takeover).resolves.toBe("counted");
    await expect(later().count(change, { leaseMs: 30_000 })).resolves.toBe("duplicate");
    const { counts: after } = await later().readBucket(BUCKET);
    expect(after).toMatchObject({ ...counts(0, 0, 0, 1), prefixes: { "docs/": counts(0, 0, 0, 1) } });
    await expectNothingInFlight();
  });

  describe("every write's first answer lost (the SDK retries a write DynamoDB applied)", () => {
    let proxy: LostAnswersProxy;
    let lossy: DynamoDBDocumentClient;
    beforeAll(async () => {
      proxy = await startLostAnswersProxy(
        dynamo.endpoint,
        (request) => request.headers["x-amz-target"] === "DynamoDB_20120810.UpdateItem",
      );
      lossy = DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: S3RVER_CREDENTIALS }),
      );
    });
    afterAll(async () => {
      lossy.destroy();
      await proxy.close();
    });

    it("counts a creation, a matched removal and an unmatched removal once each", async () => {
      const store = new CounterStore(lossy, table, 7);
      const lostBefore = proxy.lost();
      for (const event of [
        objectCreated("videos/a.mp4", 5),
        objectDeleted("videos/a.mp4"),
        objectDeleted("videos/a.mp4"),
      ])
        await expect(store.count(changeOf(event), { leaseMs: 30_000 })).resolves.toBe("counted");
      // At least claim, two counter updates, mark done and two cleanups per event, each sent twice.
      expect(proxy.lost() - lostBefore).toBeGreaterThanOrEqual(18);
      const expected = counts(1, 1, 5, 1);
      expect((await store.readBucket(BUCKET)).counts).toMatchObject({ ...expected, prefixes: { "videos/": expected } });
      await expectNothingInFlight();
    });
  });
});

describe("GET /count", () => {
  beforeEach(freshTable);

  beforeEach(async () => {
    await invoke(objectCreated("images/a.jpg", 10));
    await invoke(objectCreated("images/b.jpg", 20));
    await invoke(objectCreated("top.txt", 3));
    await invoke(objectDeleted("images/a.jpg"));
  });

  it("returns one prefix's counters with ?prefix=, the root's with an empty prefix, zeros for an unseen one", async () => {
    expect(await getCount({ prefix: "images/" })).toEqual({
      status: 200,
      body: { bucket: BUCKET, prefix: "images/", ...counts(2, 1, 30) },
    });
    expect(await getCount({ prefix: "" })).toEqual({
      status: 200,
      body: { bucket: BUCKET, prefix: "", ...counts(1, 0, 3) },
    });
    expect(await getCount({ prefix: "audio/" })).toEqual({
      status: 200,
      body: { bucket: BUCKET, prefix: "audio/", ...counts(0, 0, 0) },
    });
  });

  it("answers JSON with the content type set", async () => {
    const response = (await invoke(httpRequest("GET", "/count"))) as APIGatewayProxyStructuredResultV2;
    expect(response.headers).toEqual({ "content-type": "application/json" });
    expect(JSON.parse(response.body!)).toEqual({
      bucket: BUCKET,
      ...counts(3, 1, 33),
      prefixes: { "images/": counts(2, 1, 30), "": counts(1, 0, 3) },
    });
  });

  it.each([
    ["GET", "/counts"],
    ["POST", "/count"],
    ["GET", "/"],
  ])("answers 404 for %s %s", async (method, path) => {
    expect(await getCount(undefined, path, method)).toEqual({
      status: 404,
      body: { message: `no route ${method} ${path}` },
    });
  });

  it.each([
    [{ prefix: "images/a/" }, /not a top-level prefix/],
    [{ prefix: "images" }, /not a top-level prefix/],
    [{ page: "2" }, /unknown query parameter\(s\) page; accepted: prefix, bucket, limit, next/],
    [{ limit: "0" }, /limit must be an integer from 1 to 1000/],
    [{ limit: "1001" }, /limit must be an integer from 1 to 1000/],
    [{ limit: "ten" }, /limit must be an integer from 1 to 1000/],
    [{ next: "not-a-cursor" }, /next is not a cursor from a previous answer/],
    [{ next: Buffer.from(JSON.stringify({ after: "a/b/" })).toString("base64url") }, /next is not a cursor/],
    [{ prefix: "images/", limit: "5" }, /limit and next page the prefix listing: not with prefix/],
    [{ bucket: "someone-elses-bucket" }, /bucket "someone-elses-bucket" is not monitored/],
  ])("answers 400 for %p", async (query, message) => {
    const { status, body } = await getCount(query);
    expect(status).toBe(400);
    expect(body.message).toMatch(message);
  });
});

describe("summary notifications", () => {
  beforeEach(freshTable);

  it("publishes per window what changed since the last summary, nothing when nothing changed, once per schedule event", async () => {
    const logger: Service.Log = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const { publishSummaries } = service;
    const deps: Service.ObjectStatsDependencies = {
      store: new CounterStore(documents, table, 7),
      sns: new SNSClient({ region: "us-east-2" }),
      topicArn: TOPIC_ARN,
      mode: "summary",
      buckets: [BUCKET, OTHER_BUCKET],
      logger,
    };
    await invoke(objectCreated("images/a.jpg", 10));
    await invoke(objectCreated("videos/b.mp4", 20));
    sns.resetHistory();
    const first = scheduledEvent("2026-11-21T12:15:00Z");
    expect(await publishSummaries({ eventId: first.id, time: first.time }, deps)).toBe(1);
    expect(await publishSummaries({ eventId: first.id, time: first.time }, deps)).toBe(0);
    await invoke(objectDeleted("images/a.jpg"));
    sns.resetHistory();
    expect(await publishSummaries({ eventId: "second", time: "2026-11-21T12:30:00Z" }, deps)).toBe(1);
    expect(await publishSummaries({ eventId: "third", time: "2026-11-21T12:45:00Z" }, deps)).toBe(0);
    const messages = sns.commandCalls(PublishCommand).map((call) => JSON.parse(call.args[0].input.Message!));
    expect(messages).toEqual([
      {
        type: "summary",
        bucket: BUCKET,
        since: "2026-11-21T12:15:00Z",
        until: "2026-11-21T12:30:00Z",
        change: { created: 0, removed: 1, bytes: 0, unmatchedRemovals: 0 },
        changeByPrefix: { "images/": { created: 0, removed: 1, bytes: 0, unmatchedRemovals: 0 } },
        prefixesLeftOut: 0,
        total: counts(2, 1, 30),
      },
    ]);
  });

  it("runs from the schedule event through the handler", async () => {
    loadHandlerWith({ NOTIFICATION_MODE: "summary" });
    await invoke(objectCreated("images/a.jpg", 10));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    await invoke(scheduledEvent("2026-11-21T12:15:00Z"));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!)).toMatchObject({
      type: "summary",
      since: null,
      change: { created: 1, removed: 0, bytes: 10 },
    });
  });
});

describe("a bucket with 10,000 top-level prefixes", () => {
  const PREFIXES = 10_000;
  const prefixName = (i: number) => `customer-${String(i).padStart(5, "0")}/`;

  const bytesOf = (i: number) => 1_000_000 + i;

  /**
   * Counter items as the counting writes them, put directly (10,000 events would take minutes),
   * once for both tests: paging only reads them; the summary test runs second.
   */
  beforeAll(async () => {
    await freshTable();
    const items = Array.from({ length: PREFIXES }, (_, i) => ({
      pk: `BUCKET#${BUCKET}`,
      sk: `PREFIX#${prefixName(i)}`,
      created: 2,
      removed: 1,
      bytes: bytesOf(i),
      unmatchedRemovals: 0,
    }));
    items.push({
      pk: `BUCKET#${BUCKET}`,
      sk: "TOTAL",
      created: 2 * PREFIXES,
      removed: PREFIXES,
      bytes: items.reduce((sum, item) => sum + item.bytes, 0),
      unmatchedRemovals: 0,
    });
    for (let start = 0; start < items.length; start += 25) {
      const batch = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      await documents.send(new BatchWriteCommand({ RequestItems: { [table]: batch } }));
    }
  }, 120_000);

  it("pages GET /count through every prefix exactly once (?limit, ?next)", async () => {
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const { status, body } = await getCount({ limit: "1000", ...(next ? { next } : {}) });
      expect(status).toBe(200);
      expect(body).toMatchObject({
        bucket: BUCKET,
        ...counts(2 * PREFIXES, PREFIXES, PREFIXES * 1_000_000 + (PREFIXES * (PREFIXES - 1)) / 2),
      });
      const page = Object.keys(body.prefixes as object);
      expect(page.length).toBeLessThanOrEqual(1000);
      seen.push(...page);
      next = body.next as string | undefined;
      pages++;
    } while (next && pages < 20);
    expect(seen).toHaveLength(PREFIXES);
    expect(new Set(seen).size).toBe(PREFIXES);
    expect(pages).toBeLessThanOrEqual(11);
    // Without ?limit, one default page of 100 and a cursor.
    const first = await getCount();
    expect(Object.keys(first.body.prefixes as object)).toHaveLength(100);
    expect(first.body.next).toEqual(expect.any(String));
  }, 300_000);

  it("keeps the summary under SNS's limit, counting the prefixes left out, and its snapshot under DynamoDB's", async () => {
    const { publishSummaries } = service;
    const logger: Service.Log = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const deps: Service.ObjectStatsDependencies = {
      store: new CounterStore(documents, table, 7),
      sns: new SNSClient({ region: "us-east-2" }),
      topicArn: TOPIC_ARN,
      mode: "summary",
      buckets: [BUCKET],
      logger,
    };
    sns.resetHistory();
    expect(await publishSummaries({ eventId: "window-1", time: "2026-11-21T12:15:00Z" }, deps)).toBe(1);
    const [publish] = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    const size =
      Buffer.byteLength(publish.Message!) +
      Buffer.byteLength(publish.Subject!) +
      Object.entries(publish.MessageAttributes!).reduce(
        (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value.StringValue!) + 6,
        0,
      );
    expect(size).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    const message = JSON.parse(publish.Message!);
    const listed = Object.keys(message.changeByPrefix).length;
    expect(listed).toBeGreaterThan(1_000);
    expect(listed + message.prefixesLeftOut).toBe(PREFIXES);
    expect(message.change).toEqual({
      created: 2 * PREFIXES,
      removed: PREFIXES,
      bytes: expect.any(Number),
      unmatchedRemovals: 0,
    });

    // The snapshot of 10,000 prefixes lives in chunk items, each under DynamoDB's item limit.
    const { Items: chunks } = await documents.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :chunk)",
        ExpressionAttributeValues: { ":pk": `BUCKET#${BUCKET}`, ":chunk": "SUMMARY#" },
      }),
    );
    expect(chunks!.length).toBeGreaterThan(1);
    for (const chunk of chunks!) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(DYNAMODB_MAX_ITEM_BYTES);

    // The next window reports exactly the one prefix that changed: the chunked snapshot round-trips.
    await invoke(objectCreated(`${prefixName(4_321)}new.bin`, 5));
    sns.resetHistory();
    expect(await publishSummaries({ eventId: "window-2", time: "2026-11-21T12:30:00Z" }, deps)).toBe(1);
    const second = JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!);
    expect(second).toMatchObject({
      since: "2026-11-21T12:15:00Z",
      change: { created: 1, removed: 0, bytes: 5, unmatchedRemovals: 0 },
      changeByPrefix: { [prefixName(4_321)]: { created: 1, removed: 0, bytes: 5, unmatchedRemovals: 0 } },
      prefixesLeftOut: 0,
    });
    // The first window's chunks are gone; only the second's remain.
    const { Items: remaining } = await documents.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :chunk)",
        ExpressionAttributeValues: { ":pk": `BUCKET#${BUCKET}`, ":chunk": "SUMMARY#" },
      }),
    );
    expect(remaining!.map((item) => item.sk)).toEqual(
      chunks!.map((_, index) => `SUMMARY#window-2#${String(index).padStart(5, "0")}`),
    );
  }, 300_000);
});

describe("figures", () => {
  beforeEach(freshTable);

  it("prints events counted, duplicates ignored, malformed events and API requests as EMF", async () => {
    loadHandlerWith({ AWS_LAMBDA_FUNCTION_NAME: "s3edge-example-object-stats", POWERTOOLS_METRICS_DISABLED: "false" });
    const created = objectCreated("images/figures.jpg", 10);
    const lines = await captureEmf(async () => {
      await invoke(created);
      await invoke(created); // redelivered
      await invoke({ source: "aws.s3", "detail-type": "Object Created", detail: {} });
      await getCount();
    });
    expect(figures(lines)).toEqual({
      [OBJECT_STATS_METRICS.eventsCounted]: 1,
      [OBJECT_STATS_METRICS.duplicatesIgnored]: 1,
      [OBJECT_STATS_METRICS.malformedEvents]: 1,
      [OBJECT_STATS_METRICS.apiRequests]: 1,
    });
    // One line per invocation that had something to report.
    expect(lines).toHaveLength(4);
    expect(dimensionSets(lines)).toEqual([
      { namespace: METRICS_NAMESPACE, dimensions: { service: "s3edge-example-object-stats" } },
    ]);
  });
});
