import { z } from "zod";
import { hostname } from "../primitives";

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
  /**
   * `ServerCertificateId` of the certificate uploaded to IAM with path `/cloudfront/` that covers
   * every alias below (`aws iam upload-server-certificate --path /cloudfront/ ...`).
   */
  iamCertificateId: z
    .string()
    .regex(
      IAM_SERVER_CERTIFICATE_ID,
      "must be an IAM server certificate id (ASCA..., `aws iam list-server-certificates`)",
    ),
  /** ICP-recorded names of the content distribution (stack `cdn`). */
  contentAliases: z.array(hostname).default([]),
  /**
   * ICP-recorded names of the primary bucket's image distribution (stack `image`); each extra source
   * bucket's distribution serves its `hostname`.
   */
  imageAliases: z.array(hostname).default([]),
});

export type ChinaConfig = z.output<typeof chinaSection>;
