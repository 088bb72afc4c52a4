import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imageFonts } from "../../packaging/font-package";
import { FONTCONFIG_CACHE_DIR, FONTS_CONF, OSS_FONT_TYPES, SHIPPED_FONTS } from "../../functions/image/fonts";
import { TEXTS } from "../support/render-text";
import { TESTS_DIR } from "../support/paths";

type Rendered = Record<string, Record<keyof typeof TEXTS, { ink: number; hash: string }>>;

/** Renders every OSS type in a child process whose fontconfig reads `fontsConf` only. */
function render(fontsConf: string): Rendered {
  const output = execFileSync(process.execPath, ["--import", "tsx", join(TESTS_DIR, "support", "render-text.ts")], {
    env: { ...process.env, FONTCONFIG_FILE: fontsConf },
    encoding: "utf8",
    timeout: 120_000,
  });
  return JSON.parse(output) as Rendered;
}

describe("text watermark fonts, with every system font hidden", () => {
  const scratch = mkdtempSync(join(tmpdir(), "s3edge-fonts-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // The shipped fonts.conf names the shipped folder only: no system folder, no include.
  const shipped = render(join(imageFonts(), FONTS_CONF));
  // The control: a fontconfig file with no font at all.
  const noFontsConf = join(scratch, "no-fonts.conf");
  writeFileSync(
    noFontsConf,
    `<?xml version="1.0"?>\n<fontconfig><cachedir>${FONTCONFIG_CACHE_DIR}</cachedir></fontconfig>\n`,
  );
  const none = render(noFontsConf);

  it.each(Object.keys(OSS_FONT_TYPES))("type %s draws Latin and Chinese glyphs", (type) => {
    expect(shipped[type].latin.ink).toBeGreaterThan(1000);
    expect(shipped[type].chinese.ink).toBeGreaterThan(1000);
  });

  it("draws only missing-glyph boxes without the shipped fonts (so the glyphs above are theirs)", () => {
    for (const type of Object.keys(OSS_FONT_TYPES)) {
      for (const text of ["latin", "chinese"] as const) {
        expect(none[type][text].hash).not.toBe(shipped[type][text].hash);
        expect(none[type][text].ink).toBeLessThan(shipped[type][text].ink / 3);
      }
    }
  });

  it("renders each type with the family it maps to", () => {
    const byFamily = new Map<string, string>();
    for (const [type, family] of Object.entries(OSS_FONT_TYPES)) {
      const hash = shipped[type].chinese.hash;
      // Types of one family render the same pixels; different families different ones.
      expect(byFamily.get(family) ?? hash).toBe(hash);
      byFamily.set(family, hash);
    }
    expect(new Set(byFamily.values()).size).toBe(new Set(SHIPPED_FONTS.map((font) => font.family)).size);
  });
});
