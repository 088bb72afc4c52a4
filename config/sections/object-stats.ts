import { z } from "zod";
import { enabled } from "../primitives";

/** Object counters, `GET /count` and notifications (stack `object-stats`). */
export const objectStatsSection = z.strictObject({ enabled });
