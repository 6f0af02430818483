// Builds the front end into ../tb_module_plugin/static (deterministic: same sources, same bytes); with
// --check, then fails if that changed the committed bundle; with --tests, builds the unit tests into
// test-build/ for `node --test`.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
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
  if (process.argv.includes("--check")) {
    const bundle = "../tb_module_plugin/static";
    const changes = execFileSync("git", ["status", "--porcelain", "--", bundle], { cwd: here, encoding: "utf8" });
    if (changes) {
      console.error(`The committed bundle is not what the sources build:\n${changes}Run \`npm run build\` and commit ${bundle}.`);
      execFileSync("git", ["diff", "--stat", "--", bundle], { cwd: here, stdio: "inherit" });
      process.exit(1);
    }
  }
}
