import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../config/paths";

/** The folders and files whose content makes up the engine's container image. */
export const ENGINE_SOURCES = [
  "functions/image",
  "functions/shared",
  "package.json",
  "package-lock.json",
  // The font installer the container build runs (functions/image/Dockerfile).
  "config/paths.ts",
  "packaging/font-package.ts",
  "packaging/sharp-package.ts",
] as const;

/**
 * The container image tag of the engine: a hash of its sources (every file under `ENGINE_SOURCES`,
 * with its path), so that the same code gives the same tag on every machine and a change gives a
 * new one. `npm run image:push` pushes this tag; the task definition pulls it.
 */
export function engineImageTag(root: string = PROJECT_ROOT): string {
  const hash = createHash("sha256");
  const files: string[] = [];
  const walk = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name === "node_modules") continue;
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(relative(root, child).split("\\").join("/"));
    }
  };
  for (const source of ENGINE_SOURCES) {
    const path = join(root, source);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) walk(path);
    else files.push(source);
  }
  for (const file of files.sort()) {
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(root, file)))
      .update("\0");
  }
  return `engine-${hash.digest("hex").slice(0, 16)}`;
}
