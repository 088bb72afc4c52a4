import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The provider every AWS stack pins (through @cdktf/provider-aws 20.1.0). */
export const AWS_PROVIDER = "registry.terraform.io/hashicorp/aws";

/** Data sources that Terraform evaluates locally: a stack using only these can be planned offline. */
const LOCAL_DATA_SOURCES = new Set(["aws_iam_policy_document", "aws_partition"]);

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
  /** Why a check was skipped or failed, and the planned change summary when it passed. */
  readonly notes: readonly string[];
  readonly seconds: number;
}

export interface TerraformToolchain {
  readonly terraform: string;
  /** Directory laid out as `<host>/<namespace>/<type>/<version>/<os_arch>/`. */
  readonly mirror: string;
}

interface StackJson {
  terraform?: { required_providers?: Record<string, { source?: string; version?: string }> };
  provider?: Record<string, Array<{ alias?: string }>>;
  data?: Record<string, unknown>;
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

/** CLI config that installs providers only from the mirror (nothing downloads) through a shared cache. */
function writeCliConfig(workDir: string, mirror: string): string {
  const cacheDir = join(workDir, "plugin-cache");
  mkdirSync(cacheDir, { recursive: true });
  const file = join(workDir, "terraform.tfrc");
  writeFileSync(
    file,
    [
      `plugin_cache_dir = ${JSON.stringify(cacheDir)}`,
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

function stackDirectory(workDir: string, stackDir: string, name: string): string {
  const dir = join(workDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(stackDir, "cdk.tf.json"), join(dir, "cdk.tf.json"));
  if (existsSync(join(stackDir, "assets"))) symlinkSync(join(stackDir, "assets"), join(dir, "assets"));
  return dir;
}

/**
 * `terraform init` writes into the shared plugin cache, which is not safe for concurrent writers,
 * so inits run one at a time (they take well under a second); validate and plan run in parallel.
 */
let initQueue: Promise<unknown> = Promise.resolve();
function serializedInit(toolchain: TerraformToolchain, cliConfig: string, cwd: string, args: string[]) {
  const result = initQueue.then(() => terraform(toolchain, cliConfig, cwd, ["init", ...args]));
  initQueue = result;
  return result;
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

async function checkStack(
  toolchain: TerraformToolchain,
  cliConfig: string,
  workDir: string,
  stackDir: string,
  stack: string,
  awsVersion: string,
): Promise<StackCheck> {
  const started = Date.now();
  const done = (validate: CheckStatus, plan: CheckStatus, notes: string[]): StackCheck => ({
    stack,
    validate,
    plan,
    notes,
    seconds: (Date.now() - started) / 1000,
  });
  const json = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as StackJson;
  const required = Object.entries(json.terraform?.required_providers ?? {});
  const unmirrored = required
    .map(([name, spec]) => ({ address: providerAddress(spec.source, name), version: spec.version }))
    .filter((p) => p.address !== AWS_PROVIDER || p.version !== awsVersion);
  if (unmirrored.length > 0) {
    const names = unmirrored.map((p) => `${p.address} ${p.version ?? ""}`.trim()).join(", ");
    return done("skipped", "skipped", [`not validated: no filesystem mirror of ${names}`]);
  }

  const validateDir = stackDirectory(workDir, stackDir, `${stack}.validate`);
  const init = await serializedInit(toolchain, cliConfig, validateDir, ["-backend=false", "-input=false"]);
  if (!init.ok) return done("failed", "skipped", [init.output.trim()]);
  const validated = await terraform(toolchain, cliConfig, validateDir, ["validate", "-json"]);
  const validateNotes = diagnostics(validated);
  if (!validated.ok) return done("failed", "skipped", validateNotes);

  const remoteData = Object.keys(json.data ?? {}).filter((type) => !LOCAL_DATA_SOURCES.has(type));
  if (remoteData.length > 0) {
    return done("passed", "skipped", [...validateNotes, `plan skipped: reads ${remoteData.join(", ")} (needs AWS)`]);
  }
  const planDir = stackDirectory(workDir, stackDir, `${stack}.plan`);
  writeFileSync(
    join(planDir, "offline_override.tf.json"),
    JSON.stringify({
      terraform: { backend: { local: { path: join(planDir, "offline.tfstate") } } },
      provider: {
        aws: (json.provider?.aws ?? [{}]).map((p) => ({
          ...(p.alias ? { alias: p.alias } : {}),
          ...OFFLINE_PROVIDER_SETTINGS,
        })),
      },
    }),
  );
  const planInit = await serializedInit(toolchain, cliConfig, planDir, ["-input=false", "-reconfigure"]);
  if (!planInit.ok) return done("passed", "failed", [...validateNotes, planInit.output.trim()]);
  const plan = await terraform(toolchain, cliConfig, planDir, [
    "plan",
    "-input=false",
    "-lock=false",
    "-refresh=false",
  ]);
  const summary = /Plan: .*/.exec(plan.output)?.[0];
  if (!plan.ok || !summary) return done("passed", "failed", [...validateNotes, plan.output.trim()]);
  return done("passed", "passed", [...validateNotes, summary]);
}

async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface CheckOptions {
  readonly toolchain: TerraformToolchain;
  /** The cdktf output directory (holding `stacks/<id>/cdk.tf.json`). */
  readonly outdir: string;
  /** Scratch directory for terraform working directories and the plugin cache. */
  readonly workDir: string;
  readonly awsVersion: string;
  /** @default 2 (the machine's cores; terraform is CPU-bound loading the provider schema) */
  readonly concurrency?: number;
}

/**
 * Runs `terraform init -backend=false` + `terraform validate` on every synthesized stack, and an
 * offline `terraform plan` (mock credentials) on each stack that reads nothing from AWS.
 */
export async function checkSynthesizedStacks(options: CheckOptions): Promise<StackCheck[]> {
  const workDir = resolve(options.workDir);
  mkdirSync(workDir, { recursive: true });
  const cliConfig = writeCliConfig(workDir, options.toolchain.mirror);
  const stacksDir = resolve(options.outdir, "stacks");
  const stacks = readdirSync(stacksDir).sort();
  return mapWithConcurrency(stacks, options.concurrency ?? 2, (stack) =>
    checkStack(options.toolchain, cliConfig, workDir, join(stacksDir, stack), stack, options.awsVersion),
  );
}
