import { compileTimeConstant } from "./compile-time";

declare const __LEGACY_ORIGIN_DOMAIN__: string | undefined;

/** The GCS origin's domain: requests and responses of that origin are the edge functions' business. */
export const LEGACY_ORIGIN_DOMAIN = compileTimeConstant(
  "__LEGACY_ORIGIN_DOMAIN__",
  typeof __LEGACY_ORIGIN_DOMAIN__ === "undefined" ? undefined : __LEGACY_ORIGIN_DOMAIN__,
);
