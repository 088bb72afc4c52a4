/**
 * Child process of __tests__/packaging/font-package.test.ts: fontconfig reads FONTCONFIG_FILE once per process,
 * so each font setup gets its own. Renders text watermarks with every OSS `type` and prints, per
 * type and text, the pixels that differ from the white background and a hash of the image.
 */
import { createHash } from "node:crypto";
import sharp from "sharp";
import { ImageEngine } from "../../functions/image/engine";
import { OSS_FONT_TYPES } from "../../functions/image/fonts";
import { parseProcess } from "../../functions/image/parser";

export const TEXTS = { latin: "Hello s3-edge", chinese: "图片水印文字" } as const;

async function main(): Promise<void> {
  const engine = new ImageEngine();
  const white = await sharp({ create: { width: 480, height: 120, channels: 3, background: "#ffffff" } })
    .png()
    .toBuffer();
  const b64 = (text: string) => Buffer.from(text).toString("base64url");
  const results: Record<string, Record<string, { ink: number; hash: string }>> = {};
  for (const type of Object.keys(OSS_FONT_TYPES)) {
    results[type] = {};
    for (const [name, text] of Object.entries(TEXTS)) {
      const spec = parseProcess(
        `image/watermark,text_${b64(text)},type_${b64(type)},color_000000,size_40,g_center,t_100/format,png`,
      );
      if (spec.kind !== "actions") throw new Error("not an action list");
      const { body } = await engine.process({ source: white, actions: spec.actions });
      const { data } = await sharp(body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let ink = 0;
      for (let at = 0; at < data.length; at += 3) if (data[at] < 128 && data[at + 1] < 128 && data[at + 2] < 128) ink++;
      results[type][name] = { ink, hash: createHash("sha256").update(data).digest("hex") };
    }
  }
  process.stdout.write(JSON.stringify(results));
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
