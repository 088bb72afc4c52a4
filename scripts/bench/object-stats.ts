import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { SNSClient, PublishCommand } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { httpRequest, objectCreated, objectDeleted, objectStatsTable } from "../../testing/aws-events";
import { localAwsEnv, startDynamoDb } from "../../testing/local-servers";
import { percentile, progress, repeat, sampleFigures, secondsSince, type BenchSection } from "./support";
import { DEFAULT_DEDUPE_TTL_DAYS, ENVIRONMENT } from "../../functions/object-stats/environment";

const EVENTS = 1_000;
const COUNT_REQUESTS = 500;
const BUCKET = "bench-bucket";
const TABLE = "object-stats-bench";

/**
 * The object-stats handler against dynalite on loopback (SNS mocked at the SDK boundary), `runs`
 * times, each on a new empty table: a batch of 1,000 S3 events invoked concurrently (each event =
 * claim, two ADDs, notify, done, cleanup), then `GET /count` latency over sequential requests.
 */
export const objectStats: BenchSection = async ({ runs }) => {
  const dynamo = await startDynamoDb();
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: "bench" });
  const saved = { ...process.env };
  try {
    Object.assign(process.env, localAwsEnv(undefined, dynamo.endpoint), {
      [ENVIRONMENT.tableName]: TABLE,
      [ENVIRONMENT.topicArn]: "arn:aws:sns:us-east-2:123456789012:object-stats-bench",
      [ENVIRONMENT.notificationMode]: "per-change",
      [ENVIRONMENT.monitoredBuckets]: BUCKET,
      [ENVIRONMENT.dedupeTtlDays]: String(DEFAULT_DEDUPE_TTL_DAYS),
      // One JSON line per event would measure the terminal, not the handler; and stdout carries
      // only the bench's JSON document (the handler prints its figures as EMF there otherwise).
      POWERTOOLS_LOG_LEVEL: "WARN",
      POWERTOOLS_METRICS_DISABLED: "true",
    });
    const { handler } = await import("../../functions/object-stats/index");
    const context = { getRemainingTimeInMillis: () => 30_000 };
    const prefixes = ["images/", "videos/", "docs/", ""];
    const notifications: number[] = [];

    const results = await repeat(runs, async (run) => {
      // The handler names its table once: each run empties it by creating it again.
      if (run > 1) await dynamo.client.send(new DeleteTableCommand({ TableName: TABLE }));
      await dynamo.createTable(objectStatsTable(TABLE));
      sns.resetHistory();
      const events = Array.from({ length: EVENTS }, (_, i) =>
        i % 4 === 3
          ? objectDeleted(`${prefixes[i % 4]}${i}`, { bucket: BUCKET })
          : objectCreated(`${prefixes[i % 4]}${i}.bin`, 1_000 + i, { bucket: BUCKET }),
      );

      progress(`object-stats run ${run}/${runs}: ${EVENTS} events concurrently`);
      const started = process.hrtime.bigint();
      await Promise.all(events.map((event) => handler(event, context)));
      const eventSeconds = secondsSince(started);
      notifications.push(sns.commandCalls(PublishCommand).length);

      progress(`object-stats run ${run}/${runs}: ${COUNT_REQUESTS} sequential GET /count`);
      const latencies: number[] = [];
      for (let i = 0; i < COUNT_REQUESTS; i++) {
        const request =
          i % 2 === 0 ? httpRequest("GET", "/count") : httpRequest("GET", "/count", { prefix: "images/" });
        const before = process.hrtime.bigint();
        const response = (await handler(request, context)) as APIGatewayProxyStructuredResultV2;
        latencies.push(Number(process.hrtime.bigint() - before) / 1e6);
        if (response.statusCode !== 200)
          throw new Error(`GET /count answered ${response.statusCode}: ${response.body}`);
      }
      const last = (await handler(httpRequest("GET", "/count"), context)) as APIGatewayProxyStructuredResultV2;
      const counts = JSON.parse(last.body as string) as { created: number; removed: number; unmatchedRemovals: number };
      // The deletions are of keys (in the root prefix) never created: counted as unmatched removals.
      if (counts.created !== 750 || counts.removed + counts.unmatchedRemovals !== 250)
        throw new Error(`counts are off after the batch: ${last.body}`);
      return {
        events: { seconds: eventSeconds, eventsPerSecond: EVENTS / eventSeconds },
        getCount: {
          p50Ms: percentile(latencies, 0.5),
          p99Ms: percentile(latencies, 0.99),
          maxMs: Math.max(...latencies),
        },
      };
    });
    const figures = sampleFigures(results, 2);
    if (new Set(notifications).size !== 1) throw new Error(`notifications differ between runs: ${notifications}`);
    return {
      backend: "dynalite on loopback, SNS mocked",
      runs,
      events: { count: EVENTS, ...figures.events, notifications: notifications[0] },
      getCount: { requests: COUNT_REQUESTS, ...figures.getCount },
    };
  } finally {
    process.env = saved;
    sns.restore();
    await dynamo.close();
  }
};
