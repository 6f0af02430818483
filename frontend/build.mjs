// Builds the front end into ../tb_module_plugin/static (deterministic: same sources, same bytes), or with
// --tests the unit tests into test-build/ for `node --test`.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;

if (process.argv.includes("--tests")) {
  rmSync(`${here}test-build`, { recursive: true, force: true });
  await build({
    absWorkingDir: here,
    entryPoints: readdirSync(`${here}test`)
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => `test/${name}`),
    outdir: "test-build",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
} else {
  await build({
    absWorkingDir: here,
    entryPoints: {
      index: "src/index.ts",
      "layout-worker": "src/layout-worker.ts",
      style: "src/style.css",
    },
    outdir: "../tb_module_plugin/static",
    bundle: true,
    format: "esm",
    target: ["chrome100", "firefox100", "safari15"],
    minify: true,
    legalComments: "eof",
    charset: "utf8",
    logLevel: "warning",
  });
}
