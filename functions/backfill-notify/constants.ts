import { compileTimeConstant } from "../shared/compile-time";

declare const __BACKFILL_QUEUE_NAME__: string | undefined;
declare const __BACKFILL_QUEUE_REGION__: string | undefined;

export const BACKFILL_QUEUE_NAME = compileTimeConstant(
  "__BACKFILL_QUEUE_NAME__",
  typeof __BACKFILL_QUEUE_NAME__ === "undefined" ? undefined : __BACKFILL_QUEUE_NAME__,
);
export const BACKFILL_QUEUE_REGION = compileTimeConstant(
  "__BACKFILL_QUEUE_REGION__",
  typeof __BACKFILL_QUEUE_REGION__ === "undefined" ? undefined : __BACKFILL_QUEUE_REGION__,
);
