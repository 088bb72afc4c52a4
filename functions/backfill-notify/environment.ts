/**
 * The backfill-notify function's contract with the edge stack (stacks/edge.ts). Lambda@Edge has no
 * environment variables: the stack compiles these constants into the bundle (esbuild `define`,
 * functions/shared/compile-time.ts).
 */
import { compileTimeConstant } from "../shared/compile-time";
import { compiledLegacyOriginDomain, LEGACY_ORIGIN_DOMAIN_CONSTANT } from "../shared/legacy-origin-domain";

declare const __BACKFILL_QUEUE_NAME__: string | undefined;
declare const __BACKFILL_QUEUE_REGION__: string | undefined;

/** The constants the stack defines. */
export const COMPILE_TIME_CONSTANTS = {
  /** The backfill queue, in the account of the function. */
  queueName: "__BACKFILL_QUEUE_NAME__",
  queueRegion: "__BACKFILL_QUEUE_REGION__",
  legacyOriginDomain: LEGACY_ORIGIN_DOMAIN_CONSTANT,
} as const;

/** The values compiled into the bundle; throws naming a constant the build did not define. */
export function compiledSettings() {
  return {
    queueName: compileTimeConstant(
      COMPILE_TIME_CONSTANTS.queueName,
      typeof __BACKFILL_QUEUE_NAME__ === "undefined" ? undefined : __BACKFILL_QUEUE_NAME__,
    ),
    queueRegion: compileTimeConstant(
      COMPILE_TIME_CONSTANTS.queueRegion,
      typeof __BACKFILL_QUEUE_REGION__ === "undefined" ? undefined : __BACKFILL_QUEUE_REGION__,
    ),
    legacyOriginDomain: compiledLegacyOriginDomain(),
  };
}
