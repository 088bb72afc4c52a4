import { z } from "zod";
import { enabled } from "../primitives";

/** On-the-fly image processing (stack `image`). */
export const imageSection = z.strictObject({ enabled, variant: z.enum(["lambda", "ecs", "both"]).default("lambda") });
