#!/usr/bin/env node
// The browser tests (tests/browser/*_test.ts): the browser build in headless Chromium (Debian's
// `chromium`, driven by playwright-core), its bundle check and the example page's screenshot. They
// run on Node.js only, as their own suite: `npm test` (scripts/test.mjs) leaves tests/browser/ out,
// so the Deno and Bun runs never load playwright, and CI launches Chromium once, not per runtime.
// Prints "browser: N passed, M failed".
//
// Usage: node scripts/test_browser.mjs [filter ...]   (filter: substrings of test file paths)

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies, parseJunit } from "./test.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".build", "browser-tests");
const junit = join(root, ".build", "junit", "browser.xml");

ensureDependencies();
const filters = process.argv.slice(2);
const files = readdirSync(join(root, "tests", "browser"))
  .filter((f) => f.endsWith("_test.ts"))
  .map((f) => join("tests", "browser", f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no browser test files match");
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(dirname(junit), { recursive: true });
rmSync(junit, { force: true });
const bundled = spawnSync(join(root, "node_modules", ".bin", "esbuild"), [
  ...files,
  "--bundle",
  "--platform=node",
  "--format=esm",
  "--target=node20",
  "--packages=external",
  "--outbase=tests/browser",
  `--outdir=${out}`,
  "--out-extension:.js=.mjs",
  "--log-level=warning",
], { cwd: root, stdio: "inherit" });
if (bundled.status !== 0) {
  console.log("browser: 0 passed, 1 failed");
  process.exit(1);
}
const started = Date.now();
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, [
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=junit",
    `--test-reporter-destination=${junit}`,
    ...files.map((f) => join(out, relative(join("tests", "browser"), f).replace(/\.ts$/, ".mjs"))),
  ], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
});
const result = parseJunit(junit) ?? { passed: 0, failed: 0, skipped: [], failures: [] };
if (code !== 0 && result.failed === 0) {
  result.failed++;
  result.failures.push(`node exited with code ${code} (a file failed to load or crashed)`);
}
console.log(
  `\n=== browser tests: ${files.length} files in ${
    ((Date.now() - started) / 1000).toFixed(1)
  } s ===`,
);
for (const name of result.failures) console.log(`  FAILED  ${name}`);
for (const name of result.skipped) console.log(`  skipped ${name}`);
console.log(`browser: ${result.passed} passed, ${result.failed + result.skipped.length} failed`);
process.exit(result.failed + result.skipped.length > 0 ? 1 : 0);
