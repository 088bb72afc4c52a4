import type { PolicyStatement } from "./iam";

/**
 * The queue-policy statement that lets EventBridge put the events a rule could not deliver into
 * `queueArn` (its target's `dead_letter_config`), for that rule only.
 */
export function eventBridgeDeadLetterStatement(queueArn: string, ruleArn: string): PolicyStatement {
  return {
    Sid: "EventBridgeUndeliverableEvents",
    Effect: "Allow",
    Principal: { Service: "events.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: queueArn,
    Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
  };
}
