// The sha256 of the dashboard's sources: what the shipped build was made from.
// backend/tests/api/test_dashboard_build.py computes the same hash in Python: keep the two in
// step (same files, sorted by path, each as path NUL size NUL bytes).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const FRONTEND = new URL("..", import.meta.url).pathname;
const TREES = ["src", "public"];
const TOP_LEVEL = /^(package\.json|package-lock\.json|next\.config\.[cm]?[jt]s|tsconfig(\.[\w-]+)?\.json|postcss\.config\.[cm]?[jt]s)$/;

function isSource(relative) {
  const name = relative.split("/").at(-1);
  return !relative.startsWith("src/test/") && !name.includes(".test.") && name !== ".DS_Store";
}

function walk(relative) {
  const full = join(FRONTEND, relative);
  if (statSync(full).isDirectory()) {
    return readdirSync(full).flatMap((name) => walk(`${relative}/${name}`));
  }
  return isSource(relative) ? [relative] : [];
}

export function sourceFiles() {
  const files = readdirSync(FRONTEND).filter((name) => TOP_LEVEL.test(name) && statSync(join(FRONTEND, name)).isFile());
  for (const tree of TREES) if (existsSync(join(FRONTEND, tree))) files.push(...walk(tree));
  // Plain code-unit order, the same as Python's sorted() for these ASCII paths.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function sourceHash() {
  const hash = createHash("sha256");
  for (const relative of sourceFiles()) {
    const bytes = readFileSync(join(FRONTEND, relative));
    hash.update(`${relative}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(sourceHash());
}
