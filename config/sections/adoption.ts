import { z } from "zod";

/**
 * Object ownership s3-edge sets on a bucket. `BucketOwnerEnforced` turns ACLs off (the secure
 * default); S3 refuses it on a bucket whose bucket ACL grants anyone but the owner
 * (`InvalidBucketAclWithObjectOwnership`), so an adopted bucket that still relies on ACLs keeps
 * them with `BucketOwnerPreferred` until they are removed.
 */
export const OBJECT_OWNERSHIP = ["BucketOwnerEnforced", "BucketOwnerPreferred"] as const;
export type ObjectOwnership = (typeof OBJECT_OWNERSHIP)[number];

const adoptedBucket = z.strictObject({
  /**
   * `BucketOwnerPreferred` keeps the bucket's ACLs working (opt-out for buckets that still use
   * ACLs); s3-edge's own writes never use ACLs.
   */
  objectOwnership: z.enum(OBJECT_OWNERSHIP).default("BucketOwnerEnforced"),
});

/**
 * Existing buckets s3-edge brings under management (Terraform `import` blocks) instead of
 * creating them. Absent: the bucket is created. An adopted bucket is never destroyed
 * (`prevent_destroy`); see docs/adoption.md.
 */
export const adoptionSection = z.strictObject({
  /** Adopt the bucket named by `storage.primaryBucketName` (in `primaryRegion`). */
  primary: adoptedBucket.optional(),
  /** Adopt the bucket named by `storage.replicaBucketName` (in `replicaRegion`). */
  replica: adoptedBucket.optional(),
});

export type AdoptionConfig = z.output<typeof adoptionSection>;
export type AdoptedBucketConfig = z.output<typeof adoptedBucket>;
