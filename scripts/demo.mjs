#!/usr/bin/env node
// The demo of the README's Quick start (`npm run demo`): installs the development dependencies if
// needed, then runs the demo under Node.js, Deno and Bun in turn.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies } from "./test.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
ensureDependencies();
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;
let status = run(join(root, "node_modules/.bin/esbuild"), [
  "examples/echo.ts",
  "--bundle",
  "--platform=node",
  "--format=esm",
  "--packages=external",
  "--outfile=.build/examples/echo.mjs",
  "--log-level=warning",
]);
if (status === 0) {
  console.log("--- Node.js");
  status = run(process.execPath, [".build/examples/echo.mjs"]);
}
if (status === 0) {
  console.log("--- Deno");
  status = run(join(root, "node_modules/.bin/deno"), ["run", "-A", "examples/echo.ts"]);
}
if (status === 0) {
  console.log("--- Bun");
  status = run(join(root, "node_modules/.bin/bun"), ["examples/echo.ts"]);
}
process.exit(status);
