import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { App } from "cdktf";
import { parseConfig, type S3EdgeConfig, type S3EdgeConfigInput } from "../../config";
import { PROJECT_ROOT, TEST_SYNTH_CACHE_DIR } from "../../config/paths";
import type { S3EdgeStacks } from "../../stacks";

/** A stack's synthesized Terraform JSON. */
export interface StackJson {
  terraform?: {
    backend?: Record<string, Record<string, unknown>>;
    required_providers?: Record<string, { source?: string; version?: string }>;
  };
  provider?: Record<string, Array<Record<string, unknown>>>;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown; sensitive?: boolean }>;
}

export interface SynthesizedApp {
  readonly config: S3EdgeConfig;
  /** Stack id → its cdk.tf.json. */
  readonly stacks: Readonly<Record<string, StackJson>>;
  /** cdktf's manifest.json: stack ids, dependencies. */
  readonly manifest: { stacks: Record<string, { dependencies: string[]; synthesizedStackPath: string }> };
}

export const FULL_CONFIG_FILE = join(__dirname, "..", "..", "examples", "full.config.json");

export function fullConfigInput(): S3EdgeConfigInput {
  return JSON.parse(readFileSync(FULL_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;
}

/** `examples/<name>.config.json`. */
export function exampleConfigInput(name: string): S3EdgeConfigInput {
  return JSON.parse(readFileSync(join(FULL_CONFIG_FILE, "..", `${name}.config.json`), "utf8")) as S3EdgeConfigInput;
}

export const CHINA_CONFIG_FILE = join(__dirname, "..", "..", "examples", "china.config.json");

export function chinaConfigInput(): S3EdgeConfigInput {
  return JSON.parse(readFileSync(CHINA_CONFIG_FILE, "utf8")) as S3EdgeConfigInput;
}

export interface SynthOptions {
  /** Adds test-only stacks (a consumer of cross-stack values, say) before synth. */
  readonly extend?: (app: App, stacks: S3EdgeStacks, config: S3EdgeConfig) => void;
  /** Synthesize here and leave the files (for terraform); a temp dir that is removed otherwise. */
  readonly outdir?: string;
  /**
   * Keep the partition data sources' tokens as synthesized. Otherwise, in stacks of the global
   * partition, they read as the provider resolves them there (`arn:aws:`, `amazonaws.com`,
   * `<service>.amazonaws.com`), so assertions show the ARNs and principals AWS will see.
   * @default false
   */
  readonly rawPartition?: boolean;
  /**
   * Synthesize even when this input was synthesized before from the same source (see TEST_SYNTH_CACHE_DIR).
   * @default false
   */
  readonly fresh?: boolean;
}

/**
 * Synths of the same config input from the same source, shared by every test file and run: most
 * suites synthesize the defaults or an example, and one synth costs about a second of CPU. An entry
 * is keyed on the input, in a folder named for the content of every file a synth reads
 * (SYNTH_SOURCES and the package lock): any change to them synthesizes again, and the folders of
 * earlier sources are removed. A clean clone (CI) starts empty. Synths with `extend` or `outdir`
 * are never cached.
 */
const SYNTH_SOURCES = ["aws", "config", "constructs", "contracts", "functions", "packaging", "stacks"];
const SYNTH_FILES = ["package-lock.json", "cdktf.json"];

let sourceDigest: string | undefined;

/** A digest of every file a synth depends on, computed once per test file. */
function synthSourceDigest(): string {
  if (sourceDigest) return sourceDigest;
  const hash = createHash("sha256");
  const add = (path: string) => hash.update(relative(PROJECT_ROOT, path)).update("\0").update(readFileSync(path));
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else add(path);
    }
  };
  SYNTH_SOURCES.forEach((folder) => walk(join(PROJECT_ROOT, folder)));
  SYNTH_FILES.forEach((file) => add(join(PROJECT_ROOT, file)));
  sourceDigest = hash.digest("hex");
  return sourceDigest;
}

type SynthOutput = Pick<SynthesizedApp, "stacks" | "manifest">;

function cachedSynth(input: S3EdgeConfigInput, options: SynthOptions, synth: () => SynthOutput): SynthOutput {
  if (options.extend || options.outdir || options.fresh) return synth();
  const directory = synthCacheDirectory();
  const key = createHash("sha256")
    .update(JSON.stringify([input, options.rawPartition ?? false]))
    .digest("hex");
  const path = join(directory, `${key.slice(0, 32)}.json`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as SynthOutput;
  } catch {
    const output = synth();
    mkdirSync(directory, { recursive: true });
    // Workers synthesizing the same input at once each write whole files; the rename is atomic.
    const partial = `${path}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(output));
    renameSync(partial, path);
    return output;
  }
}

/** This source's folder of cached synths; the folders of earlier sources are removed when it is made. */
function synthCacheDirectory(): string {
  const name = synthSourceDigest().slice(0, 32);
  const directory = join(TEST_SYNTH_CACHE_DIR, name);
  if (!existsSync(directory)) {
    const stale = existsSync(TEST_SYNTH_CACHE_DIR)
      ? readdirSync(TEST_SYNTH_CACHE_DIR).filter((entry) => entry !== name)
      : [];
    stale.forEach((entry) => rmSync(join(TEST_SYNTH_CACHE_DIR, entry), { recursive: true, force: true }));
    mkdirSync(directory, { recursive: true });
  }
  return directory;
}

/**
 * A global-partition stack's JSON with the `aws_partition` and `aws_service_principal` tokens
 * replaced by their values there (the provider computes them from the region, without AWS).
 * China stacks are left as they are.
 */
export function resolveGlobalPartition(text: string): string {
  const stack = JSON.parse(text) as StackJson;
  const region = String(stack.provider?.aws?.find((p) => p.alias === undefined)?.region ?? "");
  if (region.startsWith("cn-")) return text;
  return text
    .replace(/\$\{data\.aws_partition\.partition\.partition\}/g, "aws")
    .replace(/\$\{data\.aws_partition\.partition\.dns_suffix\}/g, "amazonaws.com")
    .replace(/\$\{data\.aws_service_principal\.([A-Za-z0-9_-]+)\.name\}/g, (_, name: string) => {
      const service = (stack.data?.aws_service_principal?.[name] as { service_name?: string } | undefined)
        ?.service_name;
      return `${service ?? name}.amazonaws.com`;
    });
}

/** Synthesizes the whole app for a config (the built-in defaults when omitted). */
export function synthApp(input: S3EdgeConfigInput = {}, options: SynthOptions = {}): SynthesizedApp {
  const config = parseConfig(input);
  const output = cachedSynth(input, options, () => synthesize(config, options));
  return { config, ...output };
}

function synthesize(config: S3EdgeConfig, options: SynthOptions): SynthOutput {
  // Loaded on a cache miss only: cdktf and the provider bindings take a second or more to load.
  const { App } = require("cdktf") as typeof import("cdktf");
  const { createStacks } = require("../../stacks") as typeof import("../../stacks");
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), "s3-edge-test-"));
  try {
    const app = new App({ outdir });
    const built = createStacks(app, config);
    options.extend?.(app, built, config);
    app.synth();
    const stacks: Record<string, StackJson> = {};
    for (const id of readdirSync(join(outdir, "stacks"))) {
      const text = readFileSync(join(outdir, "stacks", id, "cdk.tf.json"), "utf8");
      stacks[id] = JSON.parse(options.rawPartition ? text : resolveGlobalPartition(text)) as StackJson;
    }
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as SynthesizedApp["manifest"];
    return { stacks, manifest };
  } finally {
    if (!options.outdir) rmSync(outdir, { recursive: true, force: true });
  }
}

/** Every resource of a type in a stack, as [logical name, body]. */
export function resourcesOf(stack: StackJson, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(stack.resource?.[type] ?? {});
}

/**
 * The logical name of the one resource of a type at a construct path below the stack
 * (`primary/bucket` → `primary_bucket_<hash>`, as cdktf names it).
 */
export function logicalName(stack: StackJson, type: string, path: string): string {
  const pattern = new RegExp(`^${path.split("/").join("_")}_[0-9A-F]{8}$`);
  const found = resourcesOf(stack, type).filter(([name]) => pattern.test(name));
  if (found.length !== 1) throw new Error(`expected one ${type} at "${path}", found ${found.length}`);
  return found[0][0];
}

/** The body of the resource of a type at a construct path below the stack. */
export function resourceAt(stack: StackJson, type: string, path: string): Record<string, unknown> {
  return stack.resource![type][logicalName(stack, type, path)];
}

/** `${aws_s3_bucket.primary_bucket_<hash>.arn}` for the resource at a construct path. */
export function referenceTo(stack: StackJson, type: string, path: string, attribute: string): string {
  return `\${${type}.${logicalName(stack, type, path)}.${attribute}}`;
}
