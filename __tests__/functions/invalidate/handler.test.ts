import { BatchProcessingError } from "@aws-lambda-powertools/batch";
import {
  CloudFrontClient,
  CreateInvalidationCommand,
  TooManyInvalidationsInProgress,
} from "@aws-sdk/client-cloudfront";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { INVALIDATION_METRICS, METRICS_NAMESPACE } from "../../../functions/shared/metrics";
import { captureEmf, dimensionSets, figures } from "../../support/emf";
import {
  callerReference,
  invalidateChanges,
  objectChange,
  settingsFrom,
} from "../../../functions/invalidate/invalidate";
import { objectCreated, objectDeleted, objectRestoreCompleted } from "../../../testing/aws-events";
import { sqsRecord } from "../../../testing/sqs";

const DISTRIBUTION_ID = "E2EXAMPLE12345";
const BUCKET = "s3edge-example-primary-us-east-2";
const cloudFront = mockClient(CloudFrontClient);
// Without a legacy origin the function reads nothing from S3: any HEAD would show up here.
const s3 = mockClient(S3Client);

/** An S3 event as EventBridge delivers it; `key` is given decoded (the fixture encodes it as S3 does). */
const s3Event = (type: "Object Created" | "Object Deleted", key: string) =>
  type === "Object Created" ? objectCreated(key, 5, { bucket: BUCKET }) : objectDeleted(key, { bucket: BUCKET });

const context = {
  functionName: "s3edge-example-invalidate",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  getRemainingTimeInMillis: () => 120_000,
} as unknown as Context;

let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  process.env.DISTRIBUTION_ID = DISTRIBUTION_ID;
  process.env.EXACT_PATH_LIMIT = "50";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.AWS_LAMBDA_FUNCTION_NAME = "s3edge-example-invalidate";
  ({ handler } = await import("../../../functions/invalidate/index"));
});

beforeEach(() => {
  cloudFront.reset();
  s3.reset();
  jest.spyOn(Math, "random").mockReturnValue(0);
});
afterEach(() => jest.restoreAllMocks());

const invalidationCalls = () => cloudFront.commandCalls(CreateInvalidationCommand).map((call) => call.args[0].input);

describe("the invalidate handler", () => {
  it("decodes keys of Object Created and Object Deleted events and invalidates them in one request", async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({
      Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
    });
    const event: SQSEvent = {
      Records: [
        sqsRecord("m-1", s3Event("Object Created", "photos/summer holiday/beaché.jpg")),
        sqsRecord("m-2", s3Event("Object Deleted", "docs/old file.pdf")),
        sqsRecord("m-3", s3Event("Object Created", "photos/summer holiday/beaché.jpg")),
      ],
    };
    await expect(handler(event, context)).resolves.toEqual({ batchItemFailures: [] });
    expect(invalidationCalls()).toEqual([
      {
        DistributionId: DISTRIBUTION_ID,
        InvalidationBatch: {
          CallerReference: callerReference(["m-1", "m-2", "m-3"]),
          Paths: { Quantity: 2, Items: ["/docs/old%20file.pdf", "/photos/summer%20holiday/beach%C3%A9.jpg"] },
        },
      },
    ]);
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });

  it("invalidates an object whose restore from an archive completed", async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({
      Invalidation: { Id: "I5", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
    });
    const event: SQSEvent = {
      Records: [sqsRecord("m-1", objectRestoreCompleted("archive/2019/report.pdf", 10, { bucket: BUCKET }))],
    };
    await expect(handler(event, context)).resolves.toEqual({ batchItemFailures: [] });
    expect(invalidationCalls()[0].InvalidationBatch?.Paths?.Items).toEqual(["/archive/2019/report.pdf"]);
  });

  it("retries with backoff while CloudFront answers TooManyInvalidationsInProgress", async () => {
    cloudFront
      .on(CreateInvalidationCommand)
      .rejectsOnce(new TooManyInvalidationsInProgress({ message: "Too many", $metadata: {} }))
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "Throttling" }))
      .resolves({
        Invalidation: { Id: "I2", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
      });
    const event: SQSEvent = { Records: [sqsRecord("m-1", s3Event("Object Created", "a.txt"))] };
    await expect(handler(event, context)).resolves.toEqual({ batchItemFailures: [] });
    const calls = invalidationCalls();
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.InvalidationBatch?.CallerReference)).size).toBe(1);
  });

  it("reports an unreadable record as a partial batch failure and still invalidates the rest", async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({
      Invalidation: { Id: "I3", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
    });
    const event: SQSEvent = {
      Records: [
        sqsRecord("m-1", s3Event("Object Created", "ok.txt")),
        sqsRecord("m-2", "not json"),
        sqsRecord("m-3", { source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: {} }),
      ],
    };
    await expect(handler(event, context)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: "m-2" }, { itemIdentifier: "m-3" }],
    });
    expect(invalidationCalls()[0].InvalidationBatch?.Paths?.Items).toEqual(["/ok.txt"]);
  });

  it("returns every record to SQS when the invalidation fails for good", async () => {
    cloudFront.on(CreateInvalidationCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDenied" }));
    const event: SQSEvent = {
      Records: [sqsRecord("m-1", s3Event("Object Created", "a")), sqsRecord("m-2", s3Event("Object Created", "b"))],
    };
    // Powertools raises FullBatchFailureError when every record failed: Lambda retries the batch.
    await expect(handler(event, context)).rejects.toBeInstanceOf(BatchProcessingError);
    expect(invalidationCalls()).toHaveLength(1);
  });

  it("sends the same CallerReference for a redelivered batch, in any order, so CloudFront creates one invalidation", async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({
      Invalidation: { Id: "I4", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
    });
    const records = [
      sqsRecord("m-7", s3Event("Object Created", "x")),
      sqsRecord("m-8", s3Event("Object Deleted", "y")),
    ];
    await handler({ Records: records }, context);
    await handler({ Records: [...records].reverse() }, context);
    await handler({ Records: [sqsRecord("m-9", s3Event("Object Created", "x")), records[1]] }, context);
    const references = invalidationCalls().map((c) => c.InvalidationBatch?.CallerReference);
    expect(references[0]).toBe(references[1]);
    // A later change of the same key arrives in a new message: a new invalidation.
    expect(references[2]).not.toBe(references[0]);
  });
});

describe("the invalidate core", () => {
  it("decodes URL-encoded keys with + for space, and reads the type, bucket and version", () => {
    expect(objectChange("m", JSON.stringify(s3Event("Object Created", "a b+c/漢.txt")))).toEqual({
      messageId: "m",
      type: "Object Created",
      bucket: BUCKET,
      key: "a b+c/漢.txt",
      versionId: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
    });
    const unversioned = objectCreated("k", 1, { versionId: null });
    expect(objectChange("m", JSON.stringify(unversioned)).versionId).toBeUndefined();
  });

  it("checks migration writes only when the construct names the migration bucket (a legacy origin is configured)", () => {
    const base = { DISTRIBUTION_ID, EXACT_PATH_LIMIT: "50" };
    expect(settingsFrom(base).migrationBucket).toBeUndefined();
    expect(settingsFrom({ ...base, MIGRATION_BUCKET: BUCKET }).migrationBucket).toBe(BUCKET);
  });

  it("backs off exponentially and gives up after the last attempt", async () => {
    const client = new CloudFrontClient({ region: "us-east-1" });
    cloudFront
      .on(CreateInvalidationCommand)
      .rejects(new TooManyInvalidationsInProgress({ message: "busy", $metadata: {} }));
    const delays: number[] = [];
    await expect(
      invalidateChanges([{ messageId: "m", key: "k" }], {
        client,
        distributionId: DISTRIBUTION_ID,
        retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 },
        sleep: async (ms) => void delays.push(ms),
        random: () => 1,
      }),
    ).rejects.toThrow("CreateInvalidation failed after 4 attempt(s): TooManyInvalidationsInProgress");
    expect(delays).toEqual([100, 200, 250]);
  });

  it("stops retrying when the invocation has no time left for the next wait", async () => {
    const client = new CloudFrontClient({ region: "us-east-1" });
    cloudFront
      .on(CreateInvalidationCommand)
      .rejects(new TooManyInvalidationsInProgress({ message: "busy", $metadata: {} }));
    await expect(
      invalidateChanges([{ messageId: "m", key: "k" }], {
        client,
        distributionId: DISTRIBUTION_ID,
        sleep: async () => undefined,
        random: () => 1,
        remainingTimeMs: () => 5_500,
      }),
    ).rejects.toThrow("after 1 attempt(s)");
  });
});

describe("the invalidate handler's figures", () => {
  it("prints keys, paths, wildcards, retries and failures as EMF under the function's name", async () => {
    cloudFront
      .on(CreateInvalidationCommand)
      .rejectsOnce(new TooManyInvalidationsInProgress({ message: "Too many", $metadata: {} }))
      .resolves({
        Invalidation: { Id: "I9", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
      });
    // 60 keys under one prefix: over the exact-path limit (50), so they collapse into a wildcard.
    const records = Array.from({ length: 60 }, (_, i) =>
      sqsRecord(`k-${i}`, s3Event("Object Created", `many/${i}.txt`)),
    );
    const success = await captureEmf(() => handler({ Records: [...records, sqsRecord("bad", "not json")] }, context));
    expect(figures(success)).toEqual({
      [INVALIDATION_METRICS.keysSeen]: 60,
      [INVALIDATION_METRICS.unreadable]: 1,
      [INVALIDATION_METRICS.invalidations]: 1,
      [INVALIDATION_METRICS.paths]: 1,
      [INVALIDATION_METRICS.wildcards]: 1,
      [INVALIDATION_METRICS.retries]: 1,
    });
    expect(success).toHaveLength(1);
    expect(dimensionSets(success)).toEqual([
      { namespace: METRICS_NAMESPACE, dimensions: { service: "s3edge-example-invalidate" } },
    ]);

    cloudFront.reset();
    cloudFront.on(CreateInvalidationCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDenied" }));
    // A whole batch that fails is thrown (Powertools' FullBatchFailureError); the figures are printed all the same.
    const failure = await captureEmf(() =>
      expect(handler({ Records: [sqsRecord("f-1", s3Event("Object Deleted", "x.txt"))] }, context)).rejects.toThrow(
        BatchProcessingError,
      ),
    );
    expect(figures(failure)).toEqual({ [INVALIDATION_METRICS.keysSeen]: 1, [INVALIDATION_METRICS.failures]: 1 });
  });
});
