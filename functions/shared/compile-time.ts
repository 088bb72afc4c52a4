/**
 * Lambda@Edge has no environment variables: values known at synth time are baked into the bundle
 * by esbuild `define` (`__NAME__` identifiers replaced by JSON strings). Each function names them
 * in its `environment.ts` (`COMPILE_TIME_CONSTANTS`, which the stack defines) and reads them there
 * as `typeof __NAME__ === "undefined" ? undefined : __NAME__`, passing the value here; tests set
 * `globalThis.__NAME__` before importing the handler.
 */
export function compileTimeConstant(name: string, value: string | undefined): string {
  if (typeof value !== "string" || value === "") {
    throw new Error(`${name} was not defined at build time (esbuild define)`);
  }
  return value;
}
