import { z } from "zod";
import { gcsBucketName } from "../primitives";

/** The legacy Google Cloud Storage origin (back-to-origin migration). */
export const legacyOriginSection = z.strictObject({
  /** The Google Cloud Storage bucket that is the origin of record. */
  bucket: gcsBucketName,
  access: z.enum(["public", "private"]).default("public"),
  /** Create the bucket (for a demo) instead of using an existing one. */
  create: z.boolean().default(false),
  /** Google Cloud project of the bucket; needed when s3-edge creates google resources. */
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id")
    .optional(),
});
