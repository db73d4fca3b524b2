#!/usr/bin/env node
// The demo of the README's Quick start (`npm run demo`): installs the development dependencies if
// needed, then runs the `rom-ws` command-line client with no URL (it starts an embedded echo server,
// connects, sends "Привет мир!" and prints the ROM-WebSocket events) on Node.js, Deno and Bun.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies } from "./test.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
ensureDependencies();
const run = (cmd, args) =>
  spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] }).status ?? 1;
const runs = [
  ["Node.js " + process.version, process.execPath, [".build/cli.mjs"]],
  ["Deno", join(root, "node_modules/.bin/deno"), ["run", "-A", "src/cli/bin.ts"]],
  ["Bun", join(root, "node_modules/.bin/bun"), ["src/cli/bin.ts"]],
];
let status = run(join(root, "node_modules/.bin/esbuild"), [
  "src/cli/bin.ts",
  "--bundle",
  "--platform=node",
  "--format=esm",
  "--outfile=.build/cli.mjs",
  "--log-level=warning",
]);
for (const [name, cmd, args] of runs) {
  if (status !== 0) break;
  console.log(`\n$ rom-ws        # on ${name}`);
  status = run(cmd, args);
}
process.exit(status);
