import { z } from "zod";
import { SUPPORTED_REGIONS, gcsBucketNameProblem, hostnameProblem, s3BucketNameProblem } from "./aws-facts";

/**
 * Field documentation beyond zod's own: `typeLabel` names the type in docs/configuration.md where
 * the schema's type says too little (a pattern, a long enum), `defaultLabel` a default computed from
 * other fields. Descriptions are zod's `description`; scripts/config-reference.ts reads all three.
 */
export interface FieldDocs {
  readonly description?: string;
  readonly typeLabel?: string;
  readonly defaultLabel?: string;
}

export const region = z
  .enum(SUPPORTED_REGIONS, {
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : `"${String(issue.input)}" is not an AWS region s3-edge supports (partitions aws and aws-cn); expected one of ${SUPPORTED_REGIONS.join(", ")}`,
  })
  .meta({ typeLabel: "AWS region" } satisfies FieldDocs);

/** `aws` or `aws-cn` in an ARN: the partition is checked against the regions separately. */
export const ARN_PARTITION = "aws(?:-cn)?";

export const fromProblem = (problem: (value: string) => string | undefined, what: string) =>
  z.string().superRefine((value, ctx) => {
    const reason = problem(value);
    if (reason) ctx.addIssue({ code: "custom", message: `"${value}" is not a valid ${what}: ${reason}` });
  });

export const s3BucketName = fromProblem(s3BucketNameProblem, "S3 bucket name").meta({
  typeLabel: "S3 bucket name",
} satisfies FieldDocs);
export const gcsBucketName = fromProblem(gcsBucketNameProblem, "GCS bucket name").meta({
  typeLabel: "GCS bucket name",
} satisfies FieldDocs);
export const hostname = fromProblem(hostnameProblem, "domain name").meta({
  typeLabel: "domain name",
} satisfies FieldDocs);

export const kmsKeyArn = z
  .string()
  .regex(
    new RegExp(`^arn:${ARN_PARTITION}:kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+$`),
    "must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)",
  )
  .meta({ typeLabel: "KMS key ARN" } satisfies FieldDocs);

/** Every stack's feature switch: on in the built-in example. */
export const enabled = z.boolean().default(true);
