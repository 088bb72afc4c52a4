import { z } from "zod";

/**
 * A request to copy one object (from backfill-notify, `npm run migrate -- --enqueue`, the
 * sweeper). Only `key` is needed: the worker HEADs the source anyway.
 */
export const copyJobSchema = z.object({
  type: z.literal("copy"),
  key: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  etag: z.string().optional(),
  contentType: z.string().optional(),
  lastModified: z.string().optional(),
});

/** One part of a fanned-out copy (internal to the worker). */
export const partJobSchema = z.object({
  type: z.literal("part"),
  key: z.string().min(1),
  uploadId: z.string().min(1),
  partNumber: z.number().int().min(1).max(10_000),
  partSize: z.number().int().positive(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
});

export const backfillMessageSchema = z.discriminatedUnion("type", [copyJobSchema, partJobSchema]);

export type CopyJobMessage = z.infer<typeof copyJobSchema>;
export type PartJobMessage = z.infer<typeof partJobSchema>;
export type BackfillMessage = z.infer<typeof backfillMessageSchema>;

/** The part messages of a fanned-out copy (all of them, or only those not counted yet). */
export function partMessages(
  object: { readonly key: string; readonly size: number; readonly etag: string },
  uploadId: string,
  partSize: number,
  partCount: number,
  done: ReadonlySet<number> = new Set(),
): PartJobMessage[] {
  return Array.from({ length: partCount }, (_, index) => index + 1)
    .filter((partNumber) => !done.has(partNumber))
    .map((partNumber) => ({
      type: "part",
      key: object.key,
      uploadId,
      partNumber,
      partSize,
      size: object.size,
      etag: object.etag,
    }));
}
