/**
 * Autobahn Testsuite runner: tests rom-websocket on each runtime (and `ws` as a reference) against
 * `wstest -m fuzzingserver` and prints one table of verdicts per runtime and section.
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/conformance/run.ts [options]
 * ```
 *
 * Options:
 * - `--runtimes deno,bun,node,ws`  agents to run (default: all four; `ws` is the reference)
 * - `--full[=RUNTIMES]`            lift the default exclusion of sections 12/13 (compression) for
 *                                  every runtime, or only for the listed ones; those runtimes'
 *                                  agents also offer permessage-deflate
 * - `--exclude PATTERNS`           more case patterns to skip, e.g. `9.*` (comma-separated)
 * - `--cases PATTERNS`             run only these case patterns, e.g. `1.*,6.4.*` (default `*`)
 * - `--jobs N`                     agents run at once, each with its own fuzzing server (default 4)
 * - `--timeout MIN`                kill an agent that runs longer (default 60)
 * - `--update-expected`            write conformance/expected/<runtime>.json from this run
 * - `--timings`                    also print the summed case durations per section
 * - `--chop`                       run every agent through a hostile TCP proxy that cuts each
 *                                  direction into 1-byte writes (the first 128 KiB of each
 *                                  connection and direction; after that, random 1-4096-byte
 *                                  pieces: 1-byte writes of 9.x's 16 MiB messages would take hours)
 *                                  with random 0-2 ms pauses after 1 write in 256; results go to
 *                                  .cache/conformance-chopped/ and are compared with the same
 *                                  expected files as a direct run
 *
 * Exit status: non-zero when a case of one of our runtimes is not OK (INFORMATIONAL excepted),
 * differs from conformance/expected/<runtime>.json (behavior and behaviorClose; durations are
 * ignored), has no result, or when a runtime has no expected file. The reference agent `ws` is
 * reported but never fails the run. The last line of stdout is `conformance: N passed, M failed`
 * over our runtimes' cases. Reports (HTML and JSON) and logs stay in .cache/conformance/<runtime>/.
 *
 * @module
 */

import { delay } from "../../tests/_util/async.ts";
import { freePort } from "../../tests/_util/ports.ts";

// ---------------------------------------------------------------------------------------------
// Constants

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
let WORK = `${ROOT}/.cache/conformance`;
const WSTEST = `${ROOT}/.cache/autobahn/bin/wstest`;

/** Sections of the suite, in order, with the names the table shows. */
const SECTIONS: ReadonlyArray<readonly [string, string]> = [
  ["1", "Framing"],
  ["2", "Pings/Pongs"],
  ["3", "Reserved bits"],
  ["4", "Opcodes"],
  ["5", "Fragmentation"],
  ["6", "UTF-8 handling"],
  ["7", "Close handling"],
  ["9", "Limits/performance"],
  ["10", "Misc"],
  ["12", "permessage-deflate"],
  ["13", "permessage-deflate params"],
];

/**
 * Excluded unless `--full`: the permessage-deflate sections (216 of 517 cases) take about 95% of a
 * full run, 13-15 minutes per runtime on two cores, so CI runs them for one runtime only
 * (`--full=bun`). Empty this list to run them everywhere by default. (First excluded because the
 * client had no compression; it has since, and passes them.)
 */
const DEFAULT_EXCLUDE = ["12.*", "13.*"];
const DEFAULT_EXCLUDE_REASON =
  "permessage-deflate, 216 cases, ~15 min per runtime; --full[=RUNTIMES] runs them";

/** The verdict columns, in table order. FAILED is everything else Autobahn can say. */
const VERDICTS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"] as const;
type Verdict = typeof VERDICTS[number];

/** The verdicts that count as passed. */
const PASSING: ReadonlySet<Verdict> = new Set(["OK", "INFORMATIONAL"]);

// ---------------------------------------------------------------------------------------------
// Agents

interface Runtime {
  /** Short name: column header and expected-file name. */
  name: string;
  /** Agent name reported to the fuzzing server. */
  agent: string;
  /** Whether the runtime's results decide the exit status (false for the reference `ws`). */
  gating: boolean;
  /** The command line, without `--url`/`--agent`/`--compression`. */
  command: string[];
  /** Whether the driver accepts `--compression on|off`. */
  compressionFlag: boolean;
}

const NODE = Deno.env.get("NODE") ?? "node";
const BUN = Deno.env.get("BUN") ?? `${ROOT}/node_modules/.bin/bun`;
const ESBUILD = `${ROOT}/node_modules/.bin/esbuild`;
const NODE_BUNDLE = `${ROOT}/.build/conformance/client.mjs`;

const RUNTIMES: Record<string, Runtime> = {
  deno: {
    name: "deno",
    agent: "rom-websocket-deno",
    gating: true,
    command: [Deno.execPath(), "run", "-A", `${ROOT}/conformance/client.ts`],
    compressionFlag: true,
  },
  bun: {
    name: "bun",
    agent: "rom-websocket-bun",
    gating: true,
    command: [BUN, `${ROOT}/conformance/client.ts`],
    compressionFlag: true,
  },
  node: {
    name: "node",
    agent: "rom-websocket-node",
    gating: true,
    command: [NODE, NODE_BUNDLE],
    compressionFlag: true,
  },
  ws: {
    name: "ws",
    agent: "ws",
    gating: false,
    command: [NODE, `${ROOT}/conformance/ws_client.mjs`],
    compressionFlag: false,
  },
};

// ---------------------------------------------------------------------------------------------
// Arguments

interface Options {
  runtimes: Runtime[];
  /** Runtimes for which sections 12/13 are not excluded. */
  full: Set<string>;
  exclude: string[];
  cases: string[];
  jobs: number;
  timeoutMinutes: number;
  updateExpected: boolean;
  timings: boolean;
  /** Share sections 12/13 among our runtimes not in `full` (each case runs on one of them). */
  splitCompression: boolean;
  /** Through the chopping proxy (`--chop`). */
  chop: boolean;
}

function usage(message: string): never {
  console.error(`run.ts: ${message}`);
  console.error(
    "usage: run.ts [--runtimes deno,bun,node,ws] [--full[=RUNTIMES]] [--exclude PATTERNS]\n" +
      "              [--cases PATTERNS] [--jobs N] [--timeout MIN] [--update-expected] [--timings]\n" +
      "              [--split-compression]",
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): Options {
  const list = (value: string | undefined, flag: string) => {
    if (value === undefined || value.startsWith("--")) usage(`${flag} needs a value`);
    return value.split(",").map((s) => s.trim()).filter(Boolean);
  };
  let runtimeNames = ["deno", "bun", "node", "ws"];
  let full: string[] = [];
  const options: Omit<Options, "runtimes" | "full"> = {
    exclude: [],
    cases: ["*"],
    jobs: 4,
    timeoutMinutes: 60,
    updateExpected: false,
    timings: false,
    splitCompression: false,
    chop: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "--runtimes":
        runtimeNames = list(value(), flag);
        break;
      case "--full":
        full = inline === undefined ? ["*"] : list(inline, flag);
        break;
      case "--exclude":
        options.exclude.push(...list(value(), flag));
        break;
      case "--cases":
        options.cases = list(value(), flag);
        break;
      case "--jobs":
        options.jobs = Math.max(1, Number(value()) || 1);
        break;
      case "--timeout":
        options.timeoutMinutes = Number(value()) || options.timeoutMinutes;
        break;
      case "--update-expected":
        options.updateExpected = true;
        break;
      case "--timings":
        options.timings = true;
        break;
      case "--split-compression":
        options.splitCompression = true;
        break;
      case "--chop":
        options.chop = true;
        break;
      default:
        usage(`unknown argument ${args[i]}`);
    }
  }
  const runtimes = runtimeNames.map((name) => RUNTIMES[name] ?? usage(`unknown runtime ${name}`));
  for (const name of full) if (name !== "*" && !RUNTIMES[name]) usage(`unknown runtime ${name}`);
  return {
    ...options,
    runtimes,
    full: new Set(full.includes("*") ? runtimeNames : full),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Every child still running, so that Ctrl+C can stop them. */
const children = new Set<Deno.ChildProcess>();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  });
}

interface Spawned {
  child: Deno.ChildProcess;
  status: Promise<Deno.CommandStatus>;
  /** The last non-empty line the process printed on stdout. */
  lastLine(): string;
}

/** Starts `command` with stdout and stderr written to the file `log`. */
function spawnLogged(command: string[], cwd: string, log: string): Spawned {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  children.add(child);
  const file = Deno.openSync(log, { write: true, create: true, truncate: true });
  let last = "";
  const decoder = new TextDecoder();
  const copy = async (stream: ReadableStream<Uint8Array>, track: boolean) => {
    for await (const chunk of stream) {
      await file.write(chunk);
      if (track) {
        const lines = decoder.decode(chunk, { stream: true }).split("\n").filter(Boolean);
        if (lines.length > 0) last = lines[lines.length - 1];
      }
    }
  };
  const copied = Promise.all([copy(child.stdout, true), copy(child.stderr, false)]);
  const status = (async () => {
    const [result] = await Promise.all([child.status, copied]);
    file.close();
    children.delete(child);
    return result;
  })();
  return { child, status, lastLine: () => last };
}

/** Runs a command to completion and returns its stdout (throws when it fails). */
async function output(command: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: ROOT,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (!success) {
    throw new Error(`${command.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Fuzzing server queries (with the runtime's own WebSocket)

/**
 * Opens `url`, collects the text messages until the server closes, and resolves with them.
 * Rejects when the connection fails or takes longer than `timeout` ms.
 */
function query(url: string, timeout = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`${url}: no answer in ${timeout} ms`));
    }, timeout);
    ws.onmessage = (event) => messages.push(String(event.data));
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`${url}: connection failed`));
    };
    ws.onclose = () => {
      clearTimeout(timer);
      resolve(messages);
    };
  });
}

/** Waits until the fuzzing server answers /getCaseCount and returns the count. */
async function waitForServer(base: string, server: Spawned, log: string): Promise<number> {
  let exited = false;
  server.status.then(() => exited = true);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && !exited;) {
    try {
      const [count] = await query(`${base}/getCaseCount`, 5_000);
      if (Number(count) > 0) return Number(count);
    } catch {
      await delay(200);
    }
  }
  throw new Error(`fuzzing server did not start (see ${log})`);
}

// ---------------------------------------------------------------------------------------------
// Results

interface CaseResult {
  behavior: string;
  behaviorClose: string;
  duration?: number;
}

type Results = Record<string, CaseResult>;

/** The result recorded for a case the agent never finished. */
const NO_RESULT: CaseResult = { behavior: "NO RESULT", behaviorClose: "NO RESULT" };

interface AgentRun {
  runtime: Runtime;
  results: Results;
  /** Case count the server announced; results may hold fewer when the agent crashed. */
  count: number;
  excluded: string[];
  wallSeconds: number;
  exitCode: number;
  dir: string;
  wstestVersion?: string;
  /** Set when the run could not be done (the server did not start, ...). */
  error?: string;
}

/** One verdict for a case from both columns: the worse of `behavior` and `behaviorClose`. */
function verdictOf(result: CaseResult): Verdict {
  const both = [result.behavior, result.behaviorClose];
  const known = new Set<string>(["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"]);
  if (both.some((b) => !known.has(b))) return "FAILED";
  for (const verdict of ["UNIMPLEMENTED", "NON-STRICT", "INFORMATIONAL"] as const) {
    if (both.includes(verdict)) return verdict;
  }
  return "OK";
}

/** Case ids in suite order: "9.10.1" after "9.2.1". */
function compareIds(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

const sectionOf = (id: string) => id.split(".")[0];

// ---------------------------------------------------------------------------------------------
// Sharing sections 12/13 (--split-compression)

/**
 * With `--split-compression`, the 216 permessage-deflate cases are dealt round-robin to our
 * runtimes that do not run everything (`--full`): each case runs once, on one runtime, and every
 * runtime's compression path (its `node:zlib`, the shared inflater) is exercised, in a third of
 * the time. The case list comes from the committed `ws` baseline (all 517 ids).
 */
async function compressionShare(
  runtime: Runtime,
  options: Options,
): Promise<{ mine: string[]; others: string[] } | undefined> {
  if (!options.splitCompression || !runtime.compressionFlag || options.full.has(runtime.name)) {
    return undefined;
  }
  const sharing = options.runtimes.filter((r) => r.compressionFlag && !options.full.has(r.name));
  const index = sharing.findIndex((r) => r.name === runtime.name);
  const catalogue = JSON.parse(await Deno.readTextFile(`${ROOT}/conformance/expected/ws.json`));
  const ids = Object.keys(catalogue)
    .filter((id) => id.startsWith("12.") || id.startsWith("13."))
    .sort((a, b) => {
      const x = a.split(".").map(Number);
      const y = b.split(".").map(Number);
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      }
      return 0;
    });
  const mine = ids.filter((_, i) => i % sharing.length === index);
  const set = new Set(mine);
  return { mine, others: ids.filter((id) => !set.has(id)) };
}

// ---------------------------------------------------------------------------------------------
// One agent against its own fuzzing server

async function runAgent(runtime: Runtime, options: Options): Promise<AgentRun> {
  const dir = `${WORK}/${runtime.name}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });

  // The fuzzing server's spec: the committed template with this run's port, folder and cases.
  const share = await compressionShare(runtime, options);
  const full = options.full.has(runtime.name) || share !== undefined;
  const template = JSON.parse(await Deno.readTextFile(`${ROOT}/conformance/fuzzingserver.json`));
  const port = await freePort();
  const base = `ws://127.0.0.1:${port}`;
  const excluded = [
    ...(share ? share.others : full ? [] : DEFAULT_EXCLUDE),
    ...options.exclude,
  ];
  const spec = {
    ...template,
    url: base,
    outdir: `${dir}/reports/clients`,
    cases: options.cases,
    "exclude-cases": [...(template["exclude-cases"] ?? []), ...excluded],
  };
  await Deno.writeTextFile(`${dir}/fuzzingserver.json`, JSON.stringify(spec, null, 2) + "\n");

  // -u 0: no web page server (it would take port 8080 for every server).
  const serverLog = `${dir}/wstest.log`;
  const server = spawnLogged(
    [WSTEST, "-m", "fuzzingserver", "-s", "fuzzingserver.json", "-u", "0"],
    dir,
    serverLog,
  );
  const started = Date.now();
  let count = 0;
  let agentStatus: Deno.CommandStatus | undefined;
  let results: Results = {};
  let proxy: ChopProxy | undefined;
  try {
    count = await waitForServer(base, server, serverLog);
    console.log(`[${runtime.name}] ${count} cases on ${base} (log: ${dir}/agent.log)`);

    proxy = options.chop ? startChopProxy(port) : undefined;
    const agentBase = proxy ? `ws://127.0.0.1:${proxy.port}` : base;
    const command = [...runtime.command, "--url", agentBase, "--agent", runtime.agent];
    if (runtime.compressionFlag) command.push("--compression", full ? "on" : "off");
    const agent = spawnLogged(command, ROOT, `${dir}/agent.log`);
    const heartbeat = setInterval(() => {
      const minutes = ((Date.now() - started) / 60_000).toFixed(0);
      console.log(`[${runtime.name}] ${minutes} min: ${agent.lastLine()}`);
    }, 60_000);
    const killer = setTimeout(() => {
      console.log(`[${runtime.name}] timed out after ${options.timeoutMinutes} min; killed`);
      agent.child.kill("SIGKILL");
    }, options.timeoutMinutes * 60_000);
    agentStatus = await agent.status;
    clearInterval(heartbeat);
    clearTimeout(killer);

    // The agent asks for the reports at its end; if it died before, ask for them here.
    const indexFile = `${dir}/reports/clients/index.json`;
    const read = async (): Promise<Results> => {
      try {
        return JSON.parse(await Deno.readTextFile(indexFile))[runtime.agent] ?? {};
      } catch {
        return {};
      }
    };
    results = await read();
    if (Object.keys(results).length < count) {
      await query(`${base}/updateReports?agent=${runtime.agent}`, 600_000).catch(() => {});
      results = await read();
    }
    // Name the cases without a result (only then is it worth asking the server for each id).
    if (Object.keys(results).length < count) {
      for (let i = 1; i <= count; i++) {
        const [info] = await query(`${base}/getCaseInfo?case=${i}`).catch(() => [] as string[]);
        const id = info ? JSON.parse(info).id : `#${i}`;
        results[id] ??= { ...NO_RESULT };
      }
    }
  } finally {
    proxy?.close();
    try {
      server.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await server.status;
  }
  const wstestLog = await Deno.readTextFile(serverLog).catch(() => "");
  return {
    runtime,
    results,
    count,
    excluded,
    wallSeconds: (Date.now() - started) / 1000,
    exitCode: agentStatus?.code ?? -1,
    dir,
    wstestVersion: wstestLog.match(/Autobahn WebSocket (\S+) Fuzzing Server/)?.[1]
      ?.replace("/", " (autobahn ") + ")",
  };
}

// ---------------------------------------------------------------------------------------------
// The chopping proxy (--chop)

/** Bytes of each connection and direction relayed one byte per write. */
const CHOP_WHOLE = 128 * 1024;

/**
 * One write in this many is followed by a random 0-2 ms pause. With one in 32, 1-byte writes ran
 * at about 13 KB/s (64 KB/s with one in 256), and the ten cases with 64 KiB messages (1.1.8,
 * 1.2.6-1.2.8, 9.1.2, 9.2.1-9.2.4, 10.1.1) outlasted the fuzzing server's 10 s per case on every
 * runtime.
 */
const PAUSE_EVERY = 256;

interface ChopProxy {
  port: number;
  close(): void;
}

/** A TCP proxy to 127.0.0.1:`target` that relays in 1-byte writes with small random pauses. */
function startChopProxy(target: number): ChopProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let state = 0x9e3779b9;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const closeBoth = (a: Deno.Conn, b: Deno.Conn) => {
    for (const c of [a, b]) {
      try {
        c.close();
      } catch { /* closed */ }
      conns.delete(c);
    }
  };
  (async () => {
    for await (const client of listener) {
      conns.add(client);
      Deno.connect({ hostname: "127.0.0.1", port: target }).then((server) => {
        conns.add(server);
        client.setNoDelay(true);
        server.setNoDelay(true);
        // The fuzzing server checks that the Host header names its own port.
        const host = (head: string) =>
          head.replace(/\r\nHost: 127\.0\.0\.1:\d+\r\n/i, `\r\nHost: 127.0.0.1:${target}\r\n`);
        Promise.all([chopPump(client, server, random, host), chopPump(server, client, random)])
          .catch(() => {})
          .finally(() => closeBoth(client, server));
      }, () => closeBoth(client, client));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of [...conns]) closeBoth(c, c);
    },
  };
}

/** Relays `from` to `to` in chopped writes; half-closes `to` at the end of `from`. */
async function chopPump(
  from: Deno.Conn,
  to: Deno.Conn,
  random: () => number,
  rewriteHead?: (head: string) => string,
): Promise<void> {
  const buffer = new Uint8Array(65536);
  let relayed = 0;
  let head = rewriteHead ? "" : undefined;
  for (;;) {
    const read = await from.read(buffer);
    if (read === null) break;
    let bytes = buffer.subarray(0, read);
    if (head !== undefined) {
      // Gather the request head (ASCII), rewrite it, then relay it chopped like the rest.
      head += String.fromCharCode(...bytes);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) continue;
      bytes = Uint8Array.from(rewriteHead!(head), (c) => c.charCodeAt(0));
      head = undefined;
    }
    const n = bytes.length;
    for (let at = 0; at < n;) {
      const size = relayed < CHOP_WHOLE ? 1 : 1 + Math.floor(random() * 4096);
      const end = Math.min(n, at + size);
      for (let w = at; w < end;) w += await to.write(bytes.subarray(w, end));
      relayed += end - at;
      at = end;
      if (random() < 1 / PAUSE_EVERY) {
        await new Promise((resolve) => setTimeout(resolve, random() * 2));
      }
    }
  }
  await to.closeWrite().catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// Expected results (conformance/expected/<runtime>.json)

type Expected = Record<string, { behavior: string; behaviorClose: string }>;

const expectedFile = (runtime: Runtime) => `${ROOT}/conformance/expected/${runtime.name}.json`;

async function readExpected(runtime: Runtime): Promise<Expected | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(expectedFile(runtime)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Writes this run's verdicts over the committed ones. Cases this run did not select (excluded
 * sections, --cases) keep their old entry. One case per line, in suite order, for short diffs.
 */
async function writeExpected(run: AgentRun, old: Expected | undefined): Promise<void> {
  const merged: Expected = { ...old };
  for (const [id, r] of Object.entries(run.results)) {
    // A case without a result (agent crashed or timed out) is no baseline.
    if (r.behavior === NO_RESULT.behavior) continue;
    merged[id] = { behavior: r.behavior, behaviorClose: r.behaviorClose };
  }
  const q = JSON.stringify;
  const lines = Object.keys(merged).sort(compareIds).map((id) => {
    const { behavior, behaviorClose } = merged[id];
    return `  ${q(id)}: { "behavior": ${q(behavior)}, "behaviorClose": ${q(behaviorClose)} }`;
  });
  await Deno.mkdir(`${ROOT}/conformance/expected`, { recursive: true });
  await Deno.writeTextFile(expectedFile(run.runtime), `{\n${lines.join(",\n")}\n}\n`);
}

/** Cases whose behavior or behaviorClose differ from the expected file, as printable lines. */
function diffExpected(run: AgentRun, expected: Expected): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, r] of Object.entries(run.results)) {
    const e = expected[id];
    const got = `${r.behavior} / ${r.behaviorClose}`;
    if (!e) out.set(id, `not in expected file, got ${got}`);
    else if (e.behavior !== r.behavior || e.behaviorClose !== r.behaviorClose) {
      out.set(id, `expected ${e.behavior} / ${e.behaviorClose}, got ${got}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Table

/** Renders rows as a Markdown table with padded columns (readable as plain text too). */
function markdownTable(header: string[], rows: string[][], align: ("l" | "r")[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const pad = (cell: string, i: number) =>
    align[i] === "r" ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `|${
    widths.map((w, i) => align[i] === "r" ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`).join(
      "|",
    )
  }|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

function sumDuration(results: Results, filter: (id: string) => boolean): number {
  return Object.entries(results).reduce(
    (sum, [id, r]) => sum + (filter(id) ? r.duration ?? 0 : 0),
    0,
  );
}

/**
 * The table: one row per section, one column per runtime; a cell counts the cases per verdict as
 * OK/NON-STRICT/INFORMATIONAL/UNIMPLEMENTED/FAILED. Then totals and durations.
 */
function resultsTable(runs: AgentRun[]): string {
  const header = ["Section", "Cases", ...runs.map((r) => r.runtime.name)];
  const rows: string[][] = [];
  const cell = (results: [string, CaseResult][]) => {
    const counts = new Map<Verdict, number>(VERDICTS.map((v) => [v, 0]));
    for (const [, r] of results) counts.set(verdictOf(r), counts.get(verdictOf(r))! + 1);
    return VERDICTS.map((v) => counts.get(v)).join("/");
  };
  const known = new Set(SECTIONS.map(([s]) => s));
  const sections = [...SECTIONS];
  for (const run of runs) {
    for (const id of Object.keys(run.results)) {
      if (!known.has(sectionOf(id))) {
        known.add(sectionOf(id));
        sections.push([sectionOf(id), "other"]);
      }
    }
  }
  for (const [section, title] of sections) {
    const perRun = runs.map((run) =>
      Object.entries(run.results).filter(([id]) => sectionOf(id) === section)
    );
    const cases = Math.max(...perRun.map((r) => r.length));
    const excludedEverywhere = cases === 0;
    if (excludedEverywhere && !["12", "13"].includes(section)) continue;
    rows.push([
      `${section} ${title}`,
      cases ? String(cases) : "-",
      ...perRun.map((r, i) => runs[i].error ? "error" : r.length ? cell(r) : "excluded"),
    ]);
  }
  rows.push([
    "Total",
    String(Math.max(...runs.map((r) => Object.keys(r.results).length))),
    ...runs.map((r) => cell(Object.entries(r.results))),
  ]);
  rows.push([
    "9.x duration (s)",
    "",
    ...runs.map((r) => seconds(sumDuration(r.results, (id) => sectionOf(id) === "9"))),
  ]);
  rows.push([
    "All cases duration (s)",
    "",
    ...runs.map((r) => seconds(sumDuration(r.results, () => true))),
  ]);
  rows.push(["Wall time (s)", "", ...runs.map((r) => r.wallSeconds.toFixed(1))]);
  const align = header.map((_, i) => (i === 0 ? "l" : "r") as "l" | "r");
  return markdownTable(header, rows, align);
}

/** Summed case durations per section, per runtime (--timings). */
function timingsTable(runs: AgentRun[]): string {
  const header = ["Section", ...runs.map((r) => `${r.runtime.name} (s)`)];
  const rows = SECTIONS.map(([section, title]) => [
    `${section} ${title}`,
    ...runs.map((r) => seconds(sumDuration(r.results, (id) => sectionOf(id) === section))),
  ]);
  return markdownTable(header, rows, header.map((_, i) => (i === 0 ? "l" : "r") as "l" | "r"));
}

const LEGEND = "Cells: OK/NON-STRICT/INFORMATIONAL/UNIMPLEMENTED/FAILED (FAILED = any other " +
  "behavior or behaviorClose: FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT, NO RESULT).";

/**
 * Non-OK cases of a run, grouped by `behavior / behaviorClose`:
 * `NON-STRICT / OK: 6.4.1, 6.4.2; INFORMATIONAL / INFORMATIONAL: 7.1.6` (at most `limit` ids per
 * group). Empty when every case is OK.
 */
function nonOkSummary(run: AgentRun, limit = 40): string {
  const groups = new Map<string, string[]>();
  for (const id of Object.keys(run.results).sort(compareIds)) {
    const r = run.results[id];
    if (verdictOf(r) === "OK") continue;
    const key = `${r.behavior} / ${r.behaviorClose}`;
    groups.set(key, [...groups.get(key) ?? [], id]);
  }
  return [...groups].map(([key, ids]) => {
    const more = ids.length > limit ? `, ... ${ids.length - limit} more` : "";
    return `${key}: ${ids.slice(0, limit).join(", ")}${more}`;
  }).join("; ");
}

// ---------------------------------------------------------------------------------------------
// Main

async function versions(runs: AgentRun[]): Promise<string> {
  const parts: string[] = [];
  const wstest = runs.find((r) => r.wstestVersion)?.wstestVersion;
  if (wstest) parts.push(`Autobahn Testsuite ${wstest}`);
  const names = new Set(runs.map((r) => r.runtime.name));
  if (names.has("deno")) parts.push(`Deno ${Deno.version.deno}`);
  if (names.has("bun")) parts.push(`Bun ${await output([BUN, "--version"]).catch(() => "?")}`);
  if (names.has("node") || names.has("ws")) {
    parts.push(`Node ${await output([NODE, "--version"]).catch(() => "?")}`);
  }
  if (names.has("ws")) {
    const ws = JSON.parse(await Deno.readTextFile(`${ROOT}/node_modules/ws/package.json`));
    parts.push(`ws ${ws.version}`);
  }
  return parts.join(", ");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  if (options.chop) WORK = `${ROOT}/.cache/conformance-chopped`;

  // 1. The testsuite (a no-op when installed) and the Node bundle of the driver.
  const install = await new Deno.Command("bash", {
    args: [`${ROOT}/scripts/conformance/install.sh`],
    stdin: "null",
  }).output();
  if (!install.success) {
    await Deno.stderr.write(install.stderr);
    console.error("run.ts: installing the Autobahn Testsuite failed");
    return 1;
  }
  if (options.runtimes.some((r) => r.name === "node")) {
    await output([
      ESBUILD,
      `${ROOT}/conformance/client.ts`,
      "--bundle",
      "--platform=node",
      "--format=esm",
      `--outfile=${NODE_BUNDLE}`,
      // Dependencies stay imports resolved from node_modules (bundling CommonJS into ESM breaks).
      "--packages=external",
      "--log-level=warning",
    ]);
  }

  // 2. The agents, `jobs` at a time, each against its own fuzzing server (wstest is one
  // single-threaded Python process; separate servers let two agents use both cores).
  const sharing = options.splitCompression
    ? options.runtimes.filter((r) => r.compressionFlag && !options.full.has(r.name))
    : [];
  if (sharing.length > 0) {
    console.log(
      `Sections 12 and 13 shared among ${sharing.map((r) => r.name).join(", ")}: each of the ` +
        `216 cases runs on one of them (--split-compression; --full runs all on every runtime)`,
    );
  }
  const partial = options.runtimes.filter((r) => !options.full.has(r.name) && !sharing.includes(r));
  if (partial.length > 0) {
    console.log(
      `Sections 12 and 13 excluded for ${partial.map((r) => r.name).join(", ")}: ` +
        DEFAULT_EXCLUDE_REASON,
    );
  }
  if (options.exclude.length > 0) console.log(`Also excluded: ${options.exclude.join(", ")}`);
  // The long runs (with 12/13) first, so that they overlap the short ones when jobs are few.
  const queue = [...options.runtimes].sort((a, b) =>
    Number(options.full.has(b.name)) - Number(options.full.has(a.name))
  );
  const runs: AgentRun[] = [];
  const worker = async () => {
    for (let runtime = queue.shift(); runtime; runtime = queue.shift()) {
      const run = await runAgent(runtime, options).catch((error): AgentRun => ({
        runtime,
        results: {},
        count: 0,
        excluded: [],
        wallSeconds: 0,
        exitCode: -1,
        dir: `${WORK}/${runtime.name}`,
        error: String(error?.message ?? error),
      }));
      if (run.error) console.log(`[${runtime.name}] error: ${run.error}`);
      console.log(
        `[${runtime.name}] finished in ${run.wallSeconds.toFixed(0)} s, exit code ${run.exitCode}`,
      );
      runs.push(run);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, worker));
  runs.sort((a, b) => options.runtimes.indexOf(a.runtime) - options.runtimes.indexOf(b.runtime));

  // 3. Verdicts, expected files, the table.
  let passed = 0;
  let failed = 0;
  // Failures that are not about one case: a missing baseline, a run that could not be done.
  let runFailed = false;
  const report: string[] = [];
  const reference: string[] = [];
  for (const run of runs) {
    const expected = await readExpected(run.runtime);
    // With --update-expected the differences are accepted (and listed as updates).
    const diff = expected ? diffExpected(run, expected) : new Map<string, string>();
    const diffLabel = options.updateExpected ? "Updated" : "Differs from";
    const gatingDiff = options.updateExpected ? new Map<string, string>() : diff;
    const bad = Object.entries(run.results)
      .filter(([id, r]) => !PASSING.has(verdictOf(r)) || gatingDiff.has(id)).length;
    const total = Object.keys(run.results).length;
    const label = run.runtime.gating ? run.runtime.name : `${run.runtime.name} (reference)`;
    if (run.error) report.push(`${label}: no results: ${run.error}`);
    if (run.runtime.gating) {
      passed += total - bad;
      failed += bad;
      if (run.error) runFailed = true;
    } else {
      reference.push(`${run.runtime.name}: ${total - bad} passed, ${bad} failed (not gating)`);
    }
    const nonOk = nonOkSummary(run);
    if (nonOk) report.push(`Non-OK cases, ${label}: ${nonOk}`);
    const diffs = [...diff].sort(([a], [b]) => compareIds(a, b));
    for (const [id, line] of diffs.slice(0, 40)) {
      report.push(`${diffLabel} conformance/expected/${run.runtime.name}.json, ${id}: ${line}`);
    }
    if (diffs.length > 40) report.push(`... ${diffs.length - 40} more differences`);
    if (options.updateExpected && !run.error) {
      await writeExpected(run, expected);
      report.push(`Wrote conformance/expected/${run.runtime.name}.json`);
    } else if (!expected) {
      report.push(
        `No conformance/expected/${run.runtime.name}.json: run with --update-expected and commit it`,
      );
      if (run.runtime.gating) runFailed = true;
    }
    if (run.exitCode !== 0) report.push(`Agent ${run.runtime.agent} exited with ${run.exitCode}`);
  }

  const table = resultsTable(runs);
  const about = await versions(runs);
  console.log(`\n${about}\n\n${table}\n\n${LEGEND}`);
  if (options.timings) console.log(`\nSummed case durations per section:\n\n${timingsTable(runs)}`);
  if (report.length > 0) console.log(`\n${report.join("\n")}`);

  const exclusions = runs
    .filter((r) => r.excluded.length > 0)
    .map((r) =>
      `${r.runtime.name}: ${
        r.excluded.length > 10
          ? `${r.excluded.length} cases of 12/13 that another runtime ran (--split-compression)`
          : r.excluded.join(", ")
      }`
    );
  // Only a run of the whole selection replaces the committed summary; a run narrowed with --cases
  // or --exclude (debugging) writes its summary under .cache instead.
  const narrowed = options.cases.join(",") !== "*" || options.exclude.length > 0 || options.chop;
  const resultsFile = narrowed ? `${WORK}/results.md` : `${ROOT}/conformance/results.md`;
  await Deno.writeTextFile(
    resultsFile,
    [
      "# Autobahn Testsuite results",
      "",
      `Written by \`scripts/conformance/run.ts\` (see README.md) on ${
        new Date().toISOString().slice(0, 10)
      }: ${about}.`,
      ...(exclusions.length > 0
        ? ["", `Excluded cases: ${exclusions.join("; ")} (${DEFAULT_EXCLUDE_REASON}).`]
        : []),
      "",
      table,
      "",
      LEGEND,
      "",
      ...runs.map((run) => `- ${run.runtime.name}: ${nonOkSummary(run) || "every case OK"}`),
      "",
    ].join("\n"),
  );

  // Keep the generated file as `deno fmt` wants it (CI may check formatting after this run).
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", resultsFile],
    cwd: ROOT,
  }).output();

  console.log(`\nReports: ${runs.map((r) => `${r.dir}/reports/clients/index.html`).join(" ")}`);
  console.log(`Summary: ${resultsFile}`);
  for (const line of reference) console.log(line);
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  return failed > 0 || runFailed ? 1 : 0;
}

Deno.exit(await main());
