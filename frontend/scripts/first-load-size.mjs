// Prints the JavaScript a first visit downloads, gzipped: every <script src> of each exported
// page (Next 16 no longer prints first-load sizes itself). Target: <= 300 KB for "/".
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const OUT = new URL("../out/", import.meta.url).pathname;
const LIMIT_KB = 300;

function pages(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "_next" ? [] : pages(path);
    return name === "index.html" ? [path] : [];
  });
}

const sizeCache = new Map();
function gzipped(src) {
  if (!sizeCache.has(src)) {
    const file = join(OUT, decodeURIComponent(src.replace(/^\//, "").split("?")[0]));
    sizeCache.set(src, gzipSync(readFileSync(file), { level: 9 }).length);
  }
  return sizeCache.get(src);
}

let worst = 0;
for (const page of pages(OUT).sort()) {
  const html = readFileSync(page, "utf8");
  const scripts = [...new Set([...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g)].map((m) => m[1]))];
  const bytes = scripts.reduce((sum, src) => sum + gzipped(src), 0);
  const route = "/" + relative(OUT, page).replace(/index\.html$/, "");
  const kb = bytes / 1024;
  worst = Math.max(worst, kb);
  console.log(`first-load JS ${route.padEnd(14)} ${kb.toFixed(1)} KB gzipped (${scripts.length} files)`);
}
console.log(`first_load_js_gzip_kb=${worst.toFixed(1)} (target <= ${LIMIT_KB})`);
if (worst > LIMIT_KB) {
  console.error(`first-load JavaScript is over ${LIMIT_KB} KB gzipped`);
  process.exit(1);
}
