/**
 * npm run validate [-- --config FILE ...] [--all-examples] [--plan] [--stack ID ...]
 *
 * Synthesizes the app (for each named config file, the built-in defaults and every
 * `examples/*.config.json` with `--all-examples`, or the config `cdktf synth` would load) and runs a real `terraform validate`
 * on every stack against the local provider mirror. With `--plan`, also an offline
 * `terraform plan` of every AWS stack in apply order, with fabricated upstream outputs and data
 * sources (see scripts/offline-values.ts). Prints a table per config, then one JSON line. Exits 1
 * when a check fails or terraform or the mirror is missing.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD_DIR, ConfigError, loadConfig, parseConfig } from "../config";
import { synthesizeApp } from "../stacks";
import { awsProviderVersion } from "./provider-version";
import { checkSynthesizedStacks, checkTable, findToolchain, type StackCheck } from "./terraform-check";

const EXAMPLES_DIR = resolve(__dirname, "..", "examples");
/** The label `--all-examples` gives the config of an empty file: every default, nothing set. */
const BUILT_IN = "built-in defaults";

const USAGE = `npm run validate [-- --config FILE ...] [--all-examples] [--plan] [--stack ID ...]

  --config FILE    validate the app synthesized from FILE (repeatable); default: S3EDGE_CONFIG,
                   else s3-edge.config.json, else the built-in example
  --all-examples   the built-in defaults and every examples/*.config.json (the China example included)
  --plan           also an offline terraform plan of every AWS stack in apply order, with fabricated
                   upstream outputs and data sources (no credentials)
  --stack ID       check only this stack (repeatable), e.g. --stack cdn; the others' synthesized
                   outputs still stand in for their state`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", multiple: true },
      "all-examples": { type: "boolean", default: false },
      plan: { type: "boolean", default: false },
      stack: { type: "string", multiple: true },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const examples = values["all-examples"]
    ? readdirSync(EXAMPLES_DIR)
        .filter((file) => file.endsWith(".config.json"))
        .sort()
        .map((file) => join("examples", file))
    : [];
  const named = [...(values.config ?? []), ...(values["all-examples"] ? [BUILT_IN, ...examples] : [])];
  const configFiles = named.length > 0 ? named : [process.env.S3EDGE_CONFIG];
  const toolchain = findToolchain(process.env, awsProviderVersion());
  if (typeof toolchain === "string") {
    console.error(`validate: cannot run: ${toolchain}`);
    return 1;
  }
  const summary: Array<{ config: string; stacks: StackCheck[] }> = [];
  for (const file of configFiles) {
    // Without a file, loadConfig falls back to s3-edge.config.json or the built-in defaults.
    const label = file ?? "project-config";
    const config =
      file === BUILT_IN
        ? parseConfig({})
        : loadConfig({ env: { ...process.env, S3EDGE_CONFIG: file }, cwd: process.cwd() });
    const outdir = mkdtempSync(join(tmpdir(), "s3-edge-validate-"));
    const started = Date.now();
    try {
      synthesizeApp(config, outdir);
      const stacks = await checkSynthesizedStacks({
        toolchain,
        outdir,
        workDir: resolve(BUILD_DIR, "terraform", label.replace(/[^A-Za-z0-9.-]+/g, "_")),
        awsVersion: awsProviderVersion(),
        plan: values.plan,
        ...(values.stack ? { stacks: values.stack } : {}),
      });
      console.log(`${label} (${((Date.now() - started) / 1000).toFixed(1)} s)\n${checkTable(stacks)}`);
      for (const check of stacks.filter((c) => c.validate === "failed" || c.plan === "failed")) {
        console.log(`${check.stack}:\n    ${check.notes.join("\n").split("\n").join("\n    ")}`);
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
