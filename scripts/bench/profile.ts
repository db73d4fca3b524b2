/**
 * CPU profile of one benchmark client (by default ours, 1 KiB binary pipelined) on one runtime,
 * summarized as the functions with the most self time and the time per source file.
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/bench/profile.ts [--runtime node22] [--impl rom]
 *   [--workload pipe|pingpong|feed] [--size 1024] [--text] [--shape json|repeat] [--compress]
 *   [--window 100] [--seconds 4]
 *   [--top 25] [--save DIR]
 * ```
 *
 * Node.js and Bun write a `.cpuprofile` with `--cpu-prof`; Deno is profiled through its V8
 * inspector (`--inspect-wait` and the `Profiler` domain of the DevTools protocol), started after
 * the warm-up. `--save DIR` keeps the raw profile (open it in Chrome DevTools or speedscope).
 *
 * @module
 */

import { bundle, CLIENT_TS, clientCommand, ROOT, RUNTIMES, SERVER_TS, startServer } from "./run.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

/** Module boundaries of an esbuild bundle (its `// path/to/file.ts` comments), by line. */
function bundleModules(text: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  text.split("\n").forEach((line, i) => {
    const m = /^\/\/ ((?:src|scripts|node_modules|mod)\S*)$/.exec(line);
    if (m) out.push([i, m[1]]);
  });
  return out;
}

function sourceOf(frame: CallFrame, modules: Array<[number, string]>, bundlePath: string): string {
  const url = frame.url.replace(/^file:\/\//, "");
  if (url === "") return "(native)";
  if (url === bundlePath || url.endsWith("/client.mjs")) {
    let file = "bundle";
    for (const [line, path] of modules) {
      if (line <= frame.lineNumber) file = path;
      else break;
    }
    return file;
  }
  return url.startsWith(ROOT) ? url.slice(ROOT.length + 1) : url;
}

/** Self time per function and per file, as fractions of all samples. */
function summarize(
  profile: CpuProfile,
  modules: Array<[number, string]>,
  bundlePath: string,
  top: number,
): string {
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i++) {
      const dt = profile.timeDeltas[i + 1] ?? 0;
      self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
    }
  } else {
    for (const n of profile.nodes) self.set(n.id, n.hitCount ?? 0);
  }
  let total = 0;
  for (const v of self.values()) total += v;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0) continue;
    const f = n.callFrame;
    if (f.functionName === "(idle)") {
      idle += t;
      continue;
    }
    const file = sourceOf(f, modules, bundlePath);
    // Bundle line numbers say nothing about the source: only unbundled frames keep theirs.
    const bundled = f.url.endsWith(".mjs") && !file.endsWith(".mjs");
    const line = f.url && !bundled ? `:${f.lineNumber + 1}` : "";
    const name = `${f.functionName || "(anonymous)"}  ${file}${line}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + t);
    const group = f.functionName.startsWith("(") ? f.functionName : file;
    byFile.set(group, (byFile.get(group) ?? 0) + t);
  }
  const busy = total - idle;
  const pct = (t: number) => `${(100 * t / busy).toFixed(1)}%`.padStart(6);
  const lines = [
    `samples: ${(total / 1000).toFixed(0)} ms, idle ${(100 * idle / total).toFixed(0)}%; ` +
    `percentages are of non-idle time`,
    "",
    "self time by function:",
    ...[...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${pct(v)}  ${k}`),
    "",
    "self time by file:",
    ...[...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${pct(v)}  ${k}`),
  ];
  return lines.join("\n");
}

/** Profiles a Deno child through its inspector: starts the profiler now, stops after `ms`. */
async function profileDenoInspector(port: number, afterMs: number, ms: number) {
  let list: Array<{ webSocketDebuggerUrl: string }> = [];
  for (let i = 0; i < 100 && list.length === 0; i++) {
    try {
      list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (list.length === 0) throw new Error("no inspector target");
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)!(msg.result);
      pending.delete(msg.id);
    }
  };
  await new Promise((resolve) => (ws.onopen = resolve));
  const call = (method: string, params: unknown = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Runtime.runIfWaitingForDebugger");
  await new Promise((r) => setTimeout(r, afterMs));
  await call("Profiler.start");
  await new Promise((r) => setTimeout(r, ms));
  const result = await call("Profiler.stop") as { profile: CpuProfile };
  ws.close();
  return result.profile;
}

async function main(): Promise<void> {
  const runtimeId = option("--runtime", "node22");
  const rt = RUNTIMES.find((r) => r.id === runtimeId);
  if (!rt) throw new Error(`unknown runtime ${runtimeId}`);
  const seconds = Number(option("--seconds", "4"));
  const warmup = 1;
  const top = Number(option("--top", "25"));
  const tmp = await Deno.makeTempDir({ prefix: "rom-prof-" });
  const clientBundle = `${tmp}/client.mjs`;
  await bundle(CLIENT_TS, clientBundle);
  await bundle(SERVER_TS, `${tmp}/echo_server.mjs`);
  const server = await startServer("bun", false, `${tmp}/echo_server.mjs`);
  const compress = Deno.args.includes("--compress");
  const args = [
    "--url",
    `ws://127.0.0.1:${compress ? server.info.deflatePort : server.info.port}/`,
    "--impl",
    option("--impl", "rom"),
    "--workload",
    option("--workload", "pipe"),
    "--size",
    option("--size", "1024"),
    Deno.args.includes("--text") ? "--text" : "--binary",
    "--window",
    option("--window", "100"),
    "--seconds",
    String(seconds),
    "--warmup",
    String(warmup),
    ...(compress ? ["--compress"] : []),
    ...(Deno.args.includes("--shape") ? ["--shape", option("--shape", "fixed")] : []),
  ];
  // Deno and Bun run the sources, so that profiles name real files and lines.
  let cmd = clientCommand(rt, rt.kind === "node" ? clientBundle : CLIENT_TS, false, args);
  const profDir = `${tmp}/prof`;
  await Deno.mkdir(profDir);
  let profile: CpuProfile;
  let stdout: string;
  if (rt.kind === "deno") {
    const port = 9229 + Math.floor(Math.random() * 500);
    cmd = [cmd[0], "run", "-A", `--inspect-wait=127.0.0.1:${port}`, ...cmd.slice(3)];
    const child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const output = child.output();
    // Profile the measured period only (the warm-up and the JIT's first passes excluded).
    profile = await profileDenoInspector(port, warmup * 1000 + 300, seconds * 1000 - 600);
    stdout = new TextDecoder().decode((await output).stdout);
  } else {
    // Node.js and Bun take the same flags.
    const flags = ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=200"];
    cmd = [cmd[0], ...flags, ...cmd.slice(1)];
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    stdout = new TextDecoder().decode(out.stdout);
    const files = [...Deno.readDirSync(profDir)].filter((f) => f.name.endsWith(".cpuprofile"));
    if (files.length === 0) throw new Error(`no profile written: ${stdout}`);
    profile = JSON.parse(await Deno.readTextFile(`${profDir}/${files[0].name}`));
  }
  await server.stop();
  const modules = bundleModules(await Deno.readTextFile(clientBundle));
  console.log(`${rt.name}: ${cmd.slice(0, 2).join(" ")} ... ${args.slice(2).join(" ")}`);
  console.log(stdout.trim().split("\n").at(-1));
  console.log(summarize(profile, modules, clientBundle, top));
  const save = option("--save", "");
  if (save) {
    await Deno.mkdir(save, { recursive: true });
    const path = `${save}/${rt.id}-${option("--impl", "rom")}-${
      option("--size", "1024")
    }.cpuprofile`;
    await Deno.writeTextFile(path, JSON.stringify(profile));
    console.log(`saved ${path}`);
  }
  await Deno.remove(tmp, { recursive: true });
}

if (import.meta.main) await main();
