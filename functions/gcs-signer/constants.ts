import { compileTimeConstant } from "../shared/compile-time";

declare const __GCS_HMAC_SECRET_ID__: string | undefined;
declare const __GCS_HMAC_SECRET_REGION__: string | undefined;
declare const __LEGACY_SIGNING_REGION__: string | undefined;

export const GCS_HMAC_SECRET_ID = compileTimeConstant(
  "__GCS_HMAC_SECRET_ID__",
  typeof __GCS_HMAC_SECRET_ID__ === "undefined" ? undefined : __GCS_HMAC_SECRET_ID__,
);
export const GCS_HMAC_SECRET_REGION = compileTimeConstant(
  "__GCS_HMAC_SECRET_REGION__",
  typeof __GCS_HMAC_SECRET_REGION__ === "undefined" ? undefined : __GCS_HMAC_SECRET_REGION__,
);
/** SigV4's signing region of the store: `auto` for GCS, the configured region for an S3-compatible store. */
export const LEGACY_SIGNING_REGION = compileTimeConstant(
  "__LEGACY_SIGNING_REGION__",
  typeof __LEGACY_SIGNING_REGION__ === "undefined" ? undefined : __LEGACY_SIGNING_REGION__,
);
