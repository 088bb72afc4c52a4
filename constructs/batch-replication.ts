import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Fn, TerraformLocal, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { assumeRolePolicy, policyDocument } from "../aws/iam";
import { Partition } from "../aws/partition";
import { SecureBucket } from "./secure-bucket";

/** Key prefix of the completion reports in the reports bucket; the role may write only below it. */
export const BATCH_REPLICATION_REPORT_PREFIX = "batch-replication";

/** The service whose principal (`batchoperations.s3.<partition dns suffix>`) runs the jobs and assumes the role. */
export const BATCH_OPERATIONS_SERVICE = "batchoperations.s3";

export interface BatchReplicationProps {
  /**
   * Any ARN of the account that runs the jobs (a token is fine): the role trusts only that
   * account's Batch Operations jobs. The account id is taken from it, so the stack needs no
   * aws_caller_identity lookup.
   */
  readonly accountArn: string;
  /** ARN of the bucket whose existing objects are replicated (the replication source). */
  readonly sourceBucketArn: string;
  /** Region of the source bucket: S3 Batch Operations jobs run there. */
  readonly region: string;
  /** Name of the role S3 Batch Operations assumes. */
  readonly roleName: string;
  /** Bucket created for the jobs' completion reports (private, in `region`). */
  readonly reportBucketName: string;
  /**
   * Provider of `region`.
   * @default the stack's default aws provider
   */
  readonly provider?: TerraformProvider;
}

/**
 * What an S3 Batch Replication job (`npm run replicate-existing`) needs: a role that S3 Batch
 * Operations may assume only for jobs of this account in this region, allowed exactly to generate
 * the manifest of objects eligible for replication (read the replication configuration, put an
 * inventory configuration), initiate their replication, and write the completion report below
 * one prefix of a private reports bucket. Reports live apart from the content buckets: the CDN
 * serves those, and a report lists every key.
 */
export class BatchReplication extends Construct {
  readonly role: IamRole;
  readonly reportBucket: SecureBucket;

  constructor(scope: Construct, id: string, props: BatchReplicationProps) {
    super(scope, id);
    const provider = props.provider;
    const partition = Partition.of(this);
    const account = new TerraformLocal(this, "account", Fn.element(Fn.split(":", props.accountArn), 4)).asString;

    this.reportBucket = new SecureBucket(this, "reports", { provider, bucketName: props.reportBucketName });
    const reportArn = this.reportBucket.bucket.arn;

    this.role = new IamRole(this, "role", {
      provider,
      name: props.roleName,
      description: "s3-edge: S3 Batch Replication of existing objects (npm run replicate-existing)",
      // Confused-deputy guard: only Batch Operations jobs of this account, in the source's region.
      assumeRolePolicy: assumeRolePolicy([partition.servicePrincipal(BATCH_OPERATIONS_SERVICE)], {
        StringEquals: { "aws:SourceAccount": account },
        ArnLike: { "aws:SourceArn": partition.arn("s3", props.region, account, "job/*") },
      }),
    });
    new IamRolePolicy(this, "policy", {
      provider,
      name: "batch-replication",
      role: this.role.id,
      policy: policyDocument([
        {
          Sid: "InitiateReplication",
          Effect: "Allow",
          Action: "s3:InitiateReplication",
          Resource: `${props.sourceBucketArn}/*`,
        },
        {
          // The manifest generator reads the replication rules and lists the bucket through an inventory.
          Sid: "GenerateManifest",
          Effect: "Allow",
          Action: ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
          Resource: props.sourceBucketArn,
        },
        {
          Sid: "WriteReport",
          Effect: "Allow",
          Action: "s3:PutObject",
          Resource: `${reportArn}/${BATCH_REPLICATION_REPORT_PREFIX}/*`,
        },
      ]),
    });
  }
}
