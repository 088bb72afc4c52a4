import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILD_DIR, PROJECT_ROOT } from "../config/paths";
import type { NodeModulesSpec } from "./bundle";

/** Where installed native packages are kept between synths (one directory per version and platform). */
export const NATIVE_CACHE_DIR = join(BUILD_DIR, "native");
/** Written last into a complete installation: a directory without it is never used (nor shipped). */
export const COMPLETE_MARKER = ".s3edge-complete.json";
/** A lock older than this belongs to a process that died mid-install. */
const STALE_LOCK_MS = 5 * 60_000;
const LOCK_POLL_MS = 250;

/** Lambda architectures and the npm `cpu` of sharp's prebuilt binaries for them. */
const NPM_CPU = { arm64: "arm64", x86_64: "x64" } as const;
export type LambdaArchitecture = keyof typeof NPM_CPU;

/** Runs a command synchronously; throws when it fails. Injectable so that tests see every call. */
export type CommandRunner = (command: string, args: readonly string[], cwd: string) => void;

const runNpm: CommandRunner = (command, args, cwd) => {
  execFileSync(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
};

export interface SharpPackageOptions {
  /** The function's architecture: selects `@img/sharp-linux-<cpu>` and its libvips. */
  readonly architecture: LambdaArchitecture;
  /** @default NATIVE_CACHE_DIR */
  readonly cacheDir?: string;
  /** @default `npm` through execFileSync */
  readonly runCommand?: CommandRunner;
  /** The lockfile that pins sharp and its dependencies. @default the project's package-lock.json */
  readonly lockfile?: string;
}

export class SharpPackageError extends Error {
  constructor(message: string) {
    super(`packaging sharp for Lambda: ${message}`);
    this.name = "SharpPackageError";
  }
}

/** Exact package versions to install: sharp, its runtime dependencies and the platform's binaries. */
export function sharpPackages(architecture: LambdaArchitecture, lockfile: string): Record<string, string> {
  type LockedPackage = {
    version?: string;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(lockfile, "utf8")) as { packages: Record<string, LockedPackage | undefined> };
  const sharp = lock.packages["node_modules/sharp"];
  if (!sharp?.version) throw new SharpPackageError(`sharp is not in ${lockfile}`);
  const packages: Record<string, string> = { sharp: sharp.version };
  // The versions the project itself resolved (nested under sharp first, as Node resolves them).
  for (const dependency of Object.keys(sharp.dependencies ?? {})) {
    const version = (
      lock.packages[`node_modules/sharp/node_modules/${dependency}`] ?? lock.packages[`node_modules/${dependency}`]
    )?.version;
    if (!version) throw new SharpPackageError(`${dependency} (a dependency of sharp) is not in ${lockfile}`);
    packages[dependency] = version;
  }
  const cpu = NPM_CPU[architecture];
  for (const binary of [`@img/sharp-linux-${cpu}`, `@img/sharp-libvips-linux-${cpu}`]) {
    const version = sharp.optionalDependencies?.[binary];
    if (!version) throw new SharpPackageError(`sharp ${sharp.version} has no prebuilt package ${binary}`);
    packages[binary] = version;
  }
  return packages;
}

/**
 * sharp for a Lambda function: esbuild leaves `sharp` external and the zip gets a `node_modules`
 * with sharp, its dependencies and the linux (glibc) binaries of the function's architecture, at the
 * versions package-lock.json pins. The packages come from the npm registry once per version and
 * architecture into `.build/native/`; later synths (and parallel test workers) reuse that directory
 * without running npm.
 */
export function sharpNodeModules(options: SharpPackageOptions): NodeModulesSpec {
  const lockfile = options.lockfile ?? join(PROJECT_ROOT, "package-lock.json");
  const packages = sharpPackages(options.architecture, lockfile);
  const cpu = NPM_CPU[options.architecture];
  const digest = createHash("sha256").update(JSON.stringify(packages)).digest("hex").slice(0, 12);
  const directory = join(options.cacheDir ?? NATIVE_CACHE_DIR, `sharp-${packages.sharp}-linux-${cpu}-${digest}`);
  if (!existsSync(join(directory, COMPLETE_MARKER))) {
    install(directory, packages, cpu, options.runCommand ?? runNpm);
  }
  return {
    external: ["sharp"],
    directory: join(directory, "node_modules"),
    // npm's bookkeeping, the CLI shim and the C++ sources are not needed at run time.
    exclude: [".bin", ".package-lock.json", "sharp/src"],
  };
}

function install(directory: string, packages: Record<string, string>, cpu: string, run: CommandRunner): void {
  installOnce(directory, (staging) => {
    mkdirSync(staging, { recursive: true });
    // The platform packages come in as sharp's optional dependencies (pinned exactly by sharp): npm
    // refuses to install them by name on another platform, even with --cpu.
    const specs = Object.entries(packages)
      .filter(([name]) => !name.startsWith("@img/sharp-"))
      .map(([name, version]) => `${name}@${version}`);
    try {
      run(
        "npm",
        [
          "install",
          "--no-save",
          "--no-package-lock",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          "--omit=dev",
          "--prefix",
          staging,
          "--os=linux",
          `--cpu=${cpu}`,
          "--libc=glibc",
          ...specs,
        ],
        staging,
      );
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new SharpPackageError(`npm install ${specs.join(" ")} failed:\n${stderr}`);
    }
    for (const [name, version] of Object.entries(packages)) {
      const manifest = join(staging, "node_modules", name, "package.json");
      const installed = existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string });
      if (!installed || installed.version !== version) {
        throw new SharpPackageError(`npm did not install ${name}@${version} into ${staging}`);
      }
    }
    writeFileSync(join(staging, COMPLETE_MARKER), JSON.stringify(packages, null, 2));
    return staging;
  });
}

/**
 * Installs `directory` once across processes (sharp here, fonts in font-package.ts): one installer
 * holds `<directory>.lock` and the others wait for its `COMPLETE_MARKER` instead of downloading too.
 * `fill` builds the content in a fresh staging directory, writes the marker last and returns the
 * folder (the staging directory or one inside it) that becomes `directory`.
 */
export function installOnce(directory: string, fill: (staging: string) => string): void {
  const lock = `${directory}.lock`;
  mkdirSync(join(directory, ".."), { recursive: true });
  while (!tryLock(lock)) {
    if (existsSync(join(directory, COMPLETE_MARKER))) return;
    sleep(LOCK_POLL_MS);
  }
  const staging = `${directory}.staging-${process.pid}`;
  try {
    if (existsSync(join(directory, COMPLETE_MARKER))) return;
    rmSync(staging, { recursive: true, force: true });
    const complete = fill(staging);
    rmSync(directory, { recursive: true, force: true });
    renameSync(complete, directory);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The installer lock of a directory: false while another process holds it (a stale one is removed). */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const held = statSync(lock, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
      rmSync(lock, { recursive: true, force: true });
    }
    return false;
  }
}

/** Synth is synchronous (like esbuild's buildSync), so waiting for another installer blocks too. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
