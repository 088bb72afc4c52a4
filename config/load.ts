import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { z } from "zod";
import { configSchema, type S3EdgeConfig } from "./schema";

/** The config file used when `S3EDGE_CONFIG` is not set and this file exists in the project root. */
export const DEFAULT_CONFIG_FILE = "s3-edge.config.json";

export interface ConfigProblem {
  /** Dotted path of the field, like `storage.encryption.primaryKeyArn`; empty for the root. */
  readonly path: string;
  readonly message: string;
}

/** Invalid configuration: names every offending field and why, and stops synth. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `Invalid s3-edge config (${source}):\n` +
        problems.map((problem) => `  - ${problem.path || "(root)"}: ${problem.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function toProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: [...path, key].join("."), message: "unknown field" }));
    }
    if (issue.code === "invalid_key") {
      // A record key broke a rule: report the rule, not zod's generic "Invalid key in record".
      return issue.issues.map((inner) => ({ path: path.join("."), message: inner.message }));
    }
    return [{ path: path.join("."), message: issue.message }];
  });
}

/** Validates raw config (the parsed JSON of a config file, or `{}` for the defaults). */
export function parseConfig(input: unknown, source = "built-in defaults"): S3EdgeConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(source, toProblems(result.error));
  return result.data;
}

export interface LoadConfigOptions {
  /** Environment to read `S3EDGE_CONFIG` from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Project root: relative paths and the default config file resolve against it. */
  readonly cwd: string;
}

/**
 * Loads the config: the file named by `S3EDGE_CONFIG`, else `s3-edge.config.json` in the project
 * root when present, over the built-in defaults.
 */
export function loadConfig({ env, cwd }: LoadConfigOptions): S3EdgeConfig {
  const named = env.S3EDGE_CONFIG;
  const file = named ? (isAbsolute(named) ? named : resolve(cwd, named)) : join(cwd, DEFAULT_CONFIG_FILE);
  if (!named && !existsSync(file)) return parseConfig({});
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [{ path: "", message: `cannot read the file: ${(error as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{ path: "", message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parseConfig(raw, file);
}
