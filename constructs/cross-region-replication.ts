import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { S3BucketReplicationConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-replication-configuration";
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { assumeRolePolicy, policyDocument, type PolicyStatement } from "../aws/iam";
import type { SecureBucket } from "./secure-bucket";
import { Partition } from "../aws/partition";

/** S3 Replication Time Control's only threshold: 15 minutes. */
export const REPLICATION_TIME_MINUTES = 15;

export interface CrossRegionReplicationProps {
  readonly source: SecureBucket;
  readonly sourceRegion: string;
  readonly destination: SecureBucket;
  readonly destinationRegion: string;
  /** Provider of the source bucket's region (replication is configured on the source). */
  readonly provider?: TerraformProvider;
  /** Name of the role S3 assumes to replicate. */
  readonly roleName: string;
  /**
   * Replicate delete markers, so a delete on the primary hides the object on the replica too.
   * @default true
   */
  readonly deleteMarkerReplication?: boolean;
  /**
   * S3 Replication Time Control (99.99% of objects within 15 minutes) with replication metrics.
   * @default false
   */
  readonly replicationTimeControl?: boolean;
}

/**
 * Replicates every object of one bucket to another in a second region: one rule for the whole
 * bucket and a role that can read only the source and write only the destination (and use only
 * their KMS keys, through S3, when they are SSE-KMS encrypted).
 */
export class CrossRegionReplication extends Construct {
  readonly role: IamRole;
  readonly configuration: S3BucketReplicationConfigurationA;

  constructor(scope: Construct, id: string, props: CrossRegionReplicationProps) {
    super(scope, id);
    const { source, destination } = props;
    const sourceArn = source.bucket.arn;
    const destinationArn = destination.bucket.arn;

    this.role = new IamRole(this, "role", {
      provider: props.provider,
      name: props.roleName,
      description: "s3-edge: S3 cross-region replication",
      // Confused-deputy guard: S3 may assume the role only on behalf of the source bucket.
      assumeRolePolicy: assumeRolePolicy([Partition.of(this).servicePrincipal("s3")], {
        ArnLike: { "aws:SourceArn": sourceArn },
      }),
    });

    const statements: PolicyStatement[] = [
      {
        Sid: "ReadReplicationConfiguration",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: sourceArn,
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
        Resource: `${sourceArn}/*`,
      },
      {
        Sid: "WriteReplicas",
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        Resource: `${destinationArn}/*`,
      },
    ];
    if (source.kmsKeyArn) {
      statements.push(
        kmsThroughS3(
          Partition.of(this),
          "DecryptSource",
          ["kms:Decrypt"],
          source.kmsKeyArn,
          props.sourceRegion,
          sourceArn,
        ),
      );
    }
    if (destination.kmsKeyArn) {
      statements.push(
        kmsThroughS3(
          Partition.of(this),
          "EncryptReplicas",
          ["kms:Encrypt", "kms:GenerateDataKey"],
          destination.kmsKeyArn,
          props.destinationRegion,
          destinationArn,
        ),
      );
    }
    new IamRolePolicy(this, "policy", {
      provider: props.provider,
      name: "replication",
      role: this.role.id,
      policy: policyDocument(statements),
    });

    const timeControl = props.replicationTimeControl ?? false;
    this.configuration = new S3BucketReplicationConfigurationA(this, "configuration", {
      provider: props.provider,
      bucket: source.bucket.id,
      role: this.role.arn,
      rule: [
        {
          id: "replicate-everything",
          status: "Enabled",
          // An empty filter selects the whole bucket (and is what delete-marker replication needs).
          filter: {},
          deleteMarkerReplication: { status: (props.deleteMarkerReplication ?? true) ? "Enabled" : "Disabled" },
          sourceSelectionCriteria: source.kmsKeyArn ? { sseKmsEncryptedObjects: { status: "Enabled" } } : undefined,
          destination: {
            bucket: destinationArn,
            storageClass: "STANDARD",
            encryptionConfiguration: destination.kmsKeyArn ? { replicaKmsKeyId: destination.kmsKeyArn } : undefined,
            replicationTime: timeControl
              ? { status: "Enabled", time: { minutes: REPLICATION_TIME_MINUTES } }
              : undefined,
            metrics: timeControl
              ? { status: "Enabled", eventThreshold: { minutes: REPLICATION_TIME_MINUTES } }
              : undefined,
          },
        },
      ],
      // S3 refuses a replication configuration until both buckets are versioned.
      dependsOn: [source.versioning, destination.versioning],
    });
  }
}

/** A KMS permission usable only by S3 in the given region, on objects of the given bucket. */
function kmsThroughS3(
  partition: Partition,
  sid: string,
  actions: readonly string[],
  keyArn: string,
  region: string,
  bucketArn: string,
): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: actions,
    Resource: keyArn,
    Condition: {
      StringEquals: { "kms:ViaService": partition.serviceDomain("s3", region) },
      // With S3 Bucket Keys the encryption context is the bucket ARN, otherwise the object ARN.
      StringLike: { "kms:EncryptionContext:aws:s3:arn": [bucketArn, `${bucketArn}/*`] },
    },
  };
}
