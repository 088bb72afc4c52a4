import { readFileSync } from "node:fs";

/** The hashicorp/aws version @cdktf/provider-aws generates for (and pins in every stack). */
export function awsProviderVersion(): string {
  const manifest = JSON.parse(readFileSync(require.resolve("@cdktf/provider-aws/package.json"), "utf8")) as {
    cdktf: { provider: { version: string } };
  };
  return manifest.cdktf.provider.version;
}
