import { ConfigError, parseConfig } from "../../config";

/** The problems a config produces, as `path: message` lines; fails when the config is accepted. */
export function configProblems(input: unknown): string[] {
  try {
    parseConfig(input, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error("config was accepted");
}
