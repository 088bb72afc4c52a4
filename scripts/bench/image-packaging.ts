import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FunctionBundler } from "../../packaging/bundle";
import { IMAGE_FUNCTION_ENTRY } from "../../constructs/image-lambda";
import { sharpNodeModules } from "../../packaging/sharp-package";
import { progress, round, type BenchSection } from "./support";

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/**
 * The image function's packaging: sharp's arm64 packages from the npm registry into an empty
 * cache (what a clean CI clone pays once), the same from the warm cache (every later synth), and
 * the esbuild + zip of the function with those packages.
 */
export const imagePackaging: BenchSection = () => {
  const scratch = mkdtempSync(join(tmpdir(), "s3-edge-bench-sharp-"));
  try {
    progress("image-packaging: npm install of sharp for linux/arm64 into an empty cache");
    let started = process.hrtime.bigint();
    const nodeModules = sharpNodeModules({ architecture: "arm64", cacheDir: join(scratch, "native") });
    const coldInstallSeconds = seconds(started);
    started = process.hrtime.bigint();
    sharpNodeModules({ architecture: "arm64", cacheDir: join(scratch, "native") });
    const warmLookupSeconds = seconds(started);
    progress("image-packaging: bundling and zipping the image function");
    started = process.hrtime.bigint();
    const bundle = new FunctionBundler(join(scratch, "zips")).bundle({
      entry: IMAGE_FUNCTION_ENTRY,
      runtime: "nodejs22.x",
      nodeModules,
    });
    const bundleSeconds = seconds(started);
    return {
      coldInstallSeconds: round(coldInstallSeconds),
      warmLookupSeconds: round(warmLookupSeconds, 4),
      bundleSeconds: round(bundleSeconds),
      zipBytes: bundle.zipBytes,
      // Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped.
      zipLimitBytes: 50 * 1024 * 1024,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
