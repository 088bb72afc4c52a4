import { z } from "zod";
import { PRICE_CLASSES } from "../aws-facts";
import { enabled, region } from "../primitives";

/** The content distribution (stack `cdn`). */
export const cdnSection = z.strictObject({
  enabled,
  /** @default primaryRegion */
  originShieldRegion: region.optional(),
  /** `auto`: fail over to GCS while a legacy origin is configured, else to the replica. */
  failover: z.enum(["auto", "replica"]).default("auto"),
  priceClass: z.enum(PRICE_CLASSES).default("PriceClass_100"),
});
