import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { BackfillMessage } from "./backfill-messages";

/** SQS accepts at most 10 messages per batch. */
const SQS_BATCH = 10;

/** Sends backfill messages (copy jobs, fanned-out parts) to the backfill queue. */
export class JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  async send(messages: readonly BackfillMessage[]): Promise<void> {
    for (let first = 0; first < messages.length; first += SQS_BATCH) {
      const batch = messages.slice(first, first + SQS_BATCH);
      const { Failed } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })),
        }),
      );
      if (Failed?.length) {
        throw new Error(`SQS refused ${Failed.length} message(s): ${Failed.map((entry) => entry.Message).join("; ")}`);
      }
    }
  }

  /** Messages waiting to be received (SQS's approximate count): a backlog when above zero. */
  async backlog(): Promise<number> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  }
}
