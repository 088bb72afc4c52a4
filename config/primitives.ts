import { z } from "zod";
import { AWS_REGIONS, gcsBucketNameProblem, hostnameProblem, s3BucketNameProblem } from "./aws-facts";

export const region = z.enum(AWS_REGIONS, {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `"${String(issue.input)}" is not an AWS region (partition aws); expected one of ${AWS_REGIONS.join(", ")}`,
});

export const fromProblem = (problem: (value: string) => string | undefined, what: string) =>
  z.string().superRefine((value, ctx) => {
    const reason = problem(value);
    if (reason) ctx.addIssue({ code: "custom", message: `"${value}" is not a valid ${what}: ${reason}` });
  });

export const s3BucketName = fromProblem(s3BucketNameProblem, "S3 bucket name");
export const gcsBucketName = fromProblem(gcsBucketNameProblem, "GCS bucket name");
export const hostname = fromProblem(hostnameProblem, "domain name");

export const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
  );

/** Every stack's feature switch: on in the built-in example. */
export const enabled = z.boolean().default(true);
