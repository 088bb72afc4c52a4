import { SNSClient, PublishCommand } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { httpRequest, objectCreated, objectDeleted, objectStatsTable } from "../../testing/aws-events";
import { startDynamoDb as startLocalDynamoDb } from "../../testing/local-servers";
import { percentile, progress, round, type BenchSection } from "./support";

const EVENTS = 1_000;
const COUNT_REQUESTS = 500;
const BUCKET = "bench-bucket";

/**
 * The object-stats handler against dynalite on loopback (SNS mocked at the SDK boundary):
 * a batch of 1,000 S3 events invoked concurrently (each event = claim, two ADDs, notify, done,
 * cleanup), then `GET /count` latency over sequential requests.
 */
export const objectStats: BenchSection = async () => {
  const dynamo = await startLocalDynamoDb();
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: "bench" });
  const saved = { ...process.env };
  try {
    await dynamo.createTable(objectStatsTable("object-stats-bench"));
    Object.assign(process.env, dynamo.env, {
      TABLE_NAME: "object-stats-bench",
      TOPIC_ARN: "arn:aws:sns:us-east-2:123456789012:object-stats-bench",
      NOTIFICATION_MODE: "per-change",
      MONITORED_BUCKETS: BUCKET,
      DEDUPE_TTL_DAYS: "7",
      // One JSON line per event would measure the terminal, not the handler.
      POWERTOOLS_LOG_LEVEL: "WARN",
    });
    const { handler } = await import("../../functions/object-stats/index");
    const context = { getRemainingTimeInMillis: () => 30_000 };
    const prefixes = ["images/", "videos/", "docs/", ""];
    const events = Array.from({ length: EVENTS }, (_, i) =>
      i % 4 === 3
        ? objectDeleted(`${prefixes[i % 4]}${i}`, { bucket: BUCKET })
        : objectCreated(`${prefixes[i % 4]}${i}.bin`, 1_000 + i, { bucket: BUCKET }),
    );

    progress(`object-stats: ${EVENTS} events concurrently`);
    const started = process.hrtime.bigint();
    await Promise.all(events.map((event) => handler(event, context)));
    const eventSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    progress(`object-stats: ${COUNT_REQUESTS} sequential GET /count`);
    const latencies: number[] = [];
    for (let i = 0; i < COUNT_REQUESTS; i++) {
      const request = i % 2 === 0 ? httpRequest("GET", "/count") : httpRequest("GET", "/count", { prefix: "images/" });
      const before = process.hrtime.bigint();
      const response = (await handler(request, context)) as APIGatewayProxyStructuredResultV2;
      latencies.push(Number(process.hrtime.bigint() - before) / 1e6);
      if (response.statusCode !== 200) throw new Error(`GET /count answered ${response.statusCode}: ${response.body}`);
    }
    const last = (await handler(httpRequest("GET", "/count"), context)) as APIGatewayProxyStructuredResultV2;
    const counts = JSON.parse(last.body as string) as { created: number; removed: number; unmatchedRemovals: number };
    // The deletions are of keys (in the root prefix) never created: counted as unmatched removals.
    if (counts.created !== 750 || counts.removed + counts.unmatchedRemovals !== 250)
      throw new Error(`counts are off after the batch: ${last.body}`);

    return {
      backend: "dynalite on loopback, SNS mocked",
      events: {
        count: EVENTS,
        seconds: round(eventSeconds),
        eventsPerSecond: round(EVENTS / eventSeconds, 1),
        notifications: sns.commandCalls(PublishCommand).length,
      },
      getCount: {
        requests: COUNT_REQUESTS,
        p50Ms: round(percentile(latencies, 0.5), 2),
        p99Ms: round(percentile(latencies, 0.99), 2),
        maxMs: round(Math.max(...latencies), 2),
      },
    };
  } finally {
    process.env = saved;
    sns.restore();
    await dynamo.close();
  }
};
