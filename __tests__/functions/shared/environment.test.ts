import { settingsFrom, InvalidationError } from "../../../functions/invalidate/invalidate";
import {
  ENVIRONMENT as IMAGE_ENVIRONMENT,
  ENVIRONMENT_FIELDS as IMAGE_FIELDS,
} from "../../../functions/image/environment";
import {
  DEFAULT_DEDUPE_TTL_DAYS,
  ENVIRONMENT as OBJECT_STATS_ENVIRONMENT,
  ENVIRONMENT_FIELDS as OBJECT_STATS_FIELDS,
} from "../../../functions/object-stats/environment";
import {
  DEFAULT_FAN_OUT_THRESHOLD,
  DEFAULT_STALL_SECONDS,
  WORKER_ENVIRONMENT,
  WORKER_ENVIRONMENT_FIELDS,
} from "../../../functions/shared/backfill-environment";
import { EnvironmentError, readEnvironment } from "../../../functions/shared/environment";

const objectStatsEnv = {
  TABLE_NAME: "counters",
  TOPIC_ARN: "arn:aws:sns:us-east-2:123456789012:counts",
  NOTIFICATION_MODE: "summary",
  MONITORED_BUCKETS: "primary,archive",
  DEDUPE_TTL_DAYS: String(DEFAULT_DEDUPE_TTL_DAYS),
};

describe("readEnvironment", () => {
  it("gives each variable its type under its logical name", () => {
    expect(readEnvironment(OBJECT_STATS_ENVIRONMENT, OBJECT_STATS_FIELDS, objectStatsEnv)).toEqual({
      tableName: "counters",
      topicArn: "arn:aws:sns:us-east-2:123456789012:counts",
      notificationMode: "summary",
      monitoredBuckets: ["primary", "archive"],
      dedupeTtlDays: DEFAULT_DEDUPE_TTL_DAYS,
    });
  });

  it("names every missing or malformed variable in one error", () => {
    const env = { ...objectStatsEnv, TABLE_NAME: "", NOTIFICATION_MODE: "hourly", DEDUPE_TTL_DAYS: "7.5" };
    delete (env as Partial<typeof env>).TOPIC_ARN;
    expect(() => readEnvironment(OBJECT_STATS_ENVIRONMENT, OBJECT_STATS_FIELDS, env)).toThrow(
      new EnvironmentError(
        "invalid environment: TABLE_NAME is not set; TOPIC_ARN is not set; " +
          'NOTIFICATION_MODE must be one of per-change, summary, got "hourly"; ' +
          'DEDUPE_TTL_DAYS must be a positive integer, got "7.5"',
      ),
    );
  });

  it("fills the defaults the function documents", () => {
    const worker = readEnvironment(WORKER_ENVIRONMENT, WORKER_ENVIRONMENT_FIELDS, {
      DESTINATION_BUCKET: "primary",
      JOBS_TABLE: "jobs",
      QUEUE_URL: "https://sqs.us-east-2.amazonaws.com/123456789012/backfill",
    });
    expect(worker).toMatchObject({
      sourceApi: "s3",
      sourceEndpoint: "https://storage.googleapis.com",
      sourceRegion: "auto",
      sourceAddressing: "path",
      stallSeconds: DEFAULT_STALL_SECONDS,
      fanOutThresholdBytes: DEFAULT_FAN_OUT_THRESHOLD,
      functionMemoryMb: 1024,
    });
    expect(worker.sourceBucket).toBeUndefined();
    expect(worker.bufferBudgetBytes).toBeUndefined();
  });

  it("takes an empty image setting as unset and refuses a malformed one by name", () => {
    const settings = readEnvironment(IMAGE_ENVIRONMENT, IMAGE_FIELDS, {
      SOURCE_BUCKET: " images ",
      SOURCE_BUCKET_REGIONS: "far=eu-west-1",
      MAX_SOURCE_BYTES: "",
      STYLE_TABLE: "",
    });
    expect(settings).toMatchObject({ sourceBucket: "images", sourceBuckets: [], styleDelimiters: [] });
    expect(settings.sourceBucketRegions).toEqual(new Map([["far", "eu-west-1"]]));
    expect(settings.maxSourceBytes).toBeUndefined();
    expect(settings.styleTable).toBeUndefined();
    expect(() =>
      readEnvironment(IMAGE_ENVIRONMENT, IMAGE_FIELDS, { SOURCE_BUCKET_REGIONS: "far=europe", AUTO_FORMAT: "yes" }),
    ).toThrow(
      'SOURCE_BUCKET_REGIONS must be bucket=region pairs, got "far=europe"; AUTO_FORMAT must be true or false, got "yes"',
    );
  });

  it("throws the function's own error when it asks to", () => {
    const read = () => settingsFrom({ DISTRIBUTION_ID: "E2QWRUHEXAMPLE", EXACT_PATH_LIMIT: "0" });
    expect(read).toThrow(InvalidationError);
    expect(read).toThrow('EXACT_PATH_LIMIT must be a positive integer, got "0"');
    expect(settingsFrom({ DISTRIBUTION_ID: "E2QWRUHEXAMPLE", EXACT_PATH_LIMIT: "50" })).toEqual({
      distributionId: "E2QWRUHEXAMPLE",
      plan: { exactPathLimit: 50, queryStringVariants: false },
      migrationBucket: undefined,
    });
  });
});
