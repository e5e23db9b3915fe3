// Bundle src/netron_view.js into ../tfl_jupyter/static/netron_view.js (an ES module that
// anywidget loads through the widget's _esm).
//
// The first line of the output records a hash of the sources it was built from, so that
// hatch_build.py (and `npm run check`) can tell a stale build from a fresh one without Node.
// hatch_build.py computes the same hash: keep SOURCES and the hashing in step with it.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUTPUT = join(HERE, "..", "tfl_jupyter", "static", "netron_view.js");
const BANNER_PREFIX = "// tfl_jupyter netron_view, built from js/ sources sha256:";

function sources() {
  const src = readdirSync(join(HERE, "src")).filter((name) => name.endsWith(".js")).map((name) => `src/${name}`);
  return ["build.mjs", "package.json", "package-lock.json", ...src].sort();
}

function sourceHash() {
  const hash = createHash("sha256");
  for (const name of sources()) {
    const text = readFileSync(join(HERE, name), "utf8").replace(/\r\n/g, "\n");
    hash.update(`${name}\0${text}\0`);
  }
  return hash.digest("hex");
}

function builtHash() {
  try {
    const first = readFileSync(OUTPUT, "utf8").split("\n", 1)[0];
    return first.startsWith(BANNER_PREFIX) ? first.slice(BANNER_PREFIX.length).trim() : null;
  } catch {
    return null;
  }
}

if (process.argv.includes("--check")) {
  const fresh = builtHash() === sourceHash();
  console.log(fresh ? "netron_view.js is up to date" : "netron_view.js is stale: run npm run build");
  process.exit(fresh ? 0 : 1);
}

const { build } = await import("esbuild");
mkdirSync(dirname(OUTPUT), { recursive: true });
const result = await build({
  entryPoints: [join(HERE, "src", "netron_view.js")],
  bundle: true,
  format: "esm",
  target: "es2020",
  write: false,
  legalComments: "none",
});
const code = result.outputFiles[0].text;
writeFileSync(OUTPUT, `${BANNER_PREFIX}${sourceHash()}\n${code}`);
console.log(`wrote ${OUTPUT} (${code.length} bytes)`);
