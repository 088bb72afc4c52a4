/**
 * The fonts both runtimes ship for text watermarks, and how OSS's `type` names map to them. Shared by
 * the build (packaging/font-package.ts installs the files, the Lambda zip and the Dockerfile carry
 * them) and the engine (which names the family to render with).
 */

/** Set in both runtimes: fontconfig reads this file only, so only the shipped fonts exist. */
export const FONTCONFIG_FILE_VARIABLE = "FONTCONFIG_FILE";
/** The fonts' folder inside the Lambda zip (`/var/task/fonts`) and the container (`/app/fonts`). */
export const FONTS_FOLDER = "fonts";
export const FONTS_CONF = "fonts.conf";
/** fontconfig's cache: /tmp is the only writable place in Lambda and in the read-only container. */
export const FONTCONFIG_CACHE_DIR = "/tmp/s3edge-fontconfig";

/** A font file taken from a Debian package (architecture `all`: the same bytes for arm64 and x86_64). */
export interface ShippedFont {
  readonly family: string;
  readonly file: string;
  readonly debianPackage: string;
  readonly debianVersion: string;
  /** The file's path inside the package. */
  readonly packagePath: string;
  /** The package's licence text, shipped beside the font. */
  readonly copyrightPath: string;
  readonly sha256: string;
}

/**
 * Redistributable fonts that cover Latin and CJK (Debian bookworm): WenQuanYi Zen Hei (GPL-2 with
 * the font embedding exception), WenQuanYi Micro Hei (Apache-2.0 or GPL-3 with the exception) and
 * Droid Sans Fallback (Apache-2.0).
 */
export const SHIPPED_FONTS: readonly ShippedFont[] = [
  {
    family: "WenQuanYi Zen Hei",
    file: "wqy-zenhei.ttc",
    debianPackage: "fonts-wqy-zenhei",
    debianVersion: "0.9.45-8",
    packagePath: "usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    copyrightPath: "usr/share/doc/fonts-wqy-zenhei/copyright",
    sha256: "79c18ebe7b811951e8311bad7103ebeae8c337ed9988ea69e8a78a66cfe029b9",
  },
  {
    family: "WenQuanYi Micro Hei",
    file: "wqy-microhei.ttc",
    debianPackage: "fonts-wqy-microhei",
    debianVersion: "0.2.0-beta-3.1",
    packagePath: "usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    copyrightPath: "usr/share/doc/fonts-wqy-microhei/copyright",
    sha256: "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3",
  },
  {
    family: "Droid Sans Fallback",
    file: "DroidSansFallbackFull.ttf",
    debianPackage: "fonts-droid-fallback",
    debianVersion: "1:6.0.1r16-1.1",
    packagePath: "usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    copyrightPath: "usr/share/doc/fonts-droid-fallback/copyright",
    sha256: "acb6440a713d880a13a21b468ba7cd43f5a2b2934972e51be791c880730777b8",
  },
];

/** OSS's default `type`. */
export const DEFAULT_FONT_TYPE = "wqy-zenhei";

/**
 * Each OSS `type` → the shipped family that renders it. The FangZheng fonts are proprietary: their
 * names fall back to WenQuanYi Zen Hei (a Hei face, like FangZheng HeiTi); no redistributable
 * Song, Kai or FangSong face small enough for the Lambda package is in Debian.
 */
export const OSS_FONT_TYPES: Readonly<Record<string, string>> = {
  "wqy-zenhei": "WenQuanYi Zen Hei",
  "wqy-microhei": "WenQuanYi Micro Hei",
  fangzhengshusong: "WenQuanYi Zen Hei",
  fangzhengkaiti: "WenQuanYi Zen Hei",
  fangzhengheiti: "WenQuanYi Zen Hei",
  fangzhengfangsong: "WenQuanYi Zen Hei",
  droidsansfallback: "Droid Sans Fallback",
};

/** The family a text watermark renders with: its `type`, or OSS's default. */
export function fontFamily(type: string | undefined): string {
  return OSS_FONT_TYPES[type ?? DEFAULT_FONT_TYPE] ?? OSS_FONT_TYPES[DEFAULT_FONT_TYPE];
}

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);

/**
 * A fontconfig file that knows the shipped fonts only: their folder is the file's own folder
 * (`prefix="relative"`), the generic families resolve to OSS's default, and no system folder or
 * configuration is included.
 */
export function fontsConf(): string {
  const fallback = escapeXml(fontFamily(undefined));
  const generic = ["sans-serif", "serif", "monospace"]
    .map((name) => `  <alias><family>${name}</family><prefer><family>${fallback}</family></prefer></alias>`)
    .join("\n");
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
    "<fontconfig>",
    '  <dir prefix="relative">.</dir>',
    `  <cachedir>${FONTCONFIG_CACHE_DIR}</cachedir>`,
    generic,
    "</fontconfig>",
    "",
  ].join("\n");
}
