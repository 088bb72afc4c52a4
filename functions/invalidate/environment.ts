/**
 * The invalidation function's contract with its construct (constructs/automatic-invalidation.ts):
 * the environment variables the construct sets and the events its rule forwards.
 */
import * as z from "zod/mini";
import { variable } from "../shared/environment";

/** Environment the construct sets on the function. */
export const ENVIRONMENT = {
  distributionId: "DISTRIBUTION_ID",
  exactPathLimit: "EXACT_PATH_LIMIT",
  /** `true`: invalidate `/key*` (a distribution whose cache key includes the query string). */
  queryStringVariants: "QUERY_STRING_VARIANTS",
  /**
   * The bucket the migration writes into; set only while a legacy origin is configured. Object
   * Created events of this bucket are checked for the migration-write marker (one HEAD per key).
   */
  migrationBucket: "MIGRATION_BUCKET",
} as const;

/** How the handler reads each variable (functions/shared/environment.ts). */
export const ENVIRONMENT_FIELDS = {
  distributionId: variable.text(),
  exactPathLimit: variable.integer({ min: 1 }),
  queryStringVariants: z._default(variable.flag(), false),
  migrationBucket: z.optional(variable.text()),
};

/** The S3 EventBridge events (detail-type) that invalidate: the rule forwards exactly these. */
export const INVALIDATING_EVENT_TYPES = ["Object Created", "Object Deleted", "Object Restore Completed"] as const;
export type InvalidatingEventType = (typeof INVALIDATING_EVENT_TYPES)[number];
