import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { configReferenceProblem } from "../../scripts/config-reference";

const ROOT = path.resolve(__dirname, "../..");
const README_MAX_LINES = 200;

/** Top-level folders whose paths the docs and comments name (the repository layout of README.md). */
const TOP_LEVEL = [
  "__tests__",
  "aws",
  "config",
  "constructs",
  "contracts",
  "docs",
  "examples",
  "functions",
  "packaging",
  "scripts",
  "stacks",
  "testing",
];
/** Folders never scanned: installed or generated. */
const SKIPPED = new Set(["node_modules", "cdktf.out", ".build", ".git", "coverage"]);

/**
 * A repository path: a known top-level folder, then path characters, not preceded by a character
 * that would make it part of something else (`/aws/lambda/...` log groups, `cdktf.out/stacks/...`,
 * `arn:aws:...`, URLs).
 */
const PATH_TOKEN = new RegExp(`(?<![\\w./:@<>$-])(?:${TOP_LEVEL.join("|")})/[\\w./*{}<>-]*`, "g");

/** The paths a text names that do not exist: the token up to a placeholder or glob, without `#anchor` and trailing dots. */
function missingIn(text: string): string[] {
  const missing = new Set<string>();
  for (const [token] of text.matchAll(PATH_TOKEN)) {
    // `functions/<name>/index.ts`, `functions/image/**`: check the part before the placeholder or glob.
    const concrete = token.split(/[<*{]/)[0];
    const candidate = concrete.replace(/#.*$/, "").replace(/[.]+$/, "");
    // `aws/dynamodb`, `aws/sns`: AWS managed key aliases; a path in the aws folder names a file, or a folder with its slash.
    if (/^aws\/[\w-]+$/.test(candidate)) continue;
    if (!existsSync(path.join(ROOT, candidate))) missing.add(candidate);
  }
  return [...missing];
}

/** GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const headings = markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm);
  return new Set(
    [...headings].map(([, title]) =>
      title
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
}

/** Relative markdown links (`[x](adoption.md#y)`, `[x](../examples/a.json)`, `[x](#z)`): target file and heading. */
function missingLinks(file: string, text: string): string[] {
  const missing: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue;
    const [relative, anchor] = target.split("#");
    const resolved = relative ? path.join(path.dirname(file), relative) : file;
    if (!existsSync(resolved)) missing.push(path.relative(ROOT, resolved));
    else if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor)) {
      missing.push(`${path.relative(ROOT, resolved)}#${anchor}`);
    }
  }
  return missing;
}

/** Comments of a TypeScript or JavaScript source: `// ...` lines and block comments. */
function comments(source: string): string {
  return [...source.matchAll(/\/\*[\s\S]*?\*\/|(?<![:"'`\\])\/\/[^\n]*/g)].map(([comment]) => comment).join("\n");
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED.has(name)) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return filesUnder(full, pattern);
    return pattern.test(name) ? [full] : [];
  });
}

describe("docs", () => {
  it("docs/configuration.md is what the config schema gives (npm run docs:config)", () => {
    expect(configReferenceProblem(ROOT)).toBeUndefined();
  });

  it(`README.md is a front page of at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("the README's layout names every top-level folder, and only folders that exist", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const block = /## Layout\s+```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const listed = block
      .split("\n")
      .map((line) => /^(\S+)\s/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    const folders = readdirSync(ROOT).filter(
      (name) => !name.startsWith(".") && !SKIPPED.has(name) && statSync(path.join(ROOT, name)).isDirectory(),
    );
    expect(folders.filter((folder) => !listed.includes(`${folder}/`))).toEqual([]);
    expect(listed.filter((name) => !existsSync(path.join(ROOT, name)))).toEqual([]);
  });

  it("every repository path named by the markdown files, help and code comments exists", () => {
    const docs = [...filesUnder(ROOT, /\.md$/), path.join(ROOT, "help"), path.join(ROOT, ".ci/run")];
    const sources = [
      path.join(ROOT, "main.ts"),
      ...TOP_LEVEL.filter((dir) => existsSync(path.join(ROOT, dir))).flatMap((dir) =>
        filesUnder(path.join(ROOT, dir), /\.(?:ts|js|cjs|mjs)$/),
      ),
    ];
    const problems = [
      ...docs.flatMap((file) => {
        const text = readFileSync(file, "utf8");
        const missing = new Set([...missingIn(text), ...missingLinks(file, text)]);
        return [...missing].map((name) => `${path.relative(ROOT, file)}: ${name}`);
      }),
      ...sources.flatMap((file) =>
        missingIn(comments(readFileSync(file, "utf8"))).map((name) => `${path.relative(ROOT, file)}: ${name}`),
      ),
    ];
    expect(problems).toEqual([]);
  });
});
