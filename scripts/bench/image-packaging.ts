import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { FunctionBundler } from "../../packaging/bundle";
import { imageFonts } from "../../packaging/font-package";
import { IMAGE_FUNCTION_ENTRY, imageFunctionPackage } from "../../constructs/image-lambda";
import { sharpNodeModules, type CommandRunner } from "../../packaging/sharp-package";
import { FONTS_FOLDER } from "../../functions/image/fonts";
import { progress, repeat, round, sampleFigures, secondsSince, type BenchSection } from "./support";
import { DEFAULT_LAMBDA_RUNTIME } from "../../constructs/defaults";

const ARCHITECTURE = "arm64";
/** Lambda's limits for a zip uploaded directly: 50 MB zipped, 250 MB unzipped. */
const ZIP_LIMIT_BYTES = 50 * 1024 * 1024;
const UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
/** What each run starts from: said in the section's JSON, so that "cold" has one meaning. */
const COLD =
  "each run starts from an empty npm cache (npm_config_cache in a new temporary directory), an empty " +
  "native-package directory (sharp from the npm registry and the fonts from Debian downloaded again) and an " +
  "empty bundle index and zip directory; the repository's .build and ~/.npm are not read";

/**
 * npm for sharp with its cache in `cacheDir` instead of ~/.npm (packaging's own runner inherits this
 * process's environment; the bench injects this one, leaving the engine's sources untouched).
 */
const npmWithCache =
  (cacheDir: string): CommandRunner =>
  (command, args, cwd) => {
    execFileSync(command, args, {
      cwd,
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
      env: { ...process.env, npm_config_cache: cacheDir },
    });
  };

interface PackagingRun {
  readonly figures: {
    readonly coldSharpInstallSeconds: number;
    readonly npmCacheWarmSharpInstallSeconds: number;
    readonly coldFontsSeconds: number;
    readonly warmLookupSeconds: number;
    readonly coldBundleSeconds: number;
    readonly warmBundleSeconds: number;
  };
  readonly zipBytes: number;
  readonly unzippedBytes: number;
  readonly fontBytes: number;
}

/** One cold run in its own scratch directory: every cache it uses starts empty and is removed after. */
function packageOnce(run: number, runs: number): PackagingRun {
  const scratch = mkdtempSync(join(tmpdir(), "s3-edge-bench-packaging-"));
  const time = (work: () => unknown) => {
    const started = process.hrtime.bigint();
    work();
    return secondsSince(started);
  };
  try {
    const npm = npmWithCache(join(scratch, "npm-cache"));
    const native = join(scratch, "native");
    progress(`image-packaging run ${run}/${runs}: npm install of sharp for linux/${ARCHITECTURE}, empty npm cache`);
    const coldSharpInstallSeconds = time(() =>
      sharpNodeModules({ architecture: ARCHITECTURE, cacheDir: native, runCommand: npm }),
    );
    // A clean clone on a machine whose npm cache already holds the packages.
    const npmCacheWarmSharpInstallSeconds = time(() =>
      sharpNodeModules({ architecture: ARCHITECTURE, cacheDir: join(scratch, "native-again"), runCommand: npm }),
    );
    progress(`image-packaging run ${run}/${runs}: fonts from their Debian packages`);
    const coldFontsSeconds = time(() => imageFonts({ cacheDir: native }));
    // Every later synth: both installations are found complete, nothing runs.
    let spec!: ReturnType<typeof imageFunctionPackage>;
    const warmLookupSeconds = time(
      () => (spec = imageFunctionPackage({ architecture: ARCHITECTURE, cacheDir: native, runCommand: npm })),
    );
    progress(`image-packaging run ${run}/${runs}: bundling and zipping the image function`);
    const zips = join(scratch, "zips");
    const bundleSpec = { entry: IMAGE_FUNCTION_ENTRY, runtime: DEFAULT_LAMBDA_RUNTIME, ...spec };
    let bundle!: ReturnType<FunctionBundler["bundle"]>;
    const coldBundleSeconds = time(() => (bundle = new FunctionBundler(zips).bundle(bundleSpec)));
    // A later synth process: esbuild runs again, the zip is found through the index.
    const warmBundleSeconds = time(() => new FunctionBundler(zips).bundle(bundleSpec));
    const entries = Object.entries(unzipSync(readFileSync(bundle.zipPath)));
    const bytes = (list: typeof entries) => list.reduce((sum, [, data]) => sum + data.byteLength, 0);
    const figures = {
      coldSharpInstallSeconds,
      npmCacheWarmSharpInstallSeconds,
      coldFontsSeconds,
      warmLookupSeconds,
      coldBundleSeconds,
      warmBundleSeconds,
    };
    progress(`image-packaging run ${run}/${runs}: ${JSON.stringify(figures)}`);
    return {
      figures,
      zipBytes: bundle.zipBytes,
      unzippedBytes: bytes(entries),
      fontBytes: bytes(entries.filter(([name]) => name.startsWith(`${FONTS_FOLDER}/`))),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The image function's packaging, `runs` times from cold: sharp's linux-arm64 packages from the npm
 * registry (with an empty npm cache, then with the cache that install filled), the fonts, the
 * lookup every later synth pays, and the esbuild + zip of the function as the stack ships it (sharp
 * and fonts included), cold and with the zip found through the bundle index.
 */
export const imagePackaging: BenchSection = async ({ runs }) => {
  const results = await repeat(runs, (run) => packageOnce(run, runs));
  const [first] = results;
  // The package is deterministic: the same code and pinned packages give the same zip on every run.
  if (results.some((result) => result.zipBytes !== first.zipBytes))
    throw new Error(`the zip differs between runs: ${results.map((result) => result.zipBytes).join(", ")} bytes`);
  return {
    cold: COLD,
    architecture: ARCHITECTURE,
    ...sampleFigures(
      results.map((result) => result.figures),
      4,
    ),
    zipBytes: first.zipBytes,
    unzippedBytes: first.unzippedBytes,
    fontBytes: first.fontBytes,
    zipLimitBytes: ZIP_LIMIT_BYTES,
    unzippedLimitBytes: UNZIPPED_LIMIT_BYTES,
    meetsLimits: first.zipBytes < ZIP_LIMIT_BYTES && first.unzippedBytes < UNZIPPED_LIMIT_BYTES,
    zipMegabytes: round(first.zipBytes / 1e6, 1),
    unzippedMegabytes: round(first.unzippedBytes / 1e6, 1),
  };
};
