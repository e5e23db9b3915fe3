// Bundle the front-end into ../tfl_jupyter/static/:
// - src/netron_view.js -> netron_view.js, an ES module that anywidget loads through the
//   widget's _esm;
// - src/overlay_frame.js -> netron_overlay.js, a classic script that runs inside Netron's page
//   (tfl_jupyter/server/assets.py adds it to the viewer's index.html).
//
// The first line of each output records a hash of the sources it was built from, so that
// hatch_build.py (and `npm run check`) can tell a stale build from a fresh one without Node.
// hatch_build.py computes the same hash: keep sources() and the hashing in step with it.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const STATIC = join(HERE, "..", "tfl_jupyter", "static");
// entry -> [output, esbuild format]
const BUNDLES = {
  "netron_view.js": ["netron_view.js", "esm"],
  "overlay_frame.js": ["netron_overlay.js", "iife"],
};
const BANNER_PREFIX = "// tfl_jupyter front-end, built from js/ sources sha256:";

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

function builtHash(output) {
  try {
    const first = readFileSync(output, "utf8").split("\n", 1)[0];
    return first.startsWith(BANNER_PREFIX) ? first.slice(BANNER_PREFIX.length).trim() : null;
  } catch {
    return null;
  }
}

const outputs = Object.values(BUNDLES).map(([name]) => join(STATIC, name));

if (process.argv.includes("--check")) {
  const hash = sourceHash();
  const stale = outputs.filter((output) => builtHash(output) !== hash);
  console.log(stale.length ? `stale: ${stale.join(", ")}: run npm run build` : "the bundles are up to date");
  process.exit(stale.length ? 1 : 0);
}

const { build } = await import("esbuild");
mkdirSync(STATIC, { recursive: true });
const hash = sourceHash();
for (const [entry, [name, format]] of Object.entries(BUNDLES)) {
  const result = await build({
    entryPoints: [join(HERE, "src", entry)],
    bundle: true,
    format,
    target: "es2020",
    write: false,
    legalComments: "none",
  });
  const code = result.outputFiles[0].text;
  writeFileSync(join(STATIC, name), `${BANNER_PREFIX}${hash}\n${code}`);
  console.log(`wrote ${join(STATIC, name)} (${code.length} bytes)`);
}
