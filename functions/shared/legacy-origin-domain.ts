import { compileTimeConstant } from "./compile-time";

declare const __LEGACY_ORIGIN_DOMAIN__: string | undefined;

/** The compile-time constant that both edge functions read the legacy origin's domain from. */
export const LEGACY_ORIGIN_DOMAIN_CONSTANT = "__LEGACY_ORIGIN_DOMAIN__";

/** The GCS origin's domain: requests and responses of that origin are the edge functions' business. */
export const compiledLegacyOriginDomain = () =>
  compileTimeConstant(
    LEGACY_ORIGIN_DOMAIN_CONSTANT,
    typeof __LEGACY_ORIGIN_DOMAIN__ === "undefined" ? undefined : __LEGACY_ORIGIN_DOMAIN__,
  );
