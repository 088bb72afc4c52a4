/**
 * One function, two callers: EventBridge (S3 "Object Created"/"Object Deleted" events, and the
 * summary schedule) and the HTTP API (`GET /count`, payload format 2.0).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { CounterStore } from "./counters";
import { createMetrics, MetricUnit, OBJECT_STATS_METRICS, publishFigures } from "../shared/metrics";
import { readEnvironment } from "../shared/environment";
import { ENVIRONMENT, ENVIRONMENT_FIELDS } from "./environment";
import { ObjectStatsError } from "./errors";
import { answerCount, countS3Event, publishSummaries, scheduleWindow, type ObjectStatsDependencies } from "./service";

/** Added to the invocation's remaining time: a claim outlives the attempt that holds it. */
export const LEASE_MARGIN_MS = 10_000;

const logger = new Logger({ serviceName: "object-stats" });
const metrics = createMetrics();

const EVENT_RESULT_METRIC = {
  counted: OBJECT_STATS_METRICS.eventsCounted,
  duplicate: OBJECT_STATS_METRICS.duplicatesIgnored,
  ignored: undefined,
} as const;

function fromEnvironment(): ObjectStatsDependencies {
  const env = readEnvironment(ENVIRONMENT, ENVIRONMENT_FIELDS, process.env);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  return {
    store: new CounterStore(documents, env.tableName, env.dedupeTtlDays),
    sns: new SNSClient({}),
    topicArn: env.topicArn,
    mode: env.notificationMode,
    buckets: env.monitoredBuckets,
    logger,
  };
}

// SDK clients are created once per container, on the first invocation.
let dependencies: ObjectStatsDependencies | undefined;

const isHttpRequest = (event: unknown): event is APIGatewayProxyEventV2 =>
  (event as APIGatewayProxyEventV2 | null)?.version === "2.0" &&
  (event as APIGatewayProxyEventV2).requestContext?.http !== undefined;

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const HTTP_STATUS = { "bad-request": 400, "not-found": 404 } as const;

export async function handler(
  event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyStructuredResultV2 | void> {
  try {
    return await handle(event, context);
  } finally {
    publishFigures(metrics);
  }
}

async function handle(
  event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyStructuredResultV2 | void> {
  const deps = (dependencies ??= fromEnvironment());
  const http = isHttpRequest(event);
  try {
    if (http) {
      metrics.addMetric(OBJECT_STATS_METRICS.apiRequests, MetricUnit.Count, 1);
      const request = {
        routeKey: event.routeKey,
        method: event.requestContext.http.method,
        path: event.rawPath,
        query: event.queryStringParameters ?? {},
      };
      return json(200, await answerCount(request, deps));
    }
    const window = scheduleWindow(event);
    if (window) await publishSummaries(window, deps);
    else {
      const result = await countS3Event(event, deps, context.getRemainingTimeInMillis() + LEASE_MARGIN_MS);
      const figure = EVENT_RESULT_METRIC[result];
      if (figure) metrics.addMetric(figure, MetricUnit.Count, 1);
    }
  } catch (error) {
    if (error instanceof ObjectStatsError && (error.code === "bad-request" || error.code === "not-found"))
      return json(HTTP_STATUS[error.code], { message: error.message });
    if (error instanceof ObjectStatsError && error.code === "malformed-event") {
      // Retrying cannot fix it: log it whole for inspection and report success so it is not redelivered.
      logger.warn("malformed event skipped", { reason: error.message, event });
      metrics.addMetric(OBJECT_STATS_METRICS.malformedEvents, MetricUnit.Count, 1);
      return;
    }
    logger.error(http ? "request failed" : "event failed; it will be retried", error as Error);
    if (http) return json(500, { message: "internal error; see the function's logs" });
    // EventBridge → Lambda is an asynchronous invocation: an error makes Lambda retry the event
    // and, when retries run out, send it to the on-failure destination. Counting is idempotent per
    // event id, so a retry after a partial failure never counts twice.
    throw error;
  }
}
