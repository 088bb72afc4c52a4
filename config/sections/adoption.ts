import { z } from "zod";
import type { FieldDocs } from "../primitives";

/**
 * Object ownership s3-edge sets on a bucket. `BucketOwnerEnforced` turns ACLs off (the secure
 * default); S3 refuses it on a bucket whose bucket ACL grants anyone but the owner
 * (`InvalidBucketAclWithObjectOwnership`), so an adopted bucket that still relies on ACLs keeps
 * them with `BucketOwnerPreferred` until they are removed.
 */
export const OBJECT_OWNERSHIP = ["BucketOwnerEnforced", "BucketOwnerPreferred"] as const;
export type ObjectOwnership = (typeof OBJECT_OWNERSHIP)[number];

const adoptedBucket = z.strictObject({
  objectOwnership: z.enum(OBJECT_OWNERSHIP).default("BucketOwnerEnforced").meta({
    description:
      "`BucketOwnerPreferred` keeps the bucket's ACLs working (for a bucket that still uses ACLs); s3-edge's own writes never use ACLs",
  }),
});

export const adoptionSection = z
  .strictObject({
    primary: adoptedBucket.optional().meta({
      description: "adopt the existing bucket named by `storage.primaryBucketName` (in `primaryRegion`)",
      defaultLabel: "absent: created",
    } satisfies FieldDocs),
    replica: adoptedBucket.optional().meta({
      description: "adopt the existing bucket named by `storage.replicaBucketName` (in `replicaRegion`)",
      defaultLabel: "absent: created",
    } satisfies FieldDocs),
  })
  .meta({
    description:
      "existing buckets s3-edge brings under management (Terraform `import` blocks) instead of creating them; an adopted bucket is never destroyed (`prevent_destroy`); docs/adoption.md",
  });

export type AdoptionConfig = z.output<typeof adoptionSection>;
export type AdoptedBucketConfig = z.output<typeof adoptedBucket>;
