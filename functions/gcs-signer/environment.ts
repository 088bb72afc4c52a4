/**
 * The gcs-signer function's contract with the edge stack (stacks/edge.ts). Lambda@Edge has no
 * environment variables: the stack compiles these constants into the bundle (esbuild `define`,
 * functions/shared/compile-time.ts).
 */
import { compileTimeConstant } from "../shared/compile-time";
import { compiledLegacyOriginDomain, LEGACY_ORIGIN_DOMAIN_CONSTANT } from "../shared/legacy-origin-domain";

declare const __GCS_HMAC_SECRET_ID__: string | undefined;
declare const __GCS_HMAC_SECRET_REGION__: string | undefined;
declare const __LEGACY_SIGNING_REGION__: string | undefined;

/** The constants the stack defines. */
export const COMPILE_TIME_CONSTANTS = {
  /** The secret with the store's HMAC key, and the region the function reads it in. */
  hmacSecretId: "__GCS_HMAC_SECRET_ID__",
  hmacSecretRegion: "__GCS_HMAC_SECRET_REGION__",
  legacyOriginDomain: LEGACY_ORIGIN_DOMAIN_CONSTANT,
  /** SigV4's signing region of the store: `auto` for GCS, the configured region for an S3-compatible store. */
  signingRegion: "__LEGACY_SIGNING_REGION__",
} as const;

/** The values compiled into the bundle; throws naming a constant the build did not define. */
export function compiledSettings() {
  return {
    hmacSecretId: compileTimeConstant(
      COMPILE_TIME_CONSTANTS.hmacSecretId,
      typeof __GCS_HMAC_SECRET_ID__ === "undefined" ? undefined : __GCS_HMAC_SECRET_ID__,
    ),
    hmacSecretRegion: compileTimeConstant(
      COMPILE_TIME_CONSTANTS.hmacSecretRegion,
      typeof __GCS_HMAC_SECRET_REGION__ === "undefined" ? undefined : __GCS_HMAC_SECRET_REGION__,
    ),
    legacyOriginDomain: compiledLegacyOriginDomain(),
    signingRegion: compileTimeConstant(
      COMPILE_TIME_CONSTANTS.signingRegion,
      typeof __LEGACY_SIGNING_REGION__ === "undefined" ? undefined : __LEGACY_SIGNING_REGION__,
    ),
  };
}
