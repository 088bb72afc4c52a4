import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FONTS_CONF, SHIPPED_FONTS, fontsConf, type ShippedFont } from "../functions/image/fonts";
import { COMPLETE_MARKER, installOnce, NATIVE_CACHE_DIR, type CommandRunner } from "./sharp-package";

/** Licence texts of the font packages, shipped beside the fonts. */
export const LICENSES_FOLDER = "licenses";

const runCommand: CommandRunner = (command, args, cwd) => {
  execFileSync(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
};

export interface FontPackageOptions {
  /** @default NATIVE_CACHE_DIR */
  readonly cacheDir?: string;
  /** @default apt-get and dpkg-deb through execFileSync */
  readonly runCommand?: CommandRunner;
  /** @default SHIPPED_FONTS */
  readonly fonts?: readonly ShippedFont[];
}

export class FontPackageError extends Error {
  constructor(message: string) {
    super(`packaging fonts: ${message}`);
    this.name = "FontPackageError";
  }
}

/**
 * The fonts of text watermarks, ready to ship: a folder with the font files, their packages'
 * licence texts and a `fonts.conf` naming only them. The files come from Debian packages at pinned
 * versions (`apt-get download`, which needs no root but an apt package list: `apt-get update` once
 * on a fresh machine), are checked against their SHA-256 and kept in `.build/native/`; later builds
 * reuse the folder without apt.
 */
export function imageFonts(options: FontPackageOptions = {}): string {
  const fonts = options.fonts ?? SHIPPED_FONTS;
  const digest = createHash("sha256")
    .update(JSON.stringify({ fonts, conf: fontsConf() }))
    .digest("hex")
    .slice(0, 12);
  const directory = join(options.cacheDir ?? NATIVE_CACHE_DIR, `fonts-${digest}`);
  if (!existsSync(join(directory, COMPLETE_MARKER))) install(directory, fonts, options.runCommand ?? runCommand);
  return directory;
}

function install(directory: string, fonts: readonly ShippedFont[], run: CommandRunner): void {
  installOnce(directory, (staging) => {
    const downloads = join(staging, "debs");
    const output = join(staging, "fonts");
    mkdirSync(downloads, { recursive: true });
    mkdirSync(join(output, LICENSES_FOLDER), { recursive: true });
    const packages = [...new Set(fonts.map((font) => `${font.debianPackage}=${font.debianVersion}`))];
    try {
      run("apt-get", ["download", ...packages], downloads);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new FontPackageError(
        `apt-get download ${packages.join(" ")} failed (on a fresh machine, run apt-get update once):\n${stderr}`,
      );
    }
    const extracted = join(staging, "extracted");
    for (const deb of readdirSync(downloads).filter((name) => name.endsWith(".deb"))) {
      run("dpkg-deb", ["-x", join(downloads, deb), extracted], staging);
    }
    for (const font of fonts) {
      const source = join(extracted, font.packagePath);
      if (!existsSync(source)) throw new FontPackageError(`${font.debianPackage} has no ${font.packagePath}`);
      const sha256 = createHash("sha256").update(readFileSync(source)).digest("hex");
      if (sha256 !== font.sha256)
        throw new FontPackageError(
          `${font.packagePath} of ${font.debianPackage} has SHA-256 ${sha256}, expected ${font.sha256}`,
        );
      copyFileSync(source, join(output, font.file));
      copyFileSync(
        join(extracted, font.copyrightPath),
        join(output, LICENSES_FOLDER, `${font.debianPackage}.copyright`),
      );
    }
    writeFileSync(join(output, FONTS_CONF), fontsConf());
    writeFileSync(join(output, COMPLETE_MARKER), JSON.stringify(fonts, null, 2));
    return output;
  });
}

/** `tsx packaging/font-package.ts <folder>`: the container build copies the fonts into its image. */
if (require.main === module) {
  const target = process.argv[2];
  if (!target) throw new Error("usage: tsx packaging/font-package.ts <folder>");
  const source = imageFonts();
  mkdirSync(join(target, LICENSES_FOLDER), { recursive: true });
  for (const name of [FONTS_CONF, ...SHIPPED_FONTS.map((font) => font.file)])
    copyFileSync(join(source, name), join(target, name));
  for (const name of readdirSync(join(source, LICENSES_FOLDER)))
    copyFileSync(join(source, LICENSES_FOLDER, name), join(target, LICENSES_FOLDER, name));
}
