/**
 * Checks the npm package as users get it: builds it, packs it (`npm pack`), installs the tarball
 * into a fresh project, and there runs an echo round trip (the client, then `RomWebSocket` with the
 * contract strings of `rom-websocket/rom`) through ESM `import` and CommonJS `require` on Node.js
 * 20, 22 and 24, through `import` on Bun and Deno, type-checks a TypeScript consumer (strict,
 * `moduleResolution` node16 and bundler), and runs publint and @arethetypeswrong/cli on the
 * tarball. The echo server is the repository's (src/cli/echo_server.ts, the CLI's), in a child
 * process; checks the browser build as bundlers see it (the root's `browser` condition and
 * `./browser`, bundled by esbuild for a browser, and the unbundled ESM graph of `./browser`).
 * Prints "package: N passed, M failed".
 *
 * Usage: deno run -A scripts/check_package.ts
 *
 * @module
 */

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build, denoExports } from "./build_npm.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const work = join(root, ".build", "package-check");

const results: Array<{ name: string; ok: boolean; detail: string }> = [];

function check(name: string, command: string, args: string[], cwd = work): void {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 120_000 });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  const ok = r.status === 0;
  results.push({ name, ok, detail: output });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (!ok) console.log(output.split("\n").slice(-30).map((l) => `     ${l}`).join("\n"));
}

// The round trip every consumer runs against the echo server whose URL is its first argument: a
// text and a binary message, a ping, a clean close; then RomWebSocket (root entry) raising the
// strings of the "./rom" entry, with a PCRE Regex.
const roundTrip = (importLines: string) =>
  `${importLines}
const url = process.argv[2];
const ws = await connect(url);
await ws.send("Привет мир!");
await ws.send(new Uint8Array([1, 2, 3]));
const got = [];
for await (const m of ws) { got.push(m); if (got.length === 2) break; }
const rtt = await ws.ping();
const info = await ws.close();
if (got[0] !== "Привет мир!" || !(got[1] instanceof Uint8Array) || got[1].length !== 3) {
  throw new Error("bad echo: " + JSON.stringify(got));
}
if (!info.wasClean || info.code !== 1000 || typeof rtt !== "number") throw new Error("bad close");
if (typeof VERSION !== "string") throw new Error("exports");
const rom = new RomWebSocket();
const seen = [];
rom.onExternalEvent = (source, event, data) => {
  if (source === ROM_SOURCE) seen.push(event === ROM_MESSAGE_EVENT ? data : event);
};
rom.Timeout = 5;
try {
  rom.Regex = "(?>a)";
  throw new Error("an atomic group accepted");
} catch (e) {
  // One copy of each class across subpaths: the root's RomWebSocket throws the PcreError of ./rom.
  if (!(e instanceof PcreError) || e.code !== "INVALID_REGEX") throw e;
}
rom.Regex = "(?i)^ПРИВЕТ";
if (!compilePcre(rom.Regex).test("привет")) throw new Error("compilePcre");
if (!(await rom.Connect(url))) throw new Error("RomWebSocket: no connection: " + rom.LastError);
await rom.Send("skipped by the Regex");
await rom.Send("Привет мир!");
const until = async (n) => {
  for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
};
await until(2);
await rom.Disconnect();
await until(3);
const expected = [ROM_OPEN.event, "Привет мир!", ROM_CLOSE_NORMAL.event];
if (JSON.stringify(seen) !== JSON.stringify(expected)) {
  throw new Error("bad RomWebSocket events: " + JSON.stringify(seen));
}
console.log("echo ok", VERSION);
`;

/** A page script that uses the browser build through `specifier`. */
const browserUse = (specifier: string) =>
  `import { connect, RomWebSocket, ROM_OPEN, ArgumentError } from "${specifier}";
const rom = new RomWebSocket();
rom.onExternalEvent = (_s, event) => { if (event === ROM_OPEN.event) console.log("open"); };
connect("ws://127.0.0.1:1/", { headers: { a: "b" } }).catch((e) => {
  if (!(e instanceof ArgumentError) || e.code !== "UNSUPPORTED_IN_BROWSER") throw e;
});
export { rom };
`;

const browserCheck = `import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
const esbuild = process.argv[2];
for (const entry of ["browser_root.mjs", "browser_sub.mjs"]) {
  const code = execFileSync(esbuild, [entry, "--bundle", "--platform=browser", "--format=esm",
    "--minify", "--log-level=error"], { encoding: "utf8" });
  if (/["'\x60]node:/.test(code)) throw new Error(entry + ": a node: import in the browser bundle");
  for (const name of ["Deno", "Bun", "process", "Buffer", "require"]) {
    if (new RegExp("(?<![\\\\w$.])" + name + "(?![\\\\w$])").test(code)) {
      throw new Error(entry + ": " + name + " in the browser bundle");
    }
  }
  if (!code.includes("not supported in a browser")) throw new Error(entry + ": not the browser build");
  console.log(entry + ": " + (code.length / 1024).toFixed(1) + " KiB minified");
}
const seen = new Set();
const walk = (file) => {
  if (seen.has(file)) return;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/(?:\\bfrom\\s*|\\bimport\\s*\\(?\\s*)["']([^"']+)["']/g)) {
    if (!m[1].startsWith(".")) throw new Error(file + " imports " + m[1]);
    walk(join(dirname(file), m[1]));
  }
};
walk("node_modules/rom-websocket/dist/esm/src/browser/mod.js");
console.log("the ESM graph of ./browser: " + seen.size + " files, no import outside it");
`;

/**
 * The repository's echo server (the CLI's, src/cli/echo_server.ts) in a child process: the checks
 * run with spawnSync, which blocks this process, so the server cannot live here.
 */
async function startEchoChild(): Promise<{ url: string; stop(): void }> {
  const child = spawn(bin("deno"), [
    "eval",
    `import { startEchoServer } from "./src/cli/echo_server.ts";
const server = await startEchoServer();
console.log(server.url);`,
  ], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => {
      out += text;
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("exit", (code) => reject(new Error(`the echo server exited (${code}): ${out}`)));
  });
  return { url, stop: () => child.kill("SIGTERM") };
}

async function main(): Promise<void> {
  build();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tgz = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work], {
    cwd: root,
    encoding: "utf8",
  }).trim().split("\n").pop()!;
  const tarball = join(work, tgz);
  console.log(`packed ${tgz}: ${(statSync(tarball).size / 1024).toFixed(1)} KiB`);

  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module" }),
  );
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: app });
  const deps = JSON.parse(
    readFileSync(join(app, "node_modules/rom-websocket/package.json"), "utf8"),
  );
  results.push({
    name: "no runtime dependencies",
    ok: !deps.dependencies || Object.keys(deps.dependencies).length === 0,
    detail: JSON.stringify(deps.dependencies ?? {}),
  });

  const romNames =
    "compilePcre, PcreError, ROM_CLOSE_NORMAL, ROM_MESSAGE_EVENT, ROM_OPEN, ROM_SOURCE";
  writeFileSync(
    join(app, "esm.mjs"),
    roundTrip(
      `import process from "node:process";
import { connect, RomWebSocket, VERSION } from "rom-websocket";
import { ${romNames} } from "rom-websocket/rom";`,
    ),
  );
  writeFileSync(
    join(app, "cjs.cjs"),
    `(async () => {\n${
      roundTrip(
        `const { connect, RomWebSocket, VERSION } = require("rom-websocket");
const { ${romNames} } = require("rom-websocket/rom");`,
      )
    }})().catch((e) => { console.error(e); process.exit(1); });\n`,
  );
  const nodes: Array<[string, string]> = [
    ["node 20 (machine)", process.execPath.includes("deno") ? "node" : process.execPath],
    ["node 22", join(root, "node_modules/node22/bin/node")],
    ["node 24", join(root, "node_modules/node24/bin/node")],
  ];
  const echo = await startEchoChild();
  try {
    for (const [label, node] of nodes) {
      if (node !== "node" && !existsSync(node)) {
        results.push({ name: `${label}: present`, ok: false, detail: `${node} missing` });
        continue;
      }
      check(`${label}: ESM import round trip`, node, ["esm.mjs", echo.url], app);
      check(`${label}: CJS require round trip`, node, ["cjs.cjs", echo.url], app);
    }
    check("bun: import round trip", bin("bun"), ["esm.mjs", echo.url], app);
    check("deno: import round trip (node_modules)", bin("deno"), [
      "run",
      "-A",
      "esm.mjs",
      echo.url,
    ], app);
  } finally {
    echo.stop();
  }
  check("rom-ws bin (demo)", join(app, "node_modules/.bin/rom-ws"), [], app);

  // The browser build as bundlers see it: the root through the `browser` condition and the
  // "./browser" subpath, bundled by esbuild for a browser, hold no node: import, no runtime global
  // and are the browser build; the unbundled ESM graph of "./browser" imports nothing but itself.
  writeFileSync(join(app, "browser_root.mjs"), browserUse("rom-websocket"));
  writeFileSync(join(app, "browser_sub.mjs"), browserUse("rom-websocket/browser"));
  writeFileSync(join(app, "browser_check.mjs"), browserCheck);
  check("browser build: `browser` condition and ./browser, bundled for a browser", "node", [
    "browser_check.mjs",
    bin("esbuild"),
  ], app);

  // TypeScript consumers, strict, under both resolution modes.
  writeFileSync(
    join(app, "consumer.ts"),
    `import { connect, type ClientOptions, type CloseInfo, HandshakeError, RomWebSocket } from "rom-websocket";
import { ClientProtocol } from "rom-websocket/core";
import type { Connector } from "rom-websocket/adapters";
import { connectNode } from "rom-websocket/adapters/node";
import { compilePcre, PcreError, ROM_OPEN, type RomEvent } from "rom-websocket/rom";
import * as browser from "rom-websocket/browser";
const options: ClientOptions = { openTimeout: 5000, compression: { threshold: 0 }, reconnect: true };
export async function f(url: string): Promise<CloseInfo> {
  const ws = await connect(url, { ...options, connector: connectNode satisfies Connector });
  ws.addEventListener("message", (e) => { const d: string | Uint8Array = e.data; void d; });
  const rom = new RomWebSocket(); rom.Таймаут = 5; const ok: boolean = await rom.Подключиться(url);
  void ok; void new ClientProtocol({ host: "h", path: "/" }); void HandshakeError;
  const open: RomEvent = ROM_OPEN; const re: RegExp = compilePcre("(?i)a"); void open; void re;
  try { rom.Regex = "(?>a)"; } catch (e) { if (e instanceof PcreError) { const c: "INVALID_REGEX" = e.code; void c; } }
  return await ws.close(1000, "bye");
}
export async function g(url: string): Promise<CloseInfo> {
  const ws: browser.WebSocketClient = await browser.connect(url, { reconnect: true, idleTimeout: 30_000 });
  ws.addEventListener("outage", (e: browser.OutageEvent) => { const at: number = e.outage.lostAt; void at; });
  const rom = new browser.RomWebSocket({ reconnect: true }); const ok: boolean = await rom.Connect(url); void ok;
  try { await ws.ping(); } catch (e) { if (e instanceof browser.ArgumentError) { const c: browser.ArgumentErrorCode = e.code; void c; } }
  return await ws.close();
}
`,
  );
  for (const [label, mode] of [["node16", "Node16"], ["bundler", "Bundler"]]) {
    writeFileSync(
      join(app, `tsconfig.${label}.json`),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          lib: ["ES2022"],
          module: mode === "Bundler" ? "ESNext" : "Node16",
          moduleResolution: mode,
          types: ["node"],
          skipLibCheck: false,
        },
        files: ["consumer.ts"],
      }),
    );
  }
  // The consumer project uses this repository's TypeScript and @types/node.
  mkdirSync(join(app, "node_modules/@types"), { recursive: true });
  execFileSync("cp", [
    "-r",
    join(root, "node_modules/@types/node"),
    join(app, "node_modules/@types/"),
  ]);
  execFileSync("cp", ["-r", join(root, "node_modules/undici-types"), join(app, "node_modules/")]);
  check("TypeScript consumer, strict, moduleResolution node16", bin("tsc"), [
    "-p",
    "tsconfig.node16.json",
  ], app);
  check("TypeScript consumer, strict, moduleResolution bundler", bin("tsc"), [
    "-p",
    "tsconfig.bundler.json",
  ], app);

  check("publint", bin("publint"), ["run", "--strict", tarball], root);
  check("@arethetypeswrong/cli", bin("attw"), [
    tarball,
    "--profile",
    "node16",
    "--format",
    "table-flipped",
  ], root);
  // Export parity between deno.json and package.json.
  check("deno.json and package.json exports agree", bin("deno"), [
    "run",
    "-A",
    "scripts/check_exports.ts",
  ], root);

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  for (const r of results) if (!r.ok && !r.detail) console.log(`FAIL ${r.name}`);
  console.log(`subpaths: ${Object.keys(denoExports()).join(" ")}`);
  console.log(`package: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.main) await main();
