import type { SQSRecord } from "aws-lambda";

/**
 * The SQS record of an EventBridge → SQS delivery: the event is the message body, as AWS documents
 * it (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
 */
export function sqsRecord(messageId: string, body: unknown, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: "1636675200000",
      SenderId: "AIDAIENQZJOLO23YVJ4VO",
      ApproximateFirstReceiveTimestamp: "1636675200001",
    },
    messageAttributes: {},
    md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-2:123456789012:s3edge-example-invalidate",
    awsRegion: "us-east-2",
  };
}
