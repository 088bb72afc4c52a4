/**
 * The invalidate handler reads its plan settings from the environment the construct sets
 * (functions/invalidate/environment.ts): each setting changes what the same batch invalidates.
 * The handler reads its environment once, at load, so each case loads it afresh in an isolated
 * module registry, with CloudFront mocked at that registry's SDK boundary.
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { ENVIRONMENT } from "../../../functions/invalidate/environment";
import { objectCreated, objectDeleted } from "../../../testing/aws-events";
import { sqsRecord } from "../../../testing/sqs";

const DISTRIBUTION_ID = "E2EXAMPLE12345";
const BUCKET = "s3edge-example-primary-us-east-2";
const context = {
  functionName: "s3edge-example-invalidate",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  getRemainingTimeInMillis: () => 120_000,
} as unknown as Context;

/** Five changes in three folders: the same batch for every setting. */
const batch: SQSEvent = {
  Records: [
    sqsRecord("m-1", objectCreated("gallery/summer/1.jpg", 5, { bucket: BUCKET })),
    sqsRecord("m-2", objectCreated("gallery/summer/2.jpg", 5, { bucket: BUCKET })),
    sqsRecord("m-3", objectDeleted("gallery/summer/3.jpg", { bucket: BUCKET })),
    sqsRecord("m-4", objectCreated("gallery/winter/1.jpg", 5, { bucket: BUCKET })),
    sqsRecord("m-5", objectCreated("news/today.html", 5, { bucket: BUCKET })),
  ],
};

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

/** Loads the handler with `env` (the construct's variables), runs the batch, returns the paths sent to CloudFront. */
async function pathsInvalidatedWith(env: Record<string, string>): Promise<string[]> {
  process.env = { ...savedEnv, POWERTOOLS_LOG_LEVEL: "SILENT", [ENVIRONMENT.distributionId]: DISTRIBUTION_ID, ...env };
  let paths: string[] = [];
  await jest.isolateModulesAsync(async () => {
    // The SDK of this registry: the one the freshly loaded handler sends with.
    const { CloudFrontClient, CreateInvalidationCommand } = await import("@aws-sdk/client-cloudfront");
    const cloudFront = mockClient(CloudFrontClient);
    cloudFront.on(CreateInvalidationCommand).resolves({
      Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
    });
    try {
      const { handler } = (await import("../../../functions/invalidate/index")) as {
        handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
      };
      await expect(handler(batch, context)).resolves.toEqual({ batchItemFailures: [] });
      const calls = cloudFront.commandCalls(CreateInvalidationCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0].args[0].input.DistributionId).toBe(DISTRIBUTION_ID);
      paths = calls[0].args[0].input.InvalidationBatch?.Paths?.Items ?? [];
    } finally {
      cloudFront.restore();
    }
  });
  return paths;
}

describe("the invalidate handler's environment", () => {
  test.each([
    [
      "EXACT_PATH_LIMIT above the batch: one exact path per key",
      { [ENVIRONMENT.exactPathLimit]: "100" },
      [
        "/gallery/summer/1.jpg",
        "/gallery/summer/2.jpg",
        "/gallery/summer/3.jpg",
        "/gallery/winter/1.jpg",
        "/news/today.html",
      ],
    ],
    [
      "EXACT_PATH_LIMIT 3: the fullest folder collapses into a wildcard",
      { [ENVIRONMENT.exactPathLimit]: "3" },
      ["/gallery/summer/*", "/gallery/winter/1.jpg", "/news/today.html"],
    ],
    ["EXACT_PATH_LIMIT 1: the whole distribution", { [ENVIRONMENT.exactPathLimit]: "1" }, ["/*"]],
    [
      "QUERY_STRING_VARIANTS true: each key with its query-string variants",
      { [ENVIRONMENT.exactPathLimit]: "100", [ENVIRONMENT.queryStringVariants]: "true" },
      [
        "/gallery/summer/1.jpg*",
        "/gallery/summer/2.jpg*",
        "/gallery/summer/3.jpg*",
        "/gallery/winter/1.jpg*",
        "/news/today.html*",
      ],
    ],
    [
      "both: the limit and the variants together",
      { [ENVIRONMENT.exactPathLimit]: "3", [ENVIRONMENT.queryStringVariants]: "true" },
      ["/gallery/summer/*", "/gallery/winter/1.jpg*", "/news/today.html*"],
    ],
  ])("%s", async (_, env, expected) => {
    expect((await pathsInvalidatedWith(env)).sort()).toEqual([...expected].sort());
  });

  test.each([
    [{ [ENVIRONMENT.exactPathLimit]: "0" }, ENVIRONMENT.exactPathLimit],
    [
      { [ENVIRONMENT.exactPathLimit]: "100", [ENVIRONMENT.queryStringVariants]: "yes" },
      ENVIRONMENT.queryStringVariants,
    ],
  ])("refuses to load with %j, naming %s", async (env, variable) => {
    await expect(pathsInvalidatedWith(env)).rejects.toThrow(variable);
  });
});
