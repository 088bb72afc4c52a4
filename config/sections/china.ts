import { z } from "zod";
import { type FieldDocs, hostname } from "../primitives";

/**
 * An IAM server certificate id, as `aws iam list-server-certificates` shows it (`ServerCertificateId`).
 * Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
 */
export const IAM_SERVER_CERTIFICATE_ID = /^ASCA[A-Z0-9]{10,124}$/;

/**
 * CloudFront in the AWS China regions (partition `aws-cn`): required there while the cdn or the
 * image stack is on, refused elsewhere. CloudFront China serves only alternate domain names with an
 * ICP recordal, over an IAM server certificate uploaded beforehand (no ACM, no `*.cloudfront.cn`
 * for content). DNS stays with the Chinese registrar: the stacks output the CNAME records to create.
 * See docs/china.md.
 */
export const chinaSection = z.strictObject({
  iamCertificateId: z
    .string()
    .regex(
      IAM_SERVER_CERTIFICATE_ID,
      "must be an IAM server certificate id (ASCA..., `aws iam list-server-certificates`)",
    )
    .meta({
      description:
        "`ServerCertificateId` of the certificate uploaded to IAM with path `/cloudfront/` that covers every alias (`aws iam upload-server-certificate --path /cloudfront/ ...`)",
      typeLabel: "IAM server certificate id (`ASCA…`)",
    } satisfies FieldDocs),
  contentAliases: z
    .array(hostname)
    .default([])
    .meta({ description: "ICP-recorded names of the content distribution (stack `cdn`; at least one while it is on)" }),
  imageAliases: z.array(hostname).default([]).meta({
    description:
      "ICP-recorded names of the primary bucket's image distribution (stack `image`; at least one while it is on); each extra source bucket's distribution serves its `hostname`",
  }),
});

export type ChinaConfig = z.output<typeof chinaSection>;
