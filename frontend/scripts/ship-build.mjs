// Copies the static export (out/) into the Python package, where `alphatransformer run` serves
// it, with the hash of the sources it was built from. Run through `npm run build:ship`.
import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FRONTEND, sourceFiles, sourceHash } from "./source-hash.mjs";

const OUT = join(FRONTEND, "out");
const TARGET = join(FRONTEND, "..", "backend", "alphatransformer", "api", "dashboard_build");

if (!existsSync(join(OUT, "index.html"))) {
  console.error("out/index.html is missing: run `npm run build` first");
  process.exit(1);
}
rmSync(TARGET, { recursive: true, force: true });
cpSync(OUT, TARGET, { recursive: true });
const hash = sourceHash();
writeFileSync(join(TARGET, "SOURCE_HASH"), `${hash}\n`);
console.log(`shipped the dashboard to ${TARGET} (${sourceFiles().length} source files, sha256 ${hash.slice(0, 12)}…)`);
