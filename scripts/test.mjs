#!/usr/bin/env node
// The test command of the README (`npm test`): runs the one test suite (tests/**/*_test.ts,
// written with node:test) under Deno, Bun and Node.js, and prints one summary per runtime and a
// total. Plain JavaScript so that it runs on a machine with only Node.js and npm; it installs the
// development dependencies itself when they are missing.
//
// Usage: node scripts/test.mjs [--runtimes deno,bun,node[,node22,node24]] [filter ...]
//   filter: substrings of test file paths (e.g. `core/frame` or `client/`).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const build = join(root, ".build");

export function ensureDependencies() {
  if (existsSync(bin("deno")) && existsSync(bin("bun")) && existsSync(bin("esbuild"))) return;
  console.log("Installing development dependencies (npm ci)...");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("npm ci failed");
    process.exit(1);
  }
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      // tests/browser/ is its own suite, on Node.js only: scripts/test_browser.mjs.
      if (!name.startsWith("_") && name !== "fixtures" && name !== "browser") {
        out.push(...findTests(path));
      }
    } else if (name.endsWith("_test.ts")) {
      out.push(path);
    }
  }
  return out.sort();
}

// The client reads proxy variables by default and, like curl, does not bypass loopback on its
// own: a machine's proxy settings would send every test's 127.0.0.1 traffic to its proxy. The
// tests that need them set their own (tests/client/proxy_env_test.ts).
const PROXY_VARIABLES = [
  "ws_proxy",
  "wss_proxy",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
]
  .flatMap((name) => [name, name.toUpperCase()]);

function withoutProxyVariables(env) {
  const out = { ...env };
  for (const name of PROXY_VARIABLES) delete out[name];
  return out;
}

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...withoutProxyVariables(process.env), ...env },
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on("error", (error) => {
      console.error(`cannot run ${command}: ${error.message}`);
      resolve(127);
    });
  });
}

function decode(s) {
  return s.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(
    /&apos;/g,
    "'",
  )
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, "&");
}

/** The first meaningful line of a failure's message, shortened, for the summary. */
function failureReason(body) {
  const m =
    /<(?:failure|error)\b((?:\s+[\w:-]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/(?:failure|error)>)/
      .exec(body);
  if (!m) return "";
  const message = /\bmessage="([^"]*)"/.exec(m[1])?.[1];
  const text = decode(message || m[2] || "").replace(/<!\[CDATA\[|\]\]>/g, "");
  const line =
    text.split("\n").map((l) => l.trim()).find((l) =>
      l && !/^\[?(Error|AssertionError|failed)\]?$/i.test(l)
    ) ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Counts leaf test cases in a JUnit XML file written by deno, bun or node. */
export function parseJunit(path) {
  const result = { passed: 0, failed: 0, skipped: [], failures: [] };
  if (!existsSync(path)) return undefined;
  const xml = readFileSync(path, "utf8");
  const cases = [];
  // Attribute values may hold an unescaped ">" (Node.js writes test names as they are).
  const re = /<testcase\b((?:\s+[\w:-]+="[^"]*")*)\s*(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attrs = m[1];
    const body = m[3] ?? "";
    const name = decode(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? "?");
    const classname = decode(/\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    cases.push({
      name,
      classname,
      failed: /<failure\b|<error\b/.test(body) || /\bfailure="/.test(attrs),
      reason: failureReason(body),
      skipped: /<skipped\b/.test(body),
    });
  }
  // Deno lists a describe() block as a test case too, and its children as "block > child".
  const names = new Set(cases.map((c) => c.name));
  const parents = new Set();
  for (const n of names) {
    const parts = n.split(" > ");
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join(" > "));
  }
  for (const c of cases) {
    if (parents.has(c.name)) continue;
    if (c.skipped) result.skipped.push(c.name);
    else if (c.failed) {
      result.failed++;
      result.failures.push(c.reason ? `${c.name}: ${c.reason}` : c.name);
    } else result.passed++;
  }
  return result;
}

const RUNTIMES = {
  deno: (
    files,
    junit,
  ) => [bin("deno"), ["test", "-A", "--no-check", `--junit-path=${junit}`, ...files]],
  bun: (files, junit) => [
    bin("bun"),
    [
      "test",
      "--timeout",
      "60000",
      "--reporter=junit",
      `--reporter-outfile=${junit}`,
      ...files.map((f) => `./${f}`),
    ],
  ],
  node: (files, junit) => nodeCommand(process.execPath, files, junit),
  node22: (files, junit) => nodeCommand(join(root, "node_modules/node22/bin/node"), files, junit),
  node24: (files, junit) => nodeCommand(join(root, "node_modules/node24/bin/node"), files, junit),
};

function nodeCommand(node, files, junit) {
  const bundles = files.map((f) =>
    join(build, "node-tests", relative("tests", f).replace(/\.ts$/, ".mjs"))
  );
  return [node, [
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=junit",
    `--test-reporter-destination=${junit}`,
    ...bundles,
  ]];
}

/** Bundles the test files for Node.js (which cannot run TypeScript before v22.6). */
function bundleForNode(files) {
  rmSync(join(build, "node-tests"), { recursive: true, force: true });
  const r = spawnSync(bin("esbuild"), [
    ...files,
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    "--packages=external",
    "--outbase=tests",
    `--outdir=${join(build, "node-tests")}`,
    "--out-extension:.js=.mjs",
    "--log-level=warning",
  ], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("esbuild failed to bundle the tests for Node.js");
}

async function main() {
  const args = process.argv.slice(2);
  let runtimes = ["deno", "bun", "node"];
  const filters = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runtimes") runtimes = args[++i].split(",");
    else filters.push(args[i]);
  }
  ensureDependencies();
  const files = findTests(join(root, "tests")).map((f) => relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
  if (files.length === 0) {
    const browser = filters.some((f) => f.includes("browser/"));
    console.error(
      `no test files match${browser ? " (tests/browser/: node scripts/test_browser.mjs)" : ""}`,
    );
    process.exit(1);
  }
  mkdirSync(join(build, "junit"), { recursive: true });
  if (runtimes.some((r) => r.startsWith("node"))) bundleForNode(files);

  const summaries = [];
  for (const runtime of runtimes) {
    const make = RUNTIMES[runtime];
    if (!make) throw new Error(`unknown runtime ${runtime}`);
    const junit = join(build, "junit", `${runtime}.xml`);
    rmSync(junit, { force: true });
    const [command, argv] = make(files, junit);
    if (!existsSync(command)) {
      summaries.push({
        runtime,
        passed: 0,
        failed: 1,
        skipped: [],
        failures: [`${command} not found`],
      });
      continue;
    }
    console.log(`\n=== ${runtime}: ${files.length} test files ===`);
    const started = Date.now();
    const code = await run(command, argv, { ROM_TEST_RUNTIME: runtime });
    const parsed = parseJunit(junit) ?? { passed: 0, failed: 0, skipped: [], failures: [] };
    if (code !== 0 && parsed.failed === 0) {
      parsed.failed++;
      parsed.failures.push(
        `${runtime} exited with code ${code} (a file failed to load or crashed)`,
      );
    }
    summaries.push({ runtime, seconds: (Date.now() - started) / 1000, ...parsed });
  }

  console.log("\n=== summary ===");
  let passed = 0;
  let failed = 0;
  for (const s of summaries) {
    passed += s.passed;
    failed += s.failed;
    const time = s.seconds === undefined ? "" : ` in ${s.seconds.toFixed(1)} s`;
    console.log(
      `${s.runtime}: ${s.passed} passed, ${s.failed} failed, ${s.skipped.length} skipped${time}`,
    );
    for (const name of s.failures) console.log(`  FAILED  ${name}`);
    for (const name of s.skipped) console.log(`  skipped ${name}`);
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
