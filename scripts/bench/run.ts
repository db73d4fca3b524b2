/**
 * Runs the side-by-side benchmark: this client against `ws`, each runtime's own `WebSocket` and a
 * raw TCP ceiling, on Node.js 20/22/24, Deno and Bun, through one shared echo server. Writes
 * `results/latest.json`, `results/latest.md` and `results/chart.svg` beside this file.
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/bench/run.ts [--quick] [--runs 5] [--server bun|ws]
 *   [--only WORD,...] [--pin] [--out DIR]
 * ```
 *
 * - `--quick`: a small subset, one run (CI smoke test, under 2 minutes).
 * - `--runs N`: repetitions of the whole matrix (default 5). Each sample is a fresh process with
 *   a hard timeout; the order of the clients is reversed on every other run, and ratios are
 *   taken within a run (ours ÷ peer), then summarized as median, min and max.
 * - `--server`: `bun` (default, `Bun.serve` on uWebSockets) or `ws` (the npm package on Node 22).
 * - `--only`: keep the workloads and clients whose ids contain one of the words (e.g.
 *   `pipe-bin-1k,node22`): a word that names a runtime or client filters those, the others filter
 *   workloads.
 * - `--pin`: pin the server to CPU 0 and the clients to CPU 1 (`taskset`).
 *
 * Samples where the echo server used more than 80% of a core are flagged in the report: there the
 * server, not the client, may be the limit.
 *
 * @module
 */

import {
  type BenchResults,
  type Impl,
  type Machine,
  type RuntimeId,
  type RuntimeInfo,
  type Sample,
  type WorkloadDef,
  writeReports,
} from "./report.ts";

const HERE = new URL(".", import.meta.url);
export const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
export const BIN = `${ROOT}/node_modules/.bin`;
export const CLIENT_TS = `${ROOT}/scripts/bench/client.ts`;
export const SERVER_TS = `${ROOT}/scripts/bench/echo_server.ts`;

// -------------------------------------------------------------------------------------------------
// Options.

/** Options of a benchmark run. */
export interface Options {
  quick: boolean;
  runs: number;
  server: "bun" | "ws";
  only: string[];
  pin: boolean;
  out: string;
}

function parseOptions(args: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const quick = args.includes("--quick");
  const server = value("--server") ?? "bun";
  if (server !== "bun" && server !== "ws") throw new Error("--server is bun or ws");
  return {
    quick,
    runs: Number(value("--runs") ?? (quick ? 1 : 5)),
    server,
    only: (value("--only") ?? "").split(",").filter((w) => w !== ""),
    pin: args.includes("--pin"),
    out: value("--out") ?? decodeURIComponent(new URL("results/", HERE).pathname),
  };
}

// -------------------------------------------------------------------------------------------------
// Runtimes and the commands that run a client on them.

/** A runtime of the matrix and how to run a client on it. */
export interface RuntimeDef {
  id: RuntimeId;
  name: string;
  kind: "node" | "deno" | "bun";
  exe: string;
  impls: Impl[];
}

/** The runtimes, in report order. */
export const RUNTIMES: RuntimeDef[] = [
  { id: "node20", name: "Node 20", kind: "node", exe: "node", impls: ["rom", "ws", "raw"] },
  {
    id: "node22",
    name: "Node 22",
    kind: "node",
    exe: `${ROOT}/node_modules/node22/bin/node`,
    impls: ["rom", "ws", "native", "raw"],
  },
  {
    id: "node24",
    name: "Node 24",
    kind: "node",
    exe: `${ROOT}/node_modules/node24/bin/node`,
    impls: ["rom", "ws", "native", "raw"],
  },
  { id: "deno", name: "Deno", kind: "deno", exe: `${BIN}/deno`, impls: ["rom", "native", "raw"] },
  {
    id: "bun",
    name: "Bun",
    kind: "bun",
    exe: `${BIN}/bun`,
    impls: ["rom", "ws", "native", "raw"],
  },
];

/**
 * The command line that runs the client `script` on `rt`: client.ts itself, or the bundle that
 * `run.ts` makes so that every sample of a run uses the same code even while src/ is edited.
 */
export function clientCommand(
  rt: RuntimeDef,
  script: string,
  gc: boolean,
  args: string[],
): string[] {
  switch (rt.kind) {
    case "node":
      return [rt.exe, ...(gc ? ["--expose-gc"] : []), script, ...args];
    case "deno":
      return [rt.exe, "run", "-A", ...(gc ? ["--v8-flags=--expose-gc"] : []), script, ...args];
    case "bun":
      return [rt.exe, script, ...args];
  }
}

/** Open files a client and the server may have: 10,000 connections need more than the usual 1,024. */
const FILE_LIMIT = 65_536;

/**
 * `cmd` run with the file limit raised (util-linux `prlimit`; as root the hard limit rises too),
 * or as it is where `prlimit` is missing or refused: the limit then stays the shell's.
 */
export function withFileLimit(cmd: string[]): string[] {
  return fileLimitWorks() ? ["prlimit", `--nofile=${FILE_LIMIT}:${FILE_LIMIT}`, "--", ...cmd] : cmd;
}

let prlimitWorks: boolean | undefined;
function fileLimitWorks(): boolean {
  if (prlimitWorks === undefined) {
    try {
      prlimitWorks = new Deno.Command("prlimit", {
        args: [`--nofile=${FILE_LIMIT}:${FILE_LIMIT}`, "--", "true"],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      prlimitWorks = false;
    }
  }
  return prlimitWorks;
}

// -------------------------------------------------------------------------------------------------
// The matrix.

const KiB = 1024;
const MiB = 1024 * 1024;

function sizeId(size: number): string {
  return size >= MiB ? `${size / MiB}m` : size >= KiB ? `${size / KiB}k` : `${size}`;
}

/** Measured seconds and warm-up per size: long enough for a dozen 16 MiB echoes. */
function timing(size: number, quick: boolean): { warmup: number; seconds: number } {
  if (quick) return { warmup: 0.15, seconds: 0.3 };
  if (size >= 16 * MiB) return { warmup: 0.4, seconds: 1 };
  if (size >= MiB) return { warmup: 0.25, seconds: 0.6 };
  if (size >= 64 * KiB) return { warmup: 0.2, seconds: 0.4 };
  return { warmup: 0.15, seconds: 0.35 };
}

function workloads(quick: boolean): WorkloadDef[] {
  const list: WorkloadDef[] = [];
  const sizes = quick ? [16, 64 * KiB] : [16, KiB, 64 * KiB, MiB, 16 * MiB];
  const echo = (kind: "pipe" | "pingpong", size: number, binary: boolean) => {
    const id = `${kind === "pipe" ? "pipe" : "ping"}-${binary ? "bin" : "text"}-${sizeId(size)}`;
    list.push({
      id,
      kind,
      size,
      binary,
      compress: false,
      // 100 in flight, 4 for 16 MiB messages (64 MiB in flight each way).
      window: kind === "pingpong" ? 1 : size >= 16 * MiB ? 4 : 100,
      ...timing(size, quick),
    });
  };
  for (const size of sizes) echo("pipe", size, true);
  for (const size of quick ? [16] : sizes) echo("pipe", size, false);
  // Round trips: binary up to 1 MiB (a 16 MiB round trip is the pipelined case with fewer in
  // flight), text for the smallest messages.
  for (const size of quick ? [16] : sizes) if (size <= MiB) echo("pingpong", size, true);
  if (!quick) echo("pingpong", 16, false);
  // Payloads and code as applications write them (a feed's JSON events, strings from repeat(),
  // `await send()` with `for await`, the TypeScript source as JSR users import it).
  const app = (id: string, extra: Partial<WorkloadDef>) =>
    list.push({
      id,
      kind: "pipe",
      size: KiB,
      binary: false,
      compress: false,
      window: 100,
      ...timing(KiB, quick),
      ...extra,
    });
  app("pipe-json-1k", { shape: "json" });
  if (!quick) {
    app("pipe-repeat-1k", { shape: "repeat" });
    app("pipe-json-1k-ts", { shape: "json", source: true });
    app("ping-iter-bin-1k", { kind: "pingpong", binary: true, window: 1, iterate: true });
  }
  // A feed: the server pushes 1 KiB JSON events and the client only receives and parses them,
  // plain and compressed (what an ARI or Slack consumer does all day). Measured after a second:
  // a feed runs for hours, and the first fraction of a second is JIT warm-up. Deno 2.9, events/s
  // ours / built-in: warm-up 0.15 s and 0.35 s measured 346k / 424k, 1 s and 2 s 386k / 380k.
  const feed = (id: string, compress: boolean) =>
    list.push({
      id,
      kind: "feed",
      size: KiB,
      binary: false,
      compress,
      window: 0,
      ...(quick ? timing(KiB, quick) : { warmup: 1, seconds: 1 }),
    });
  feed("feed-json-1k", false);
  if (!quick) feed("feed-deflate-json-1k", true);
  list.push({
    id: "deflate-text-1k",
    kind: "pipe",
    size: KiB,
    binary: false,
    compress: true,
    window: 100,
    // A longer warm-up than other 1 KiB workloads: the JavaScript inflater reaches full speed
    // on Bun only after about a second of traffic (JavaScriptCore's top tier), which a feed
    // passes in its first second. Bun 1.4, msgs/s (ours / built-in): warm-up 0.15 s and 0.35 s
    // measured 22k / 61k, 1 s and 1 s 56k / 67k, 2 s and 1 s 56k / 66k.
    ...(quick ? timing(KiB, quick) : { warmup: 1, seconds: 1 }),
  });
  if (!quick) {
    list.push({
      id: "deflate-recv-text-1k",
      kind: "pipe",
      size: KiB,
      binary: false,
      compress: true,
      sendPlain: true,
      window: 100,
      warmup: 1,
      seconds: 1,
    });
  }
  list.push({
    id: `idle-${quick ? 200 : 1000}`,
    kind: "idle",
    size: 0,
    binary: true,
    compress: false,
    window: 0,
    warmup: 0,
    seconds: 0,
    conns: quick ? 200 : 1000,
  });
  if (!quick) {
    // Scale: 10,000 open connections in one process (the file limit is raised for it); once per
    // full run (opening and closing them takes ~10-30 s per client).
    list.push({
      id: "idle-10000",
      kind: "idle",
      size: 0,
      binary: true,
      compress: false,
      window: 0,
      warmup: 0,
      seconds: 0,
      conns: 10_000,
      runs: 1,
    });
  }
  return list;
}

/** The clients that take part in a workload. */
function participants(w: WorkloadDef, rt: RuntimeDef): Impl[] {
  return rt.impls.filter((impl) => {
    if (impl === "raw") return w.kind !== "idle" && w.binary && !w.compress && !w.iterate;
    // Node 20 cannot import TypeScript.
    if (w.source && rt.kind === "node") return false;
    // Deno's WebSocket has no permessage-deflate.
    if (w.compress && impl === "native" && rt.kind === "deno") return false;
    return true;
  });
}

// -------------------------------------------------------------------------------------------------
// Processes.

async function output(cmd: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Bundles a script (and the sources it imports) into one ES module for every runtime. With
 * `external`, `ws` stays an import resolved at run time (Bun then maps the bare "ws" to its own
 * shim, as for any user; client.ts loads the npm package by path there); without, `ws` is bundled
 * and its optional native add-ons left out.
 */
export async function bundle(entry: string, outfile: string, external = false): Promise<void> {
  await output([
    `${BIN}/esbuild`,
    entry,
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    `--outfile=${outfile}`,
    ...(external ? ["--external:ws"] : []),
    "--external:bufferutil",
    "--external:utf-8-validate",
    "--log-level=warning",
    // ws is CommonJS: give the ESM bundle a real `require` for Node's built-in modules.
    "--banner:js=import { createRequire as __cr } from 'node:module'; " +
    "const require = __cr(import.meta.url);",
  ]);
}

/** The running echo server. */
export interface Server {
  info: { impl: string; runtime: string; pid: number; port: number; deflatePort: number };
  process: Deno.ChildProcess;
  cpuSeconds(): number;
  stats(): Promise<{ dropped: number; messages: number }>;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) used so far by process `pid`. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Starts echo_server.ts and waits for its ready line. */
export async function startServer(
  kind: "bun" | "ws",
  pin: boolean,
  serverBundle: string,
): Promise<Server> {
  let cmd = kind === "bun"
    ? [`${BIN}/bun`, SERVER_TS]
    : [`${ROOT}/node_modules/node22/bin/node`, serverBundle];
  if (pin) cmd = ["taskset", "-c", "0", ...cmd];
  cmd = withFileLimit(cmd);
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  while (!text.includes("\n")) {
    if (Date.now() > deadline) throw new Error("echo server did not start");
    const { value, done } = await reader.read();
    if (done) throw new Error(`echo server exited: ${text}`);
    text += value;
  }
  // Keep draining stdout so that the server never blocks on it.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  const info = JSON.parse(text.slice(0, text.indexOf("\n")));
  return {
    info,
    process: child,
    cpuSeconds: () => procCpuSeconds(info.pid),
    async stats() {
      const r = await fetch(`http://127.0.0.1:${info.port}/stats`);
      return await r.json();
    },
    async stop() {
      try {
        await child.stdin.close();
      } catch { /* already closed */ }
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await child.status;
      clearTimeout(timer);
    },
  };
}

// -------------------------------------------------------------------------------------------------
// One sample.

interface Context {
  options: Options;
  server: Server;
  clientBundle: string;
  /** mod.ts of the snapshot of the TypeScript source (the `source` workloads). */
  sourceModule: string;
}

async function runSample(
  ctx: Context,
  rt: RuntimeDef,
  impl: Impl,
  w: WorkloadDef,
  run: number,
): Promise<Sample> {
  const port = w.compress ? ctx.server.info.deflatePort : ctx.server.info.port;
  const args = [
    "--url",
    `ws://127.0.0.1:${port}/`,
    "--impl",
    impl,
    "--workload",
    w.kind,
    "--size",
    String(Math.max(16, w.size)),
    w.binary ? "--binary" : "--text",
    "--window",
    String(Math.max(1, w.window)),
    "--seconds",
    String(w.seconds),
    "--warmup",
    String(w.warmup),
    "--conns",
    String(w.conns ?? 0),
    ...(w.compress ? ["--compress"] : []),
    ...(w.sendPlain ? ["--send-plain"] : []),
    ...(w.shape ? ["--shape", w.shape] : []),
    ...(w.iterate && impl === "rom" ? ["--iterate"] : []),
    ...(w.source && impl === "rom" ? ["--rom-module", ctx.sourceModule] : []),
  ];
  let cmd = clientCommand(rt, ctx.clientBundle, w.kind === "idle", args);
  if (ctx.options.pin) cmd = ["taskset", "-c", "1", ...cmd];
  cmd = withFileLimit(cmd);
  const timeout = (w.kind === "idle" ? 90 : w.warmup + w.seconds + 40) * 1000;
  const cpu0 = ctx.server.cpuSeconds();
  const t0 = performance.now();
  const sample: Sample = { run, runtime: rt.id, impl, workload: w.id, ok: false };
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeout),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").reverse().find((l) => l.startsWith("{"));
    const result = line ? JSON.parse(line) : undefined;
    if (result?.ok) {
      sample.ok = true;
      // Keep the measurements; what the sample already says (client, workload) is dropped.
      const { ok: _ok, impl: _impl, workload: _w, size: _s, binary: _b, window: _win, ...rest } =
        result;
      const { compress: _c, runtime: _rt, ...measured } = rest;
      sample.result = measured;
    } else {
      const stderr = new TextDecoder().decode(out.stderr).trim();
      sample.error = result?.error ??
        (out.signal ? `killed (${out.signal}) after ${timeout / 1000} s` : "") +
          ` exit ${out.code}: ${stderr.slice(-600)}`;
    }
  } catch (error) {
    sample.error = String(error);
  }
  sample.wall = (performance.now() - t0) / 1000;
  const cpu = ctx.server.cpuSeconds() - cpu0;
  const busy = Number(sample.result?.elapsed ?? sample.wall);
  sample.serverCpu = cpu / busy;
  try {
    sample.serverDropped = (await ctx.server.stats()).dropped;
  } catch {
    sample.serverDropped = -1;
  }
  return sample;
}

function describe(s: Sample): string {
  if (!s.ok) return `FAILED ${s.error?.split("\n")[0]}`;
  const r = s.result!;
  const n = (x: unknown, digits = 0) =>
    Number(x).toLocaleString("en-US", { maximumFractionDigits: digits });
  const server = `server ${Math.round((s.serverCpu ?? 0) * 100)}%`;
  if (s.workload.startsWith("idle")) {
    return `heap ${n(r.heapPerConn)} B/conn, rss ${n(r.rssPerConn)} B/conn`;
  }
  const lat = r.p50Us !== undefined ? `, p50 ${n(r.p50Us, 1)} µs, p99 ${n(r.p99Us, 1)} µs` : "";
  return `${n(r.msgsPerSec)} msg/s, ${n(r.mbPerSec, 1)} MB/s${lat}, cpu ${
    n(Number(r.cpu) * 100)
  }%, ${server}`;
}

// -------------------------------------------------------------------------------------------------
// Machine description.

/**
 * The commit and the count of uncommitted source files when the client was bundled: read then,
 * not when the report is written, since commits made during a run do not reach its bundle.
 */
async function sourceState(): Promise<{ commit: string; dirty: number }> {
  try {
    const commit = await output(["git", "rev-parse", "--short", "HEAD"]);
    const dirty = (await output(["git", "status", "--porcelain", "src", "mod.ts"]))
      .split("\n").filter((l) => l !== "").length;
    return { commit, dirty };
  } catch {
    return { commit: "", dirty: 0 }; // not a git checkout
  }
}

async function machine(
  serverInfo: Server["info"],
  clientBundle: string,
  source: { commit: string; dirty: number },
): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const cores = cpuinfo.split("\n").filter((l) => l.startsWith("processor")).length;
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0);
  const ws = JSON.parse(await Deno.readTextFile(`${ROOT}/node_modules/ws/package.json`)).version;
  const { commit, dirty } = source;
  return {
    cpu: model,
    cores,
    memoryGiB: Math.round(memKb / 1024 / 1024 * 10) / 10,
    kernel: Deno.osRelease(),
    loadAverage: Deno.loadavg(),
    server: `${
      serverInfo.impl === "bun" ? "Bun.serve (uWebSockets)" : "ws"
    } on ${serverInfo.runtime}`,
    ws,
    commit,
    uncommittedSourceFiles: dirty,
    clientDigest: Array.from(
      new Uint8Array(
        await crypto.subtle.digest("SHA-256", await Deno.readFile(clientBundle)),
      ).subarray(0, 6),
      (b) => b.toString(16).padStart(2, "0"),
    ).join(""),
  };
}

async function runtimeInfo(rt: RuntimeDef): Promise<RuntimeInfo> {
  const version = rt.kind === "deno"
    ? (await output([rt.exe, "--version"])).split("\n")[0].split(" ").slice(0, 2).join(" ")
    : `${rt.kind} ${(await output([rt.exe, "--version"])).replace(/^v/, "")}`;
  return { id: rt.id, name: rt.name, version, impls: rt.impls };
}

// -------------------------------------------------------------------------------------------------

function matches(only: string[], ...ids: string[]): boolean {
  return only.length === 0 || only.some((word) => ids.some((id) => id.includes(word)));
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const started = performance.now();
  // One snapshot of the client for the whole run, on every runtime (others may be editing src/).
  // It lives two levels below the root, like client.ts, so that its relative path to
  // node_modules/ws (used on Bun) is the same.
  const tmp = `${ROOT}/.build/bench-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  const clientBundle = `${tmp}/client.mjs`;
  const serverBundle = `${tmp}/echo_server.mjs`;
  const source = await sourceState();
  await bundle(CLIENT_TS, clientBundle, true);
  await bundle(SERVER_TS, serverBundle);
  // The TypeScript source, copied once for the same reason.
  await output(["cp", "-r", `${ROOT}/mod.ts`, `${ROOT}/src`, tmp]);
  const sourceModule = `${tmp}/mod.ts`;
  const server = await startServer(options.server, options.pin, serverBundle);
  const ctx: Context = { options, server, clientBundle, sourceModule };
  const runtimeWords = RUNTIMES.map((r) => r.id) as string[];
  const implWords = ["rom", "ws", "native", "raw"];
  const clientFilter = options.only.filter((w) =>
    runtimeWords.some((r) => r.includes(w)) || implWords.includes(w)
  );
  const workloadFilter = options.only.filter((w) => !clientFilter.includes(w));
  const list = workloads(options.quick).filter((w) => matches(workloadFilter, w.id));
  const runtimes = RUNTIMES.filter((rt) =>
    clientFilter.filter((w) => runtimeWords.some((r) => r.includes(w))).length === 0 ||
    clientFilter.some((w) => rt.id.includes(w))
  );
  const implFilter = clientFilter.filter((w) => implWords.includes(w));
  const plan: Array<{ w: WorkloadDef; configs: Array<[RuntimeDef, Impl]> }> = list.map((w) => ({
    w,
    configs: runtimes.flatMap((rt) =>
      participants(w, rt)
        .filter((impl) => implFilter.length === 0 || implFilter.includes(impl))
        .map((impl) => [rt, impl] as [RuntimeDef, Impl])
    ),
  }));
  const total = plan.reduce(
    (n, p) => n + p.configs.length * Math.min(options.runs, p.w.runs ?? options.runs),
    0,
  );
  console.error(
    `echo server: ${server.info.impl} (pid ${server.info.pid}), ${list.length} workloads, ` +
      `${total} samples in ${options.runs} run(s)`,
  );

  // Warm caches (Deno's transpiler, the OS page cache) and check that every client works.
  for (const rt of options.quick ? [] : runtimes) {
    for (const impl of rt.impls) {
      const w: WorkloadDef = {
        id: "preflight",
        kind: "pipe",
        size: KiB,
        binary: true,
        compress: false,
        window: 10,
        warmup: 0.05,
        seconds: 0.1,
      };
      const s = await runSample(ctx, rt, impl, w, -1);
      if (!s.ok) console.error(`preflight ${rt.id}/${impl}: ${describe(s)}`);
    }
  }

  const samples: Sample[] = [];
  let done = 0;
  for (let run = 0; run < options.runs; run++) {
    for (const { w, configs } of plan) {
      // Alternate the order of the clients between runs (drift in load or temperature then
      // favours no one).
      if (w.runs !== undefined && run >= w.runs) continue;
      const ordered = run % 2 === 0 ? configs : [...configs].reverse();
      for (const [rt, impl] of ordered) {
        const s = await runSample(ctx, rt, impl, w, run);
        samples.push(s);
        done++;
        const elapsed = (performance.now() - started) / 1000;
        const eta = (elapsed / done) * (total - done);
        console.error(
          `[${done}/${total} run ${run + 1} eta ${Math.round(eta)}s] ${w.id} ${rt.id}/${impl}: ` +
            describe(s),
        );
      }
    }
  }

  const results: BenchResults = {
    version: 1,
    date: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 1000),
    options: { quick: options.quick, runs: options.runs, pin: options.pin, only: options.only },
    machine: await machine(server.info, clientBundle, source),
    runtimes: await Promise.all(runtimes.map(runtimeInfo)),
    workloads: list,
    samples,
  };
  await server.stop();
  await Deno.remove(tmp, { recursive: true });
  await Deno.mkdir(options.out, { recursive: true });
  const name = options.quick ? "quick" : "latest";
  const written = await writeReports(results, options.out, name);
  const failed = samples.filter((s) => !s.ok).length;
  console.error(
    `done in ${results.durationSeconds} s: ${samples.length} samples, ${failed} failed; ` +
      `wrote ${written.join(", ")}`,
  );
  if (failed > 0) Deno.exitCode = 1;
}

if (import.meta.main) await main();
