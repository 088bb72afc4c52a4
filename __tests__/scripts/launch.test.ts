/**
 * scripts/launch.cjs (how `npm run migrate` starts): runs a TypeScript command from a cached
 * esbuild bundle, rebuilt when one of its inputs changed and only then, with V8's code cache of it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../../config/paths";

const ROOT = PROJECT_ROOT;
const directory = mkdtempSync(join(tmpdir(), "s3-edge-launch-"));
const entry = join(directory, "command.ts");
const helper = join(directory, "helper.ts");
const cacheName = relative(ROOT, entry)
  .replace(/[^A-Za-z0-9.-]+/g, "_")
  .replace(/\.ts$/, "");
const cacheDirectory = join(ROOT, ".build/launch");
const manifest = join(cacheDirectory, `${cacheName}.inputs.json`);

function launch(...args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, "scripts/launch.cjs"), entry, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}
const builtAt = () => (JSON.parse(readFileSync(manifest, "utf8")) as { builtAt: number }).builtAt;

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
  for (const suffix of [".cjs", ".cjs.map", ".cjs.v8cache", ".inputs.json"]) {
    rmSync(join(cacheDirectory, `${cacheName}${suffix}`), { force: true });
  }
});

it("runs the command with its arguments, and rebuilds only when an input changed", () => {
  writeFileSync(helper, 'export const word: string = "first";\n');
  writeFileSync(
    entry,
    'import { word } from "./helper";\nconst exitCode: number = 3;\n' +
      "console.log(JSON.stringify({ word, args: process.argv.slice(2), self: process.argv[1] }));\n" +
      "process.exitCode = exitCode;\n",
  );
  const first = launch("--flag", "value");
  expect(first.code).toBe(3);
  expect(JSON.parse(first.stdout)).toEqual({ word: "first", args: ["--flag", "value"], self: entry });
  const firstBuild = builtAt();
  expect(existsSync(join(cacheDirectory, `${cacheName}.cjs.v8cache`))).toBe(true);

  expect(JSON.parse(launch().stdout).word).toBe("first");
  expect(builtAt()).toBe(firstBuild);

  // An imported file changes (its mtime after the build): the next launch sees the change (the old
  // bundle's code cache is not used for the new one).
  writeFileSync(helper, 'export const word: string = "second";\n');
  const later = new Date(firstBuild + 2000);
  utimesSync(helper, later, later);
  expect(JSON.parse(launch().stdout).word).toBe("second");
  expect(builtAt()).toBeGreaterThan(firstBuild);
});

it("says how to use it without an entry", () => {
  const result = spawnSync(process.execPath, [join(ROOT, "scripts/launch.cjs")], { encoding: "utf8" });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain("usage: node scripts/launch.cjs <entry.ts>");
});
