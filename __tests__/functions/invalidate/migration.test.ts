/**
 * Issue 10 part 1, end to end: S3 events of a mixed batch (the migration's copies and owner
 * writes), as EventBridge delivers them through SQS, reach the invalidation handler, which reads
 * the migration-write marker from a local S3 (s3rver with versioning) and invalidates the owner
 * writes only. CloudFront, which has no local server, is mocked at the SDK boundary.
 */
import {
  CloudFrontClient,
  CreateInvalidationCommand,
  type CreateInvalidationCommandInput,
} from "@aws-sdk/client-cloudfront";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { objectChange } from "../../../functions/invalidate/invalidate";
import { excludeMigrationWrites } from "../../../functions/invalidate/migration";
import { MIGRATION_WRITE_METADATA, MigrationWrite } from "../../../functions/shared/migration-write";
import { objectCreated, objectDeleted, objectRestoreCompleted } from "../../../testing/aws-events";
import { localAwsEnv } from "../../../testing/local-servers";
import { sqsRecord } from "../../../testing/sqs";
import { startVersionedS3, type VersionedS3 } from "../../../testing/versioned-s3rver";

const BUCKET = "s3edge-example-primary-us-east-2";
const DISTRIBUTION_ID = "E2EXAMPLE12345";
const STALLED = "stalled/hangs.jpg";
const cloudFront = mockClient(CloudFrontClient);

const context = {
  functionName: "s3edge-example-invalidate",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  getRemainingTimeInMillis: () => 120_000,
} as unknown as Context;

let server: VersionedS3;
let s3: S3Client;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = await startVersionedS3([BUCKET], { stall: (key) => key === STALLED });
  Object.assign(process.env, localAwsEnv(server.endpoint), {
    DISTRIBUTION_ID,
    EXACT_PATH_LIMIT: "50",
    MIGRATION_BUCKET: BUCKET,
    POWERTOOLS_LOG_LEVEL: "SILENT",
  });
  s3 = new S3Client({ requestChecksumCalculation: "WHEN_REQUIRED" });
  ({ handler } = await import("../../../functions/invalidate/index"));
});

afterAll(async () => {
  s3.destroy();
  await server.close();
  process.env = savedEnv;
});

beforeEach(() => {
  cloudFront.reset();
  cloudFront.on(CreateInvalidationCommand).resolves({
    Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
  });
  server.heads.length = 0;
});

/** Writes a version as the copy engine (with its marker) or an owner (without) would; its version id. */
async function write(key: string, marker?: string): Promise<string> {
  const output = await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: `bytes of ${key}`,
      Metadata: marker === undefined ? undefined : { [MIGRATION_WRITE_METADATA]: marker },
    }),
  );
  return output.VersionId!;
}

/** The S3 event of a version written above, as EventBridge delivers it into SQS. */
const created = (messageId: string, key: string, versionId: string) =>
  sqsRecord(messageId, objectCreated(key, 10, { bucket: BUCKET, versionId }));

const invalidatedPaths = () =>
  cloudFront
    .commandCalls(CreateInvalidationCommand)
    .map((call) => (call.args[0].input as CreateInvalidationCommandInput).InvalidationBatch?.Paths?.Items);

describe("automatic invalidation during a migration", () => {
  it("invalidates the owner writes of a mixed batch and none of the migration's creations, with one HEAD per key", async () => {
    const migrated = await Promise.all(
      ["site/index.html", "site/a.css", "img/cat.jpg", "img/dog.jpg"].map(async (key) => ({
        key,
        versionId: await write(key, MigrationWrite.created),
      })),
    );
    const ownerWrite = await write("site/news.html");
    const replaced = await write("img/logo.png", MigrationWrite.replaced);
    const oddMarker = await write("img/odd.png", "CREATED ");
    const restored = await write("archive/old.pdf", MigrationWrite.created);
    const records = [
      ...migrated.map(({ key, versionId }, index) => created(`mig-${index}`, key, versionId)),
      // EventBridge delivers at least once: a duplicate of a migration write is still one.
      created("mig-dup", migrated[0].key, migrated[0].versionId),
      created("own-1", "site/news.html", ownerWrite),
      created("rep-1", "img/logo.png", replaced),
      created("odd-1", "img/odd.png", oddMarker),
      sqsRecord("del-1", objectDeleted("site/gone.html", { bucket: BUCKET })),
      sqsRecord("res-1", objectRestoreCompleted("archive/old.pdf", 10, { bucket: BUCKET, versionId: restored })),
    ];

    await expect(handler({ Records: records }, context)).resolves.toEqual({ batchItemFailures: [] });

    expect(invalidatedPaths()).toEqual([
      ["/archive/old.pdf", "/img/logo.png", "/img/odd.png", "/site/gone.html", "/site/news.html"],
    ]);
    // Deletions and restores need no look; every Object Created key is read once, duplicates included.
    expect([...server.heads].sort()).toEqual(
      [
        "img/cat.jpg",
        "img/dog.jpg",
        "img/logo.png",
        "img/odd.png",
        "site/a.css",
        "site/index.html",
        "site/news.html",
      ].sort(),
    );
  });

  it("reads the exact version in the event: an owner write stays an owner write after the migration re-created the key", async () => {
    const key = "docs/manual.pdf";
    const ownerVersion = await write(key);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    // The key was gone, a viewer missed, and the migration copied the legacy object back.
    const migrationVersion = await write(key, MigrationWrite.created);

    // The owner's event arrives late, alone in its batch: its version has no marker.
    await handler({ Records: [created("late-owner", key, ownerVersion)] }, context);
    expect(invalidatedPaths()).toEqual([["/docs/manual.pdf"]]);

    // The migration's event alone is skipped: nothing is sent to CloudFront.
    cloudFront.resetHistory();
    await expect(handler({ Records: [created("mig", key, migrationVersion)] }, context)).resolves.toEqual({
      batchItemFailures: [],
    });
    expect(invalidatedPaths()).toEqual([]);
  });

  it("invalidates without a look a key with several changes in one batch, even if one is a migration write", async () => {
    const key = "docs/faq.html";
    const ownerVersion = await write(key);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const migrationVersion = await write(key, MigrationWrite.created);
    const records = [
      created("c-1", key, ownerVersion),
      sqsRecord("d-1", objectDeleted(key, { bucket: BUCKET })),
      created("c-2", key, migrationVersion),
    ];
    await handler({ Records: records }, context);
    expect(invalidatedPaths()).toEqual([["/docs/faq.html"]]);
    expect(server.heads).toEqual([]);
  });

  it("errs on the side of invalidating: an unknown version, a bucket without versioning, another bucket", async () => {
    const key = "media/clip.mp4";
    await write(key, MigrationWrite.created);
    const records = [
      created("unknown-version", key, "no-such-version"),
      sqsRecord("unversioned", objectCreated("media/poster.jpg", 1, { bucket: BUCKET, versionId: null })),
      sqsRecord("other-bucket", objectCreated("media/other.jpg", 1, { bucket: "someone-else", versionId: "v" })),
    ];
    await handler({ Records: records }, context);
    expect(invalidatedPaths()).toEqual([["/media/clip.mp4", "/media/other.jpg", "/media/poster.jpg"]]);
    expect(server.heads).toEqual([key]);
  });

  it("hands back only the records it had to invalidate when CloudFront refuses", async () => {
    const migration = await write("shop/item.html", MigrationWrite.created);
    const owner = await write("shop/cart.html");
    cloudFront.on(CreateInvalidationCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDenied" }));
    await expect(
      handler(
        { Records: [created("mig", "shop/item.html", migration), created("own", "shop/cart.html", owner)] },
        context,
      ),
    ).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: "own" }] });
  });

  it("invalidates a key whose HEAD does not answer in time, and the rest of the batch is decided", async () => {
    const stalled = await write(STALLED, MigrationWrite.created);
    const migration = await write("fast/one.jpg", MigrationWrite.created);
    const changes = [
      objectChange("s", JSON.stringify(objectCreated(STALLED, 1, { bucket: BUCKET, versionId: stalled }))),
      objectChange("f", JSON.stringify(objectCreated("fast/one.jpg", 1, { bucket: BUCKET, versionId: migration }))),
    ];
    const started = Date.now();
    const result = await excludeMigrationWrites(changes, { s3, bucket: BUCKET, timeoutMs: 300, budgetMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.invalidate.map((change) => change.key)).toEqual([STALLED]);
    expect(result.skipped.map((change) => change.key)).toEqual(["fast/one.jpg"]);
    expect(result).toMatchObject({ checked: 2, failed: 1 });
  });

  it("stops looking when the batch's budget runs out: keys not read by then are invalidated", async () => {
    const stalled = await write(STALLED, MigrationWrite.created);
    const later = await write("later/two.jpg", MigrationWrite.created);
    const changes = [
      objectChange("s", JSON.stringify(objectCreated(STALLED, 1, { bucket: BUCKET, versionId: stalled }))),
      objectChange("l", JSON.stringify(objectCreated("later/two.jpg", 1, { bucket: BUCKET, versionId: later }))),
    ];
    // One HEAD at a time: the stalled one holds the only slot until the budget ends.
    const result = await excludeMigrationWrites(changes, {
      s3,
      bucket: BUCKET,
      concurrency: 1,
      timeoutMs: 10_000,
      budgetMs: 300,
    });
    expect(result.invalidate.map((change) => change.key)).toEqual([STALLED, "later/two.jpg"]);
    expect(result).toMatchObject({ checked: 1, failed: 1 });
  });
});
