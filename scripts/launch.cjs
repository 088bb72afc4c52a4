/**
 * node scripts/launch.cjs <entry.ts> [args...]
 *
 * Runs a TypeScript command from one bundled file that esbuild builds into
 * .build/launch/ of this checkout on first use and again only when one of its inputs changed (or
 * dependencies were installed): node then loads one file instead of transpiling and resolving
 * thousands of modules, which was most of a short migration's time (docs/migration.md,
 * "Throughput"). Plain JavaScript so that node runs it as it is. Source maps are written but not
 * loaded (parsing the 3 MB map was a tenth of a short run's start-up): `NODE_OPTIONS=--enable-source-maps`
 * maps stack traces to the TypeScript files.
 */
"use strict";
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { join, relative, resolve } = require("node:path");

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
// The command sees the argv tsx would give it: [node, <entry>, ...args].
process.argv[1] = entry;
require(bundle);
