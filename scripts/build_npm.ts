/**
 * Builds the npm package into `dist/`: esbuild emits ESM (with shared chunks, so each runtime
 * adapter stays a lazily loaded chunk) and CommonJS (the same files and chunks, converted one by
 * one), tsc emits the declarations (`.d.ts` for `import`, `.d.cts` for `require`). The entry
 * points are the `exports` of deno.json, so the two registries publish the same API;
 * `scripts/check_exports.ts` verifies it. The root's `browser` condition points at the build of
 * `./browser` (src/browser/mod.ts), for bundlers that target browsers.
 *
 * Usage: deno run -A scripts/build_npm.ts
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const dist = join(root, "dist");

/** deno.json `exports`: subpath → source file. */
export function denoExports(): Record<string, string> {
  return JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports;
}

/** The npm file of a source entry, e.g. "./src/core/mod.ts" → "dist/esm/src/core/mod.js". */
export function npmPaths(
  source: string,
): { esm: string; cjs: string; types: string; ctypes: string } {
  const base = source.replace(/^\.\//, "").replace(/\.ts$/, "");
  return {
    esm: `./dist/esm/${base}.js`,
    cjs: `./dist/cjs/${base}.cjs`,
    types: `./dist/types/${base}.d.ts`,
    ctypes: `./dist/types-cjs/${base}.d.cts`,
  };
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { cwd: root, stdio: "inherit" });
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

export function build(): void {
  const exports = denoExports();
  const entries = Object.values(exports);
  const cli = exports["./cli"];
  const library = entries.filter((e) => e !== cli);
  rmSync(dist, { recursive: true, force: true });

  const common = [
    "--bundle",
    "--target=es2022",
    "--external:node:*",
    "--log-level=warning",
    "--outbase=.",
  ];
  // ESM: code splitting keeps the adapters (imported lazily by runtime) in their own chunks.
  run(bin("esbuild"), [
    ...library,
    ...common,
    "--format=esm",
    "--platform=neutral",
    "--splitting",
    "--outdir=dist/esm",
    "--chunk-names=chunks/[name]-[hash]",
  ]);
  // The CLI module: both the export "./cli" and the executable (`bin`), one file with a shebang.
  run(bin("esbuild"), [
    cli,
    ...common,
    "--format=esm",
    "--platform=node",
    `--outfile=${npmPaths(cli).esm}`,
    "--banner:js=#!/usr/bin/env node",
  ]);
  // CommonJS: the ESM files converted one by one, chunks included, so that `require` users get
  // one copy of each module across subpaths, as `import` users do (a PcreError thrown by the root's
  // RomWebSocket is an instance of the PcreError of "./rom"). A bundle per entry would give each
  // subpath its own copy of the classes. Dynamic imports become lazy `require` calls.
  const esm = walk(join(dist, "esm")).filter((f) => f.endsWith(".js"));
  run(bin("esbuild"), [
    ...esm,
    "--format=cjs",
    "--platform=node",
    "--target=es2022",
    "--supported:dynamic-import=false",
    "--log-level=warning",
    `--outbase=${join(dist, "esm")}`,
    "--outdir=dist/cjs",
    "--out-extension:.js=.cjs",
  ]);
  const required = /(\brequire\(\s*["'])(\.{1,2}\/[^"']*?)\.js(["']\s*\))/g;
  for (const file of walk(join(dist, "cjs"))) {
    if (file.endsWith(".cjs")) {
      writeFileSync(file, readFileSync(file, "utf8").replace(required, "$1$2.cjs$3"));
    }
  }
  // Declarations from tsc (isolated declarations: the same API as JSR's "no slow types").
  run(bin("tsc"), ["-p", "tsconfig.build.json"]);
  // tsc keeps the ".ts" of relative specifiers in declarations: point them at the ".js" files
  // (ESM), and write a CommonJS copy (.d.cts, ".cjs" specifiers) for `require`.
  const types = join(dist, "types");
  const ctypes = join(dist, "types-cjs");
  const relative = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.(?:ts|js)(["'])/g;
  for (const file of walk(types)) {
    if (!file.endsWith(".d.ts")) continue;
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(relative, "$1$2.js$3"));
    const target = join(ctypes, file.slice(types.length + 1).replace(/\.d\.ts$/, ".d.cts"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text.replace(relative, "$1$2.cjs$3"));
  }

  // package.json exports, generated from deno.json's.
  const pkgPath = join(root, "package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  const npmExports: Record<string, unknown> = {};
  for (const [subpath, source] of Object.entries(exports)) {
    const p = npmPaths(source);
    npmExports[subpath] = {
      import: { types: p.types, default: p.esm },
      require: { types: p.ctypes, default: p.cjs },
    };
  }
  // Bundlers that target browsers (the `browser` condition) get the browser build for the root.
  const browser = npmPaths(exports["./browser"]);
  npmExports["."] = {
    browser: { types: browser.types, default: browser.esm },
    ...npmExports["."] as Record<string, unknown>,
  };
  npmExports["./package.json"] = "./package.json";
  const main = npmPaths(exports["."]);
  Object.assign(pkg, {
    main: main.cjs,
    module: main.esm,
    types: main.types,
    exports: npmExports,
    bin: { "rom-ws": npmPaths(cli).esm },
  });
  // Keep a conventional key order: metadata, entry points, then development fields.
  const order = [
    "name",
    "version",
    "description",
    "license",
    "keywords",
    "type",
    "main",
    "module",
    "types",
    "exports",
    "bin",
    "files",
    "sideEffects",
    "engines",
    "scripts",
    "devDependencies",
  ];
  const sorted: Record<string, unknown> = {};
  for (const key of order) if (key in pkg) sorted[key] = pkg[key];
  for (const key of Object.keys(pkg)) if (!(key in sorted)) sorted[key] = pkg[key];
  writeFileSync(pkgPath, JSON.stringify(sorted, null, 2) + "\n");
  const size = walk(dist).reduce((n, f) => n + statSync(f).size, 0);
  console.log(`dist/ built: ${(size / 1024).toFixed(0)} KiB in ${walk(dist).length} files`);
}

if (import.meta.main) build();
