import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Fn, TerraformLocal, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { KMS_KEY_ADMIN_ACTIONS, SNS_PUBLISHER_KMS_ACTIONS, TOPIC_OWNER_ACTIONS } from "./encrypted-topic";
import { denyInsecureTransport, policyDocument } from "../aws/iam";
import { KMS_KEY_DELETION_WINDOW_DAYS } from "./secure-bucket";
import { Partition } from "../aws/partition";

export interface OpsTopicProps {
  /** `<namePrefix>-ops`: the topic, and the key alias. */
  readonly topicName: string;
  /** The region the topic serves (its alarms' region). */
  readonly region: string;
  /** Provider of that region. @default the stack's default provider */
  readonly provider?: TerraformProvider;
  /**
   * Subscribed by e-mail (each address confirms once).
   * @default none
   */
  readonly emails?: readonly string[];
}

/**
 * The account id from an ARN (the 5th field), without a data source, so plans need no
 * credentials; a local, so the policy JSON holds a plain reference.
 */
const accountOf = (scope: Construct, id: string, arn: string) =>
  new TerraformLocal(scope, id, Fn.element(Fn.split(":", arn), 4)).asString;

/**
 * The topic CloudWatch alarms of one region notify: encrypted with a rotating KMS key created for
 * it, published to only by CloudWatch alarms of this account in this region, managed by the
 * account's IAM principals. CloudWatch needs the key (SNS encrypts what it publishes), so the
 * AWS managed `aws/sns` key, whose policy cannot name CloudWatch, would silently drop alarms.
 */
export class OpsTopic extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  readonly arn: string;

  constructor(scope: Construct, id: string, props: OpsTopicProps) {
    super(scope, id);
    const { provider } = props;
    // Created with the default key policy (the account root), then given its own: its ARN names the account.
    this.key = new KmsKey(this, "key", {
      provider,
      description: `s3-edge: encryption of the ops topic ${props.topicName}`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_KEY_DELETION_WINDOW_DAYS,
    });
    const partition = Partition.of(this);
    const keyAccount = accountOf(this, "key-account", this.key.arn);
    new KmsKeyPolicy(this, "key-policy", {
      provider,
      keyId: this.key.keyId,
      // In a key policy, Resource "*" means this key.
      policy: policyDocument([
        {
          Sid: "KeyAdministration",
          Effect: "Allow",
          Principal: { AWS: partition.accountRoot(keyAccount) },
          Action: KMS_KEY_ADMIN_ACTIONS,
          Resource: "*",
        },
        {
          // CloudWatch encrypts the alarm notifications it publishes to the topic.
          Sid: "CloudWatchAlarmsUseKey",
          Effect: "Allow",
          Principal: { Service: partition.servicePrincipal("cloudwatch") },
          Action: SNS_PUBLISHER_KMS_ACTIONS,
          Resource: "*",
        },
      ]),
    });
    new KmsAlias(this, "key-alias", { provider, name: `alias/${props.topicName}`, targetKeyId: this.key.keyId });

    this.topic = new SnsTopic(this, "topic", { provider, name: props.topicName, kmsMasterKeyId: this.key.arn });
    this.arn = this.topic.arn;
    const account = accountOf(this, "topic-account", this.topic.arn);
    new SnsTopicPolicy(this, "policy", {
      provider,
      arn: this.topic.arn,
      policy: policyDocument([
        {
          Sid: "OwnerManages",
          Effect: "Allow",
          Principal: { AWS: partition.accountRoot(account) },
          Action: TOPIC_OWNER_ACTIONS,
          Resource: this.topic.arn,
        },
        {
          Sid: "AlarmsOfThisAccountAndRegionPublish",
          Effect: "Allow",
          Principal: { Service: partition.servicePrincipal("cloudwatch") },
          Action: "sns:Publish",
          Resource: this.topic.arn,
          Condition: {
            ArnLike: { "aws:SourceArn": partition.arn("cloudwatch", props.region, account, "alarm:*") },
            StringEquals: { "aws:SourceAccount": account },
          },
        },
        denyInsecureTransport(["sns:Publish", "sns:Subscribe"], this.topic.arn),
      ]),
    });
    (props.emails ?? []).forEach((email, index) => {
      new SnsTopicSubscription(this, `email-${index}`, {
        provider,
        topicArn: this.topic.arn,
        protocol: "email",
        endpoint: email,
      });
    });
  }
}

export interface OpsTopicsProps {
  /** Topics are named `<namePrefix>-ops`. */
  readonly namePrefix: string;
  /** Every region that has alarms, with its provider. */
  readonly regions: ReadonlyArray<{ readonly region: string; readonly provider?: TerraformProvider }>;
  /** Existing topics by region: used as they are, none created there. @default none */
  readonly existingTopicArns?: Readonly<Partial<Record<string, string>>>;
  /** @default none */
  readonly emails?: readonly string[];
}

/** One ops topic per region with alarms: an existing one from config, or an OpsTopic. */
export class OpsTopics extends Construct {
  /** Region → topic ARN. */
  readonly arns: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: OpsTopicsProps) {
    super(scope, id);
    const arns: Record<string, string> = {};
    for (const { region, provider } of props.regions) {
      arns[region] =
        props.existingTopicArns?.[region] ??
        new OpsTopic(this, region, { topicName: `${props.namePrefix}-ops`, region, provider, emails: props.emails })
          .arn;
    }
    this.arns = arns;
  }
}
