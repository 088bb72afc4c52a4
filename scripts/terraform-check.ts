import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  fabricateDataSources,
  fabricateImports,
  fabricateOutput,
  outputsRead,
  producerOf,
  type SynthesizedStack,
} from "./offline-values";

const run = promisify(execFile);

/** The provider every AWS stack pins (through @cdktf/provider-aws 20.1.0). */
export const AWS_PROVIDER = "registry.terraform.io/hashicorp/aws";

/** Mock credentials and skips that let the aws provider plan without reaching AWS. */
const OFFLINE_PROVIDER_SETTINGS = {
  access_key: "offline-plan",
  secret_key: "offline-plan",
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: true,
};

export type CheckStatus = "passed" | "failed" | "skipped";

export interface StackCheck {
  readonly stack: string;
  readonly validate: CheckStatus;
  readonly plan: CheckStatus;
  /** Resources the offline plan would create, when it ran. */
  readonly toAdd?: number;
  /** Existing resources the offline plan would import (`import` blocks), when it ran. */
  readonly toImport?: number;
  /** What the offline plan was given instead of reading it (remote-state outputs, data sources). */
  readonly fabricated: readonly string[];
  /** Why a check was skipped or failed, and the planned change summary when it passed. */
  readonly notes: readonly string[];
  readonly seconds: number;
}

export interface TerraformToolchain {
  readonly terraform: string;
  /** Directory laid out as `<host>/<namespace>/<type>/<version>/<os_arch>/`. */
  readonly mirror: string;
}

interface StackJson extends SynthesizedStack {
  terraform?: { required_providers?: RequiredProviders };
}

function providerAddress(source: string | undefined, name: string): string {
  const full = source ?? name;
  const parts = full.split("/");
  if (parts.length === 1) return `registry.terraform.io/hashicorp/${parts[0]}`;
  if (parts.length === 2) return `registry.terraform.io/${full}`;
  return full;
}

/** The terraform binary on PATH (or `TERRAFORM_BIN`), if any. */
function findTerraform(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TERRAFORM_BIN) return existsSync(env.TERRAFORM_BIN) ? env.TERRAFORM_BIN : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "terraform");
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * A filesystem mirror holding the pinned aws provider: `TF_PROVIDER_MIRROR`, else the usual
 * plugin directories.
 */
function findProviderMirror(env: NodeJS.ProcessEnv, version: string): string | undefined {
  const candidates = [
    env.TF_PROVIDER_MIRROR,
    "/opt/tf-plugins",
    join(homedir(), ".terraform.d", "plugins"),
    join(homedir(), ".local", "share", "terraform", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, AWS_PROVIDER, version)));
}

export function findToolchain(env: NodeJS.ProcessEnv, awsVersion: string): TerraformToolchain | string {
  const terraform = findTerraform(env);
  if (!terraform) return "no terraform binary on PATH";
  const mirror = findProviderMirror(env, awsVersion);
  if (!mirror) return `no filesystem mirror of ${AWS_PROVIDER} ${awsVersion} (set TF_PROVIDER_MIRROR)`;
  return { terraform, mirror };
}

/**
 * CLI config that installs providers only from the mirror (nothing downloads) through a shared
 * cache, reused as it is: the mirror is the only source, so the cache cannot hold another build.
 */
function writeCliConfig(workDir: string, mirror: string): string {
  const cacheDir = join(workDir, "plugin-cache");
  mkdirSync(cacheDir, { recursive: true });
  const file = join(workDir, "terraform.tfrc");
  writeFileSync(
    file,
    [
      `plugin_cache_dir = ${JSON.stringify(cacheDir)}`,
      // Without a lock file Terraform would otherwise re-extract the provider into the cache on every
      // init, replacing the directory that stacks already linked to it are validating and planning with.
      "plugin_cache_may_break_dependency_lock_file = true",
      "provider_installation {",
      "  filesystem_mirror {",
      `    path    = ${JSON.stringify(mirror)}`,
      `    include = [${JSON.stringify(AWS_PROVIDER)}]`,
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  return file;
}

/** A stack's working directory: its synthesized JSON and assets, and the providers `init` installed. */
function stackDirectory(workDir: string, stackDir: string, name: string, initialized: string): string {
  const dir = join(workDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, ".terraform"), { recursive: true });
  symlinkSync(join(stackDir, "cdk.tf.json"), join(dir, "cdk.tf.json"));
  if (existsSync(join(stackDir, "assets"))) symlinkSync(join(stackDir, "assets"), join(dir, "assets"));
  symlinkSync(join(initialized, ".terraform", "providers"), join(dir, ".terraform", "providers"));
  copyFileSync(join(initialized, ".terraform.lock.hcl"), join(dir, ".terraform.lock.hcl"));
  return dir;
}

type RequiredProviders = Record<string, { source?: string; version?: string }>;

/**
 * One `terraform init -backend=false` per provider set, shared by every stack that pins the same
 * providers: a stack's directory links the installed providers and copies the lock file, which is
 * all that init leaves there when there are no modules and no backend.
 */
function providerInits(toolchain: TerraformToolchain, cliConfig: string, workDir: string) {
  const inits = new Map<string, Promise<{ readonly dir: string; readonly result: TerraformResult }>>();
  return (required: RequiredProviders) => {
    const key = JSON.stringify(Object.entries(required).sort(([a], [b]) => a.localeCompare(b)));
    let init = inits.get(key);
    if (!init) {
      const dir = join(workDir, `.init-${inits.size}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: required } }));
      init = terraform(toolchain, cliConfig, dir, ["init", "-backend=false", "-input=false"]).then((result) => ({
        dir,
        result,
      }));
      inits.set(key, init);
    }
    return init;
  };
}

interface TerraformResult {
  readonly ok: boolean;
  readonly stdout: string;
  /** stdout and stderr together, for humans. */
  readonly output: string;
}

async function terraform(
  toolchain: TerraformToolchain,
  cliConfig: string,
  cwd: string,
  args: string[],
): Promise<TerraformResult> {
  try {
    const { stdout, stderr } = await run(toolchain.terraform, [...args, "-no-color"], {
      cwd,
      env: { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, stdout, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const stdout = failure.stdout ?? "";
    return { ok: false, stdout, output: `${stdout}${failure.stderr ?? failure.message}` };
  }
}

/** The diagnostics of `terraform validate -json`, one line each. */
function diagnostics(result: TerraformResult): string[] {
  let parsed: { diagnostics: Array<{ severity: string; summary: string; detail?: string; address?: string }> };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return [result.output.trim()];
  }
  return parsed.diagnostics.map(
    (d) => `${d.severity}: ${d.summary}${d.address ? ` (${d.address})` : ""}${d.detail ? `: ${d.detail}` : ""}`,
  );
}

/** The warnings terraform printed while validating and planning, one line each (as `diagnostics` words them). */
function warnings(output: string): string[] {
  return [...output.matchAll(/^(?:│ )?Warning: (.+)$/gm)].map((m) => `warning: ${m[1].trim()}`);
}

/**
 * A `terraform test` file that plans the stack offline: the aws provider with mock credentials
 * (replacing the configured ones, same regions and tags), and `override_data` for every value
 * the plan would read from AWS or from another stack's state.
 */
function offlineTestFile(
  json: StackJson,
  producers: ReadonlyMap<string, StackJson>,
): { readonly file: object; readonly fabricated: string[] } {
  const fabricated: string[] = [];
  const overrides: Array<{ target: string; values: object }> = [];
  for (const name of Object.keys(json.data?.terraform_remote_state ?? {})) {
    const producerId = producerOf(name);
    const producer = producerId ? producers.get(producerId) : undefined;
    const outputs: Record<string, unknown> = {};
    const kinds = new Set<string>();
    for (const output of outputsRead(json, name)) {
      const value = producer ? fabricateOutput(producer, output) : { value: `offline-${output}`, from: "generic" };
      outputs[output] = value.value;
      kinds.add(value.from);
    }
    overrides.push({ target: `data.terraform_remote_state.${name}`, values: { outputs } });
    fabricated.push(
      `${producerId ?? name} outputs (${Object.keys(outputs).length}: ${[...kinds].sort().join(", ") || "none read"})`,
    );
  }
  for (const { target, values, from } of fabricateDataSources(json)) {
    overrides.push({ target, values });
    fabricated.push(target === from ? target : `${target} (${from.replace(/^data\.[a-z0-9_]+ ?/, "") || "shaped"})`);
  }
  const imports = fabricateImports(json);
  for (const { target, from } of imports) fabricated.push(`${target} (${from})`);
  const file = {
    provider: {
      aws: (json.provider?.aws ?? [{}]).map(({ alias, region, default_tags }) => ({
        ...(alias ? { alias } : {}),
        ...(region ? { region } : {}),
        ...(default_tags ? { default_tags } : {}),
        ...OFFLINE_PROVIDER_SETTINGS,
      })),
    },
    ...(overrides.length > 0 ? { override_data: overrides } : {}),
    // An import reads the existing object from AWS: the plan is given a stand-in instead.
    ...(imports.length > 0 ? { override_resource: imports.map(({ target, values }) => ({ target, values })) } : {}),
    run: { offline_plan: { command: "plan" } },
  };
  return { file, fabricated };
}

async function checkStack(
  toolchain: TerraformToolchain,
  cliConfig: string,
  init: ReturnType<typeof providerInits>,
  workDir: string,
  stackDir: string,
  stack: string,
  options: { awsVersion: string; plan: boolean; producers: ReadonlyMap<string, StackJson> },
): Promise<StackCheck> {
  const started = Date.now();
  const done = (
    validate: CheckStatus,
    plan: CheckStatus,
    notes: string[],
    extra: Pick<StackCheck, "toAdd" | "toImport" | "fabricated"> = { fabricated: [] },
  ): StackCheck => ({ stack, validate, plan, ...extra, notes, seconds: (Date.now() - started) / 1000 });
  const json =
    options.producers.get(stack) ?? (JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as StackJson);
  const required = Object.entries(json.terraform?.required_providers ?? {});
  const unmirrored = required
    .map(([name, spec]) => ({ address: providerAddress(spec.source, name), version: spec.version }))
    .filter((p) => p.address !== AWS_PROVIDER || p.version !== options.awsVersion);
  if (unmirrored.length > 0) {
    const names = unmirrored.map((p) => `${p.address} ${p.version ?? ""}`.trim()).join(", ");
    return done("skipped", "skipped", [`not validated: no filesystem mirror of ${names}`]);
  }

  // One working directory with the shared init's providers. With a plan, the offline test run comes
  // first: `terraform test` validates the configuration before it plans, so `validate` (a second
  // load of the provider schema, about 7 CPU seconds) runs only to tell a failed test run's cause.
  const initialized = await init(json.terraform?.required_providers ?? {});
  if (!initialized.result.ok) return done("failed", "skipped", [initialized.result.output.trim()]);
  const dir = stackDirectory(workDir, stackDir, stack, initialized.dir);
  const validate = async () => {
    const validated = await terraform(toolchain, cliConfig, dir, ["validate", "-json"]);
    return { ok: validated.ok, notes: diagnostics(validated) };
  };
  if (!options.plan) {
    const validated = await validate();
    return done(validated.ok ? "passed" : "failed", "skipped", validated.notes);
  }

  const { file, fabricated } = offlineTestFile(json, options.producers);
  writeFileSync(join(dir, "offline.tftest.json"), JSON.stringify(file, null, 2));
  const planned = await terraform(toolchain, cliConfig, dir, ["test", "-verbose"]);
  const summary = /Plan: (?:(\d+) to import, )?(\d+) to add, \d+ to change, \d+ to destroy\./.exec(planned.output);
  const noChanges = /No changes\./.test(planned.output);
  if (!planned.ok || !(summary || noChanges)) {
    const validated = await validate();
    if (!validated.ok) return done("failed", "skipped", validated.notes);
    // Terraform's own diagnostics, without the plan it printed before them.
    const errors = planned.output.slice(Math.max(0, planned.output.search(/^(Error|│ Error):/m))).trim();
    return done("passed", "failed", [...validated.notes, errors], { fabricated });
  }
  const toAdd = summary ? Number(summary[2]) : 0;
  const toImport = summary?.[1] ? Number(summary[1]) : undefined;
  return done("passed", "passed", [...warnings(planned.output), summary?.[0] ?? "No changes."], {
    toAdd,
    ...(toImport === undefined ? {} : { toImport }),
    fabricated,
  });
}

/**
 * Runs `run` on every stack in dependency (apply) order: a stack starts once the stacks it reads
 * have finished, and stacks that do not depend on each other run `limit` at a time.
 */
async function inApplyOrder<R>(
  stacks: readonly string[],
  dependencies: Readonly<Record<string, readonly string[]>>,
  limit: number,
  run: (stack: string) => Promise<R>,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  const finished = new Set<string>();
  const pending = new Set(stacks);
  const known = new Set(stacks);
  const running = new Set<Promise<void>>();
  const ready = () =>
    [...pending].filter((stack) => (dependencies[stack] ?? []).every((d) => finished.has(d) || !known.has(d)));
  while (pending.size > 0 || running.size > 0) {
    for (const stack of ready()) {
      if (running.size >= limit) break;
      pending.delete(stack);
      const task: Promise<void> = run(stack).then((result) => {
        results.set(stack, result);
        finished.add(stack);
        running.delete(task);
      });
      running.add(task);
    }
    if (running.size === 0) throw new Error(`dependency cycle among ${[...pending].join(", ")}`);
    await Promise.race(running);
  }
  return results;
}

export interface CheckOptions {
  readonly toolchain: TerraformToolchain;
  /** The cdktf output directory (holding `stacks/<id>/cdk.tf.json` and `manifest.json`). */
  readonly outdir: string;
  /** Scratch directory for terraform working directories and the plugin cache. */
  readonly workDir: string;
  readonly awsVersion: string;
  /**
   * Also plan every AWS stack offline (`terraform test` with mock credentials and fabricated
   * remote-state outputs and data sources), in apply order. @default false
   */
  readonly plan?: boolean;
  /** @default 2 (the machine's cores; terraform is CPU-bound loading the provider schema) */
  readonly concurrency?: number;
  /**
   * Check only these stacks (the others' synthesized outputs still stand in for their state).
   * @default every synthesized stack
   */
  readonly stacks?: readonly string[];
}

/**
 * Runs `terraform init -backend=false` + `terraform validate` on every synthesized stack or, with
 * `plan`, an offline `terraform plan` of each (which validates first), in apply order. Results come
 * back in apply order.
 */
export async function checkSynthesizedStacks(options: CheckOptions): Promise<StackCheck[]> {
  const workDir = resolve(options.workDir);
  mkdirSync(workDir, { recursive: true });
  const cliConfig = writeCliConfig(workDir, options.toolchain.mirror);
  const init = providerInits(options.toolchain, cliConfig, workDir);
  const stacksDir = resolve(options.outdir, "stacks");
  const synthesized = readdirSync(stacksDir).sort();
  const unknown = (options.stacks ?? []).filter((stack) => !synthesized.includes(stack));
  if (unknown.length > 0)
    throw new Error(`no such stack: ${unknown.join(", ")} (synthesized: ${synthesized.join(", ")})`);
  const stacks = options.stacks ? synthesized.filter((stack) => options.stacks!.includes(stack)) : synthesized;
  const producers = new Map(
    synthesized.map((stack) => [
      stack,
      JSON.parse(readFileSync(join(stacksDir, stack, "cdk.tf.json"), "utf8")) as StackJson,
    ]),
  );
  const manifestFile = join(resolve(options.outdir), "manifest.json");
  const manifest = existsSync(manifestFile)
    ? (JSON.parse(readFileSync(manifestFile, "utf8")) as { stacks: Record<string, { dependencies?: string[] }> })
    : { stacks: {} };
  const dependencies = Object.fromEntries(stacks.map((s) => [s, manifest.stacks[s]?.dependencies ?? []]));
  const failed = new Set<string>();
  const results = await inApplyOrder(stacks, dependencies, options.concurrency ?? 2, async (stack) => {
    const upstreamFailed = dependencies[stack].filter((d) => failed.has(d));
    const check =
      options.plan && upstreamFailed.length > 0
        ? await checkStack(options.toolchain, cliConfig, init, workDir, join(stacksDir, stack), stack, {
            awsVersion: options.awsVersion,
            plan: false,
            producers,
          }).then((c) => ({ ...c, notes: [...c.notes, `plan skipped: ${upstreamFailed.join(", ")} failed`] }))
        : await checkStack(options.toolchain, cliConfig, init, workDir, join(stacksDir, stack), stack, {
            awsVersion: options.awsVersion,
            plan: options.plan ?? false,
            producers,
          });
    if (check.validate === "failed" || check.plan === "failed") failed.add(stack);
    return check;
  });
  return [...results.values()];
}

/** The checks as a text table: stack, validate, plan, resources to add, seconds, what was fabricated. */
export function checkTable(checks: readonly StackCheck[]): string {
  const rows = [
    ["stack", "validate", "plan", "to add", "seconds", "fabricated"],
    ...checks.map((c) => [
      c.stack,
      c.validate,
      c.plan,
      c.toAdd === undefined ? "" : `${c.toAdd}${c.toImport ? ` (+${c.toImport} imported)` : ""}`,
      c.seconds.toFixed(1),
      c.validate === "skipped" ? "not planned: no mirror of its provider" : c.fabricated.join("; ") || "nothing",
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  "),
    )
    .join("\n");
}
