import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { FunctionBundler } from "../../packaging/bundle";
import { sharpNodeModules, sharpPackages, SharpPackageError, type CommandRunner } from "../../packaging/sharp-package";
import { PROJECT_ROOT } from "../../config/paths";
import { TESTS_DIR } from "../support/paths";

const SAMPLE_ENTRY = join(TESTS_DIR, "fixtures", "functions", "sample", "index.ts");
const LOCKFILE = join(PROJECT_ROOT, "package-lock.json");

/** Stands in for npm: writes the packages' manifests where `npm install --prefix` would. */
function fakeNpm(calls: string[][], skip: string[] = []): CommandRunner {
  return (command, args) => {
    calls.push([command, ...args]);
    const prefix = args[args.indexOf("--prefix") + 1];
    const cpu = args.find((arg) => arg.startsWith("--cpu="))!.slice("--cpu=".length);
    const packages = sharpPackages(cpu === "arm64" ? "arm64" : "x86_64", LOCKFILE);
    for (const [name, version] of Object.entries(packages)) {
      if (skip.includes(name)) continue;
      mkdirSync(join(prefix, "node_modules", name), { recursive: true });
      writeFileSync(join(prefix, "node_modules", name, "package.json"), JSON.stringify({ name, version }));
    }
    mkdirSync(join(prefix, "node_modules", ".bin"), { recursive: true });
    writeFileSync(join(prefix, "node_modules", ".bin", "semver"), "#!/bin/sh\n");
    mkdirSync(join(prefix, "node_modules", "sharp", "src"), { recursive: true });
    writeFileSync(join(prefix, "node_modules", "sharp", "src", "sharp.cc"), "// C++\n");
  };
}

describe("sharp packaging for Lambda", () => {
  let cacheDir: string;
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), "s3-edge-native-"));
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  it("pins sharp, its dependencies and the architecture's binaries to the lockfile's versions", () => {
    expect(sharpPackages("arm64", LOCKFILE)).toEqual({
      sharp: "0.34.5",
      "@img/colour": "1.1.0",
      "detect-libc": "2.1.2",
      semver: "7.8.6",
      "@img/sharp-linux-arm64": "0.34.5",
      "@img/sharp-libvips-linux-arm64": "1.2.4",
    });
    expect(Object.keys(sharpPackages("x86_64", LOCKFILE))).toContain("@img/sharp-libvips-linux-x64");
  });

  it("installs once with npm for linux/glibc and the target cpu, then reuses the cache without npm", () => {
    const calls: string[][] = [];
    const first = sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: fakeNpm(calls) });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual(
      expect.arrayContaining(["npm", "install", "--os=linux", "--cpu=arm64", "--libc=glibc", "sharp@0.34.5"]),
    );
    expect(calls[0]).toContain("semver@7.8.6");
    expect(first.external).toEqual(["sharp"]);
    const noNetwork: CommandRunner = () => {
      throw new Error("npm must not run when the packages are cached");
    };
    const second = sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: noNetwork });
    expect(second).toEqual(first);
    // Another architecture is another cache entry.
    sharpNodeModules({ architecture: "x86_64", cacheDir, runCommand: fakeNpm(calls) });
    expect(calls.map((call) => call.find((arg) => arg.startsWith("--cpu=")))).toEqual(["--cpu=arm64", "--cpu=x64"]);
  });

  it("refuses an installation that lacks a package, and caches nothing then", () => {
    const calls: string[][] = [];
    expect(() =>
      sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: fakeNpm(calls, ["@img/sharp-linux-arm64"]) }),
    ).toThrow(SharpPackageError);
    expect(() =>
      sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: fakeNpm(calls, ["@img/sharp-linux-arm64"]) }),
    ).toThrow(/npm did not install @img\/sharp-linux-arm64@0\.34\.5/);
    expect(calls).toHaveLength(2);
  });

  it("reports npm's error output when the install fails", () => {
    const failing: CommandRunner = () => {
      throw Object.assign(new Error("exit 1"), { stderr: "npm error code E404" });
    };
    expect(() => sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: failing })).toThrow(
      /npm install sharp@0\.34\.5 .*failed:\nnpm error code E404/,
    );
  });

  it("puts the packages in the zip under node_modules, deterministically, without npm's bookkeeping or C++ sources", () => {
    const nodeModules = sharpNodeModules({ architecture: "arm64", cacheDir, runCommand: fakeNpm([]) });
    const build = (dir: string) =>
      new FunctionBundler(dir).bundle({ entry: SAMPLE_ENTRY, runtime: "nodejs22.x", nodeModules });
    const first = build(join(cacheDir, "zips-1"));
    const second = build(join(cacheDir, "zips-2"));
    expect(readFileSync(second.zipPath).equals(readFileSync(first.zipPath))).toBe(true);
    const names = Object.keys(unzipSync(readFileSync(first.zipPath)));
    expect(names).toEqual([
      "index.js",
      "index.js.map",
      "node_modules/@img/colour/package.json",
      "node_modules/@img/sharp-libvips-linux-arm64/package.json",
      "node_modules/@img/sharp-linux-arm64/package.json",
      "node_modules/detect-libc/package.json",
      "node_modules/semver/package.json",
      "node_modules/sharp/package.json",
    ]);
  });
});
