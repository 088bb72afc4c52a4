import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PROJECT_ROOT } from "../../config/paths";

/**
 * Dependencies point one way: main.ts → stacks → constructs → aws, packaging, contracts and the
 * functions' modules, with config as the ground everything reads. Scripts may use anything but
 * tests; tests may use anything. An entry is a folder or one file (config reuses the constructs'
 * defaults, constants in constructs/defaults.ts, and nothing else of constructs/).
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  contracts: [],
  config: ["functions", "constructs/defaults"],
  functions: ["config"],
  aws: ["config", "contracts"],
  packaging: ["config", "functions"],
  testing: ["config", "functions"],
  constructs: ["aws", "config", "contracts", "functions", "packaging"],
  stacks: ["aws", "config", "constructs", "contracts", "functions", "packaging"],
  scripts: ["aws", "config", "constructs", "contracts", "functions", "packaging", "stacks", "testing"],
};

function sourceFiles(folder: string): string[] {
  return readdirSync(join(PROJECT_ROOT, folder), { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && /\.(ts|cjs|js)$/.test(entry.name) && !entry.parentPath.includes("node_modules"),
    )
    .map((entry) => relative(PROJECT_ROOT, join(entry.parentPath, entry.name)));
}

/** The modules a file's relative imports reach outside its own top-level folder, without extension. */
function importedModules(file: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import|require)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  const own = file.split("/")[0];
  return specifiers
    .map((specifier) => relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), specifier)))
    .filter((module) => module.split("/")[0] !== own);
}

/** Whether a layer may import a module: its folder is below the layer, or the module itself is named. */
const mayImport = (folder: string, module: string) =>
  MAY_IMPORT[folder].some((allowed) => allowed === module || allowed === module.split("/")[0]);

const importedFolders = (file: string) => importedModules(file).map((module) => module.split("/")[0]);

describe("layering", () => {
  it.each(Object.keys(MAY_IMPORT))("%s/ imports only from the layers below it", (folder) => {
    const violations = sourceFiles(folder).flatMap((file) =>
      importedModules(file)
        .filter((module) => !mayImport(folder, module))
        .map((module) => `${file} imports ${module}`),
    );
    expect(violations).toEqual([]);
  });

  it("main.ts reads config and builds the stacks, nothing else", () => {
    expect([...new Set(importedFolders("main.ts"))].sort()).toEqual(["config", "stacks"]);
  });
});
