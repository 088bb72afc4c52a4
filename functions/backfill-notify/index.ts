import { Logger } from "@aws-lambda-powertools/logger";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { CloudFrontResponseEvent, CloudFrontResultResponse, Context } from "aws-lambda";
import { queueUrlFor } from "../shared/queue-url";
import { compiledSettings } from "./environment";
import { copyJobFor, sendWithinBudget } from "./notify";

/** The most a viewer's response waits for SQS. */
const SEND_BUDGET_MS = 400;

const settings = compiledSettings();
const logger = new Logger({ serviceName: "backfill-notify" });
// Created once per container. One retry at most, each attempt cut short: the budget above rules.
const sqs = new SQSClient({
  region: settings.queueRegion,
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 150, requestTimeout: 250 },
});
let queueUrl: string | undefined;

/**
 * Origin response: after a miss served by GCS, asks the backfill pipeline to copy the object.
 * The response goes back unchanged whatever happens to the notification.
 */
export const handler = async (event: CloudFrontResponseEvent, context: Context): Promise<CloudFrontResultResponse> => {
  const { request, response } = event.Records[0].cf;
  const job = copyJobFor(request, response, settings.legacyOriginDomain);
  if (job) {
    const outcome = await sendWithinBudget((abortSignal) => {
      queueUrl ??= queueUrlFor(context.invokedFunctionArn, settings.queueRegion, settings.queueName);
      return sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }), {
        abortSignal,
      });
    }, SEND_BUDGET_MS);
    if (outcome.sent) logger.debug("backfill requested", { key: job.key });
    else logger.warn("backfill notification dropped", { key: job.key, reason: outcome.reason });
  }
  return response;
};
