import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The repository root (scripts/ sits directly below it). */
export const PROJECT_ROOT = resolve(__dirname, "..");

/** The hashicorp/aws version @cdktf/provider-aws generates for (and pins in every stack). */
export function awsProviderVersion(): string {
  const manifest = JSON.parse(
    readFileSync(require.resolve("@cdktf/provider-aws/package.json"), "utf8"),
  ) as { cdktf: { provider: { version: string } } };
  return manifest.cdktf.provider.version;
}
