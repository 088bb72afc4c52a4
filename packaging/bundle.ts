import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { buildSync, version as esbuildVersion, type BuildFailure } from "esbuild";
import { zipSync, type Zippable } from "fflate";
import { BUILD_DIR, PROJECT_ROOT } from "../config/paths";

/**
 * Every zip entry gets this timestamp (the DOS epoch, built from local-time fields because zip
 * stores local time), so the same code always gives byte-identical archives and the same hash.
 */
const FIXED_ZIP_TIME = new Date(1980, 0, 1, 0, 0, 0);
/** Unix regular file, mode 0644: readable by the Lambda runtime user. */
const ZIP_FILE_ATTRIBUTES = 0o100644 << 16;
const ZIP_OS_UNIX = 3;
/** Packaged dependencies are mostly native binaries: level 9 costs time and saves nothing on them. */
const NODE_MODULES_ZIP_LEVEL = 6;
/** Part of the reuse key of a zip on disk: bump when the zip layout or its settings change. */
const ZIP_FORMAT_VERSION = 1;

/**
 * Packages a bundle leaves out of esbuild and ships in the zip's `node_modules` instead: native code
 * (sharp and its libvips binaries) that esbuild cannot bundle.
 */
export interface NodeModulesSpec {
  /** Module names esbuild leaves as `require` calls (`sharp`). */
  readonly external: readonly string[];
  /** A complete `node_modules` directory, copied into the zip under `node_modules/`. */
  readonly directory: string;
  /** Paths below `directory` left out of the zip (`sharp/src`: C++ sources). */
  readonly exclude?: readonly string[];
}

/** A folder of data files (fonts) copied into the zip under `zipFolder/`. */
export interface AssetFolder {
  readonly directory: string;
  readonly zipFolder: string;
  /** Paths below `directory` left out of the zip. @default none */
  readonly exclude?: readonly string[];
}

export interface BundleSpec {
  /** Entry module, absolute or relative to the project root (`functions/<name>/index.ts`). */
  readonly entry: string;
  /** Lambda runtime (`nodejs22.x`): sets the JavaScript target. */
  readonly runtime: string;
  /**
   * esbuild `define`: identifier → JavaScript expression substituted at compile time (a string
   * constant is its JSON text, `"\"us-east-2\""`). Part of the cache key and the zip's content.
   * @default none
   */
  readonly define?: Readonly<Record<string, string>>;
  /** @default none: everything but `@aws-sdk/*` is bundled */
  readonly nodeModules?: NodeModulesSpec;
  /** Immutable (versioned) folders shipped beside the code. @default none */
  readonly assets?: readonly AssetFolder[];
}

export interface Bundle {
  /** The deployment package: `index.js` and `index.js.map`. */
  readonly zipPath: string;
  /** Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`. */
  readonly sha256: string;
  /**
   * The hash cdktf's TerraformAsset computes for the zip (MD5, upper-case hex), recorded here so
   * that a synth does not read and hash megabytes of zip again for every function.
   */
  readonly assetHash: string;
  readonly zipBytes: number;
  readonly codeBytes: number;
}

export class BundleError extends Error {
  constructor(entry: string, detail: string) {
    super(`bundling ${entry} failed:\n${detail}`);
    this.name = "BundleError";
  }
}

/**
 * Bundles Lambda handlers with esbuild into deterministic zip archives: one minified CommonJS file
 * plus its source map, `@aws-sdk/*` left to the runtime. Each distinct bundle is built once per
 * process, however many stacks or functions use it.
 */
export class FunctionBundler {
  private readonly built = new Map<string, Bundle>();
  /** esbuild runs and cache hits since this bundler was created. */
  readonly stats = { builds: 0, cacheHits: 0 };

  /** @param outDir where zips are written; `BUILD_DIR/bundles` for the shared bundler */
  constructor(private readonly outDir: string) {}

  bundle(spec: BundleSpec): Bundle {
    const entry = isAbsolute(spec.entry) ? spec.entry : resolve(PROJECT_ROOT, spec.entry);
    // Sorted, so that the same constants in another order hit the same cache entry.
    const define = Object.fromEntries(Object.entries(spec.define ?? {}).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify({
      entry,
      runtime: spec.runtime,
      define,
      nodeModules: spec.nodeModules,
      assets: spec.assets,
    });
    const cached = this.built.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return cached;
    }
    const bundle = this.build(entry, spec.runtime, define, spec.nodeModules, spec.assets ?? []);
    this.stats.builds++;
    this.built.set(key, bundle);
    return bundle;
  }

  private build(
    entry: string,
    runtime: string,
    define: Record<string, string>,
    nodeModules: NodeModulesSpec | undefined,
    assets: readonly AssetFolder[],
  ): Bundle {
    const name = basename(dirname(entry));
    const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
    if (!major) throw new BundleError(entry, `unsupported runtime "${runtime}" (expected nodejsNN.x)`);
    // A bundle an earlier process built from inputs with the same content is reused without running
    // esbuild (each jest test file and each synth is a new process).
    const sourcesPath = join(
      this.outDir,
      `${name}-sources-${sha256Hex(JSON.stringify({ ...buildInputs(), entry: relative(PROJECT_ROOT, entry), runtime, define, nodeModules, assets })).slice(0, 16)}.json`,
    );
    const reused = readSources(sourcesPath);
    if (reused) return reused;
    let outputFiles;
    let metafile;
    try {
      ({ outputFiles, metafile } = buildSync({
        entryPoints: [entry],
        absWorkingDir: PROJECT_ROOT,
        // A fixed output location inside the project keeps source-map paths identical on every clone.
        outfile: join(BUILD_DIR, "bundles", name, "index.js"),
        bundle: true,
        write: false,
        platform: "node",
        format: "cjs",
        target: `node${major}`,
        minify: true,
        sourcemap: true,
        sourcesContent: false,
        mainFields: ["module", "main"],
        // The Lambda Node.js runtimes ship AWS SDK v3.
        external: ["@aws-sdk/*", ...(nodeModules?.external ?? [])],
        define,
        logLevel: "silent",
        metafile: true,
      }));
    } catch (error) {
      const failure = error as BuildFailure;
      const detail = failure.errors?.map((e) => `${e.location?.file ?? entry}:${e.location?.line ?? 0}: ${e.text}`);
      throw new BundleError(relative(PROJECT_ROOT, entry), detail?.join("\n") ?? String(error));
    }
    const sorted = [...outputFiles].sort((a, b) => a.path.localeCompare(b.path));
    // Zipping is the slow part (native packages weigh megabytes): a zip made earlier from the same
    // code and the same (immutable, versioned) node_modules directory is reused from disk.
    const inputs = createHash("sha256").update(JSON.stringify({ format: ZIP_FORMAT_VERSION, nodeModules, assets }));
    for (const file of sorted) inputs.update(basename(file.path)).update(file.contents);
    const indexPath = join(this.outDir, `${name}-${inputs.digest("hex").slice(0, 16)}.json`);
    const sources = Object.keys(metafile.inputs).sort();
    const recordSources = (bundle: Bundle) =>
      writeAtomically(
        sourcesPath,
        JSON.stringify({ bundle, sources: Object.fromEntries(sources.map((file) => [file, fileHash(file)])) }),
      );
    const previous = readIndex(indexPath);
    if (previous) {
      recordSources(previous);
      return previous;
    }

    const files: Record<string, [Uint8Array, { level: 9; mtime: Date; os: number; attrs: number }]> = {};
    let codeBytes = 0;
    for (const file of sorted) {
      files[basename(file.path)] = [
        file.contents,
        { level: 9, mtime: FIXED_ZIP_TIME, os: ZIP_OS_UNIX, attrs: ZIP_FILE_ATTRIBUTES },
      ];
      if (file.path.endsWith(".js")) codeBytes = file.contents.byteLength;
    }
    const zip = zipSync({
      ...files,
      ...(nodeModules ? folderEntries(nodeModules.directory, "node_modules", nodeModules.exclude) : {}),
      ...Object.assign({}, ...assets.map((asset) => folderEntries(asset.directory, asset.zipFolder, asset.exclude))),
    });
    const digest = createHash("sha256").update(zip);
    const sha256 = digest.copy().digest("base64");
    const zipPath = join(this.outDir, `${name}-${digest.digest("hex").slice(0, 16)}.zip`);
    mkdirSync(this.outDir, { recursive: true });
    if (!existsSync(zipPath)) writeAtomically(zipPath, zip);
    const assetHash = createHash("md5").update(zip).digest("hex").toUpperCase();
    const bundle = { zipPath, sha256, assetHash, zipBytes: zip.byteLength, codeBytes };
    writeAtomically(indexPath, JSON.stringify(bundle));
    recordSources(bundle);
    return bundle;
  }
}

/** Parallel synths (jest workers) may build the same bundle: readers never see a partial file. */
function writeAtomically(path: string, data: Uint8Array | string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A source file's hash (path relative to the project root, as esbuild's metafile names it). */
function fileHash(file: string): string | undefined {
  try {
    return sha256Hex(readFileSync(resolve(PROJECT_ROOT, file)));
  } catch {
    return undefined;
  }
}

let buildSettings: Record<string, string> | undefined;
/**
 * What a bundle depends on besides its sources: esbuild's version, the tsconfig it reads, the
 * installed packages (their manifests decide what resolves) and these build settings.
 */
function buildInputs(): Record<string, string> {
  buildSettings ??= {
    esbuild: esbuildVersion,
    ...Object.fromEntries(
      ["tsconfig.json", "package-lock.json", relative(PROJECT_ROOT, __filename)].map((file) => [
        file,
        fileHash(file) ?? "missing",
      ]),
    ),
  };
  return buildSettings;
}

/** A bundle an earlier build made from sources that are all unchanged, if its zip is still there. */
function readSources(sourcesPath: string): Bundle | undefined {
  if (!existsSync(sourcesPath)) return undefined;
  try {
    const { bundle, sources } = JSON.parse(readFileSync(sourcesPath, "utf8")) as {
      bundle: Bundle;
      sources: Record<string, string | undefined>;
    };
    for (const [file, hash] of Object.entries(sources)) if (!hash || fileHash(file) !== hash) return undefined;
    return isUsable(bundle) ? bundle : undefined;
  } catch {
    return undefined; // unreadable: build again
  }
}

/** A recorded bundle whose zip is still there, recorded with every field (older records lack some). */
function isUsable(bundle: Bundle): boolean {
  return typeof bundle.assetHash === "string" && existsSync(bundle.zipPath);
}

/** A bundle recorded by an earlier build, if its zip is still there. */
function readIndex(indexPath: string): Bundle | undefined {
  if (!existsSync(indexPath)) return undefined;
  try {
    const bundle = JSON.parse(readFileSync(indexPath, "utf8")) as Bundle;
    return isUsable(bundle) ? bundle : undefined;
  } catch {
    return undefined; // unreadable: build again
  }
}

/** Zip entries `<zipFolder>/<path>` for every file of the directory, in a fixed (sorted) order. */
function folderEntries(directory: string, zipFolder: string, exclude: readonly string[] = []): Zippable {
  const excluded = new Set(exclude);
  const entries: Zippable = {};
  const walk = (relativeDir: string) => {
    const names = readdirSync(join(directory, relativeDir), { withFileTypes: true });
    for (const dirent of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = relativeDir ? `${relativeDir}/${dirent.name}` : dirent.name;
      if (excluded.has(path)) continue;
      if (dirent.isDirectory()) walk(path);
      else if (dirent.isFile()) {
        entries[`${zipFolder}/${path}`] = [
          readFileSync(join(directory, path)),
          // Mode 0644 whatever the umask was at install: dlopen needs read access only.
          { level: NODE_MODULES_ZIP_LEVEL, mtime: FIXED_ZIP_TIME, os: ZIP_OS_UNIX, attrs: ZIP_FILE_ATTRIBUTES },
        ];
      }
    }
  };
  walk("");
  return entries;
}

/** The bundler every stack of a synth shares. */
export const sharedBundler = new FunctionBundler(join(BUILD_DIR, "bundles"));
