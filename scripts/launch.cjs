/**
 * node scripts/launch.cjs <entry.ts> [args...]
 *
 * Runs a TypeScript command from one bundled file that esbuild builds into
 * .build/launch/ of this checkout on first use and again only when one of its inputs changed (or
 * dependencies were installed): node then loads one file instead of transpiling and resolving
 * thousands of modules, which was most of a short migration's time (docs/migration.md,
 * "Throughput"). Plain JavaScript so that node runs it as it is. Source maps are written but not
 * loaded (parsing the 3 MB map was a tenth of a short run's start-up): `NODE_OPTIONS=--enable-source-maps`
 * maps stack traces to the TypeScript files. V8's code cache of the bundle is kept beside it: later
 * starts neither parse nor compile the functions an earlier run compiled.
 */
"use strict";
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { dirname, join, relative, resolve } = require("node:path");
const vm = require("node:vm");

const root = resolve(__dirname, "..");
// In the checkout, not node_modules: git worktrees share one node_modules, and each would rebuild over the others' bundles.
const cacheDirectory = join(root, ".build", "launch");
/** Rewritten by every npm install (package tarballs keep their own old mtimes). */
const INSTALL_MARKERS = ["package-lock.json", join("node_modules", ".package-lock.json")];

function isFresh(bundle, manifest) {
  if (!existsSync(bundle) || !existsSync(manifest)) return false;
  const { builtAt, inputs } = JSON.parse(readFileSync(manifest, "utf8"));
  return inputs.every((input) => {
    try {
      return statSync(resolve(root, input)).mtimeMs < builtAt;
    } catch {
      return false;
    }
  });
}

/** Builds into temporary files renamed into place, so that concurrent launches never load half a bundle. */
function build(entry, bundle, manifest) {
  const builtAt = Date.now();
  const result = require("esbuild").buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    format: "cjs",
    outfile: bundle,
    sourcemap: true,
    metafile: true,
    write: false,
    logLevel: "warning",
  });
  mkdirSync(cacheDirectory, { recursive: true });
  rmSync(`${bundle}.v8cache`, { force: true });
  for (const file of result.outputFiles) {
    writeFileSync(`${file.path}.${process.pid}`, file.contents);
    renameSync(`${file.path}.${process.pid}`, file.path);
  }
  const inputs = [
    ...Object.keys(result.metafile.inputs),
    ...INSTALL_MARKERS.filter((marker) => existsSync(join(root, marker))),
  ];
  writeFileSync(`${manifest}.${process.pid}`, JSON.stringify({ builtAt, inputs }));
  renameSync(`${manifest}.${process.pid}`, manifest);
}

const [entryArgument] = process.argv.splice(2, 1);
if (!entryArgument) {
  process.stderr.write("usage: node scripts/launch.cjs <entry.ts> [args...]\n");
  process.exit(2);
}
const entry = resolve(entryArgument);
const name = relative(root, entry)
  .replace(/[^A-Za-z0-9.-]+/g, "_")
  .replace(/\.ts$/, "");
const bundle = join(cacheDirectory, `${name}.cjs`);
const manifest = join(cacheDirectory, `${name}.inputs.json`);
if (!isFresh(bundle, manifest)) build(entry, bundle, manifest);
/**
 * `require(bundle)` with V8's code cache: compiled from the cache when it matches the bundle (V8
 * checks), else from source; at exit the cache is written with every function the run compiled.
 */
function requireWithCodeCache(bundle) {
  const cacheFile = `${bundle}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(readFileSync(bundle, "utf8")), { filename: bundle, cachedData });
  const cachedBytes = cachedData === undefined || script.cachedDataRejected ? 0 : cachedData.length;
  process.once("exit", () => {
    try {
      // Rewritten when this run compiled more than the cache holds (a copy after a usage error, say).
      const data = script.createCachedData();
      if (data.length <= cachedBytes * 1.05) return;
      writeFileSync(`${cacheFile}.${process.pid}`, data);
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    } catch {
      // A cache is an optimisation: the next start compiles again.
    }
  });
  const bundleModule = new Module(bundle, module);
  bundleModule.filename = bundle;
  bundleModule.paths = Module._nodeModulePaths(dirname(bundle));
  const bundleRequire = Module.createRequire(bundle);
  script
    .runInThisContext()
    .call(bundleModule.exports, bundleModule.exports, bundleRequire, bundleModule, bundle, dirname(bundle));
}

// The command sees the argv tsx would give it: [node, <entry>, ...args].
process.argv[1] = entry;
requireWithCodeCache(bundle);
