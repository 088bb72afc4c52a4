/**
 * npm run validate [-- --config FILE ...]
 *
 * Synthesizes the app (for each named config file, or for the config `cdktf synth` would load)
 * and runs a real `terraform validate` on every stack against the local provider mirror, plus an
 * offline `terraform plan` on stacks that read nothing from AWS. Exits 1 when a check fails or
 * terraform or the mirror is missing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD_DIR, ConfigError, loadConfig } from "../config";
import { synthesizeApp } from "../stacks";
import { awsProviderVersion } from "./provider-version";
import { checkSynthesizedStacks, findToolchain, type StackCheck } from "./terraform-check";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: "string", multiple: true } } });
  const configFiles = values.config ?? [process.env.S3EDGE_CONFIG];
  const toolchain = findToolchain(process.env, awsProviderVersion());
  if (typeof toolchain === "string") {
    console.error(`validate: cannot run: ${toolchain}`);
    return 1;
  }
  const summary: Array<{ config: string; stacks: StackCheck[] }> = [];
  for (const file of configFiles) {
    // Without a file, loadConfig falls back to s3-edge.config.json or the built-in defaults.
    const label = file ?? "project-config";
    const config = loadConfig({ env: { ...process.env, S3EDGE_CONFIG: file }, cwd: process.cwd() });
    const outdir = mkdtempSync(join(tmpdir(), "s3-edge-validate-"));
    try {
      synthesizeApp(config, outdir);
      const stacks = await checkSynthesizedStacks({
        toolchain,
        outdir,
        workDir: resolve(BUILD_DIR, "terraform", label.replace(/[^A-Za-z0-9.-]+/g, "_")),
        awsVersion: awsProviderVersion(),
      });
      for (const check of stacks) {
        console.log(
          `${label} ${check.stack}: validate ${check.validate}, plan ${check.plan} (${check.seconds.toFixed(1)} s)`,
        );
        for (const note of check.notes) console.log(`    ${note.split("\n").join("\n    ")}`);
      }
      summary.push({ config: label, stacks });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }
  const failed = summary.flatMap((s) => s.stacks).filter((c) => c.validate === "failed" || c.plan === "failed");
  console.log(JSON.stringify({ configs: summary.length, failed: failed.map((c) => c.stack), summary }));
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  },
);
