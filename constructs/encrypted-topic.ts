import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { policyDocument, type PolicyStatement } from "../aws/iam";
import { KMS_KEY_DELETION_WINDOW_DAYS } from "./secure-bucket";
import { Partition } from "../aws/partition";

/**
 * Key administration for the account's IAM principals: what Terraform needs to manage the key,
 * without Encrypt/Decrypt (using the key is granted per principal below). AWS documents this as
 * the key administrators' statement.
 */
export const KMS_KEY_ADMIN_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
];
/** What a publisher to an encrypted topic needs on its key. */
export const SNS_PUBLISHER_KMS_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"];
/** Topic management left to the owning account's IAM principals (never Publish or Subscribe). */
export const TOPIC_OWNER_ACTIONS = [
  "sns:GetTopicAttributes",
  "sns:SetTopicAttributes",
  "sns:AddPermission",
  "sns:RemovePermission",
  "sns:DeleteTopic",
  "sns:ListSubscriptionsByTopic",
];

/** A topic's ARN from its parts, so that policies can name a topic before it exists. */
export const snsTopicArn = (partition: Partition, region: string, accountId: string, topicName: string) =>
  partition.arn("sns", region, accountId, topicName);

export interface EncryptedTopicProps {
  readonly topicName: string;
  /** The AWS account that owns the topic (its key administrators and topic managers). */
  readonly accountId: string;
  readonly region: string;
  /** IAM role ARNs allowed to publish (and to use the key for it). */
  readonly publisherRoleArns: readonly string[];
  /**
   * Who may subscribe: 12-digit account ids and IAM ARNs. Everyone else, this account's own
   * principals included, is denied `sns:Subscribe`.
   * @default nobody
   */
  readonly subscriberPrincipals?: readonly string[];
  /**
   * Resources the key and topic policies wait for: the publisher roles, when created alongside
   * (AWS refuses a policy naming a principal that does not exist yet).
   * @default none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * An SNS topic encrypted with a rotating KMS key created for it. Publishing is allowed to the
 * named roles only, subscribing to the named principals only; no statement allows a wildcard
 * principal.
 */
export class EncryptedTopic extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  readonly policy: SnsTopicPolicy;

  constructor(scope: Construct, id: string, props: EncryptedTopicProps) {
    super(scope, id);
    const { accountId, region, topicName } = props;
    const partition = Partition.of(this);
    const accountRoot = partition.accountRoot(accountId);
    const topicArn = snsTopicArn(partition, region, accountId, topicName);

    this.key = new KmsKey(this, "key", {
      description: `s3-edge: encryption of SNS topic ${topicName}`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_KEY_DELETION_WINDOW_DAYS,
      dependsOn: props.dependsOn && [...props.dependsOn],
      // In a key policy, Resource "*" means this key.
      policy: policyDocument([
        {
          Sid: "KeyAdministration",
          Effect: "Allow",
          Principal: { AWS: accountRoot },
          Action: KMS_KEY_ADMIN_ACTIONS,
          Resource: "*",
        },
        {
          Sid: "PublishersUseKey",
          Effect: "Allow",
          Principal: { AWS: props.publisherRoleArns },
          Action: SNS_PUBLISHER_KMS_ACTIONS,
          Resource: "*",
        },
        {
          // SNS decrypts messages to deliver them to subscribers.
          Sid: "SnsUsesKeyForThisTopic",
          Effect: "Allow",
          Principal: { Service: partition.servicePrincipal("sns") },
          Action: SNS_PUBLISHER_KMS_ACTIONS,
          Resource: "*",
          Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnEquals: { "aws:SourceArn": topicArn } },
        },
      ]),
    });
    new KmsAlias(this, "key-alias", { name: `alias/${topicName}`, targetKeyId: this.key.keyId });

    this.topic = new SnsTopic(this, "topic", { name: topicName, kmsMasterKeyId: this.key.arn });
    this.policy = new SnsTopicPolicy(this, "policy", {
      arn: this.topic.arn,
      dependsOn: props.dependsOn && [...props.dependsOn],
      policy: policyDocument(topicStatements(partition, this.topic.arn, accountRoot, props)),
    });
  }
}

/** `arn:<partition>:iam::<account>:root`: the account itself. */
const ACCOUNT_ROOT = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):root$/;

function topicStatements(
  partition: Partition,
  topicArn: string,
  accountRoot: string,
  props: EncryptedTopicProps,
): PolicyStatement[] {
  const subscribers = props.subscriberPrincipals ?? [];
  // An account root ARN stands for the whole account (its roles and users), as an account id
  // does: the Deny below must exempt it by account, since no caller's aws:PrincipalArn is the root.
  const accounts = [
    ...new Set(
      subscribers.map((principal) => ACCOUNT_ROOT.exec(principal)?.[1] ?? principal).filter((p) => /^\d{12}$/.test(p)),
    ),
  ];
  const arns = subscribers.filter((principal) => principal.startsWith("arn:") && !ACCOUNT_ROOT.test(principal));
  const statements: PolicyStatement[] = [
    {
      Sid: "OwnerManages",
      Effect: "Allow",
      Principal: { AWS: accountRoot },
      Action: TOPIC_OWNER_ACTIONS,
      Resource: topicArn,
    },
    {
      Sid: "PublishOnlyFromTheseRoles",
      Effect: "Allow",
      Principal: { AWS: props.publisherRoleArns },
      Action: "sns:Publish",
      Resource: topicArn,
    },
  ];
  if (subscribers.length > 0) {
    statements.push({
      Sid: "NamedSubscribers",
      Effect: "Allow",
      Principal: {
        AWS: subscribers.map((principal) =>
          principal.startsWith("arn:") ? principal : partition.accountRoot(principal),
        ),
      },
      Action: "sns:Subscribe",
      Resource: topicArn,
    });
  }
  // An Allow in the topic policy does not stop this account's own IAM principals from
  // subscribing through their identity policies: only a Deny does.
  const notNamed = {
    ...(accounts.length > 0 ? { StringNotEquals: { "aws:PrincipalAccount": accounts } } : {}),
    ...(arns.length > 0 ? { ArnNotEquals: { "aws:PrincipalArn": arns } } : {}),
  };
  statements.push({
    Sid: "NobodyElseSubscribes",
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: "sns:Subscribe",
    Resource: topicArn,
    ...(subscribers.length > 0 ? { Condition: notNamed } : {}),
  });
  return statements;
}
