/**
 * Fails when deno.json and package.json disagree: the same subpaths, each npm entry built from
 * the same source file as the JSR entry, and the same version in deno.json, package.json and
 * src/version.ts.
 *
 * Usage: deno run -A scripts/check_exports.ts
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { npmPaths } from "./build_npm.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const problems: string[] = [];

const versionTs = /VERSION = "([^"]+)"/.exec(readFileSync(join(root, "src/version.ts"), "utf8"))
  ?.[1];
if (deno.version !== pkg.version || deno.version !== versionTs) {
  problems.push(
    `versions differ: deno.json ${deno.version}, package.json ${pkg.version}, src/version.ts ${versionTs}`,
  );
}
const denoKeys = Object.keys(deno.exports).sort();
const npmKeys = Object.keys(pkg.exports ?? {}).filter((k) => k !== "./package.json").sort();
if (JSON.stringify(denoKeys) !== JSON.stringify(npmKeys)) {
  problems.push(`subpaths differ: deno.json [${denoKeys}] vs package.json [${npmKeys}]`);
}
for (const [subpath, source] of Object.entries(deno.exports as Record<string, string>)) {
  const expected = npmPaths(source);
  const entry = pkg.exports?.[subpath];
  const text = JSON.stringify(entry ?? null);
  if (!text.includes(expected.esm) || !text.includes(expected.types)) {
    problems.push(`${subpath}: package.json ${text} does not point at the build of ${source}`);
  }
}
for (const p of problems) console.error(`export parity: ${p}`);
if (problems.length === 0) {
  console.log(`export parity: ${denoKeys.length} subpaths agree, version ${deno.version}`);
}
process.exit(problems.length === 0 ? 0 : 1);
