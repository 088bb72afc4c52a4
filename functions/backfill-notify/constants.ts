import { compileTimeConstant } from "../shared/compile-time";

declare const __BACKFILL_QUEUE_NAME__: string | undefined;
declare const __BACKFILL_QUEUE_REGION__: string | undefined;
declare const __LEGACY_ORIGIN_DOMAIN__: string | undefined;

export const BACKFILL_QUEUE_NAME = compileTimeConstant(
  "__BACKFILL_QUEUE_NAME__",
  typeof __BACKFILL_QUEUE_NAME__ === "undefined" ? undefined : __BACKFILL_QUEUE_NAME__,
);
export const BACKFILL_QUEUE_REGION = compileTimeConstant(
  "__BACKFILL_QUEUE_REGION__",
  typeof __BACKFILL_QUEUE_REGION__ === "undefined" ? undefined : __BACKFILL_QUEUE_REGION__,
);
export const LEGACY_ORIGIN_DOMAIN = compileTimeConstant(
  "__LEGACY_ORIGIN_DOMAIN__",
  typeof __LEGACY_ORIGIN_DOMAIN__ === "undefined" ? undefined : __LEGACY_ORIGIN_DOMAIN__,
);
