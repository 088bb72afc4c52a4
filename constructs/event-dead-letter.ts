import type { PolicyStatement } from "../aws/iam";
import type { Partition } from "../aws/partition";

/**
 * The queue-policy statement that lets EventBridge put the events a rule could not deliver into
 * `queueArn` (its target's `dead_letter_config`), for that rule only.
 */
export function eventBridgeDeadLetterStatement(
  partition: Partition,
  queueArn: string,
  ruleArn: string,
): PolicyStatement {
  return {
    Sid: "EventBridgeUndeliverableEvents",
    Effect: "Allow",
    Principal: { Service: partition.servicePrincipal("events") },
    Action: "sqs:SendMessage",
    Resource: queueArn,
    Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
  };
}
