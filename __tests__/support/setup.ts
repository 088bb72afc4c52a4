// Every test file's setup. cdktf's matchers are added only by the files that use them
// (./cdktf-matchers.ts): loading them costs every other file about 40 ms of CPU.
import { AssertionError } from "node:assert";
import { types } from "node:util";

// cdktf captures a full stack trace (into a plain object, not an Error) for every token it
// creates, thousands per synthesized app, and never writes them out. Node formats this realm's
// stacks with jest's source-mapping formatter (installed in the main realm's Error) unless this
// realm has its own: mapping each of those frames cost more than the synth itself. Errors keep
// jest's source-mapped stacks.
const mainRealmError = Object.getPrototypeOf(AssertionError) as ErrorConstructor;
Error.prepareStackTrace = (error, frames) => {
  const sourceMapped = mainRealmError.prepareStackTrace;
  if (types.isNativeError(error) && sourceMapped) return sourceMapped(error, frames);
  return [String(error), ...frames.map((frame) => `    at ${frame}`)].join("\n");
};

// cdktf runs `terraform version` in every synth with moved blocks (the image stack): without this,
// terraform also asks checkpoint.hashicorp.com for a newer version each time.
process.env.CHECKPOINT_DISABLE = "1";

// The AWS SDK warns once per process on Node 20 that its releases after January 2027 need Node 22
// (package-lock.json pins one that runs on 20): in every test file, that warning is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
