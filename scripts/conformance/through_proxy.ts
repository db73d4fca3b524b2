/**
 * The Autobahn cases of sections 1–10 through each kind of network in front of the server, on
 * every runtime, compared case by case with the direct run's baselines in
 * `conformance/expected/<runtime>.json`: a case passes when its `behavior` and `behaviorClose` are
 * the ones the direct run recorded.
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/conformance/through_proxy.ts [options]
 * ```
 *
 * Routes: `connect` (HTTP CONNECT through tinyproxy), `socks5` (`socks5h://` through microsocks),
 * `wss` (`wss://` to nginx terminating TLS in front of the fuzzing server, verified with a test CA
 * made with openssl). Each route and runtime gets its own fuzzing server and proxy.
 *
 * Options:
 * - `--routes connect,socks5,wss`  routes to run (default: all three)
 * - `--runtimes deno,bun,node`     agents (default: all three)
 * - `--cases PATTERNS`             case patterns, e.g. `1.*,5.*` (default: sections 1–10)
 * - `--jobs N`                     route/runtime pairs at once (default 2)
 * - `--write-readme`               write the table into conformance/README.md
 *
 * The last line of stdout is `conformance-proxy: N passed, M failed` over every case run; the exit
 * status is non-zero when a case differs from the baseline or has no result. Logs and reports stay
 * in .cache/conformance-proxy/<route>-<runtime>/.
 *
 * @module
 */

import { delay } from "../../tests/_util/async.ts";
import { freePort } from "../../tests/_util/ports.ts";
import { startMicrosocks, startNginxTls } from "../../tests/_util/proxies.ts";
import { startTinyproxy } from "../../tests/_util/tinyproxy.ts";
import { makeCertificates } from "../../tests/_util/tls.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
const WORK = `${ROOT}/.cache/conformance-proxy`;
const WSTEST = `${ROOT}/.cache/autobahn/bin/wstest`;
const NODE = Deno.env.get("NODE") ?? "node";
const BUN = Deno.env.get("BUN") ?? `${ROOT}/node_modules/.bin/bun`;
const NODE_BUNDLE = `${ROOT}/.build/conformance/client.mjs`;
const SECTIONS_1_TO_10 = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"];

const AGENTS: Record<string, string[]> = {
  deno: [Deno.execPath(), "run", "-A", `${ROOT}/conformance/client.ts`],
  bun: [BUN, `${ROOT}/conformance/client.ts`],
  node: [NODE, NODE_BUNDLE],
};

/** A route: what stands between the agent and the fuzzing server. */
interface Route {
  title: string;
  /** Starts it in front of the fuzzing server on `port`; returns the agent's arguments. */
  start(port: number, dir: string): Promise<{ args: string[]; stop(): Promise<void> }>;
}

const ROUTES: Record<string, Route> = {
  connect: {
    title: "HTTP CONNECT (tinyproxy)",
    async start(port) {
      const proxy = await startTinyproxy();
      return { args: ["--url", `ws://127.0.0.1:${port}`, "--proxy", proxy.url], stop: proxy.stop };
    },
  },
  socks5: {
    title: "SOCKS5 (microsocks, socks5h://)",
    async start(port) {
      const proxy = await startMicrosocks();
      return { args: ["--url", `ws://127.0.0.1:${port}`, "--proxy", proxy.url], stop: proxy.stop };
    },
  },
  wss: {
    title: "wss:// (nginx TLS terminator)",
    async start(port, dir) {
      const certs = makeCertificates();
      const nginx = await startNginxTls(port, certs);
      await Deno.writeTextFile(`${dir}/ca.pem`, certs.ca);
      return { args: ["--url", nginx.url, "--ca", `${dir}/ca.pem`], stop: nginx.stop };
    },
  },
};

interface Options {
  routes: string[];
  runtimes: string[];
  cases: string[];
  jobs: number;
  writeReadme: boolean;
}

function usage(message: string): never {
  console.error(`through_proxy.ts: ${message}`);
  console.error(
    "usage: through_proxy.ts [--routes connect,socks5,wss] [--runtimes deno,bun,node]\n" +
      "                        [--cases PATTERNS] [--jobs N] [--write-readme]",
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    routes: Object.keys(ROUTES),
    runtimes: Object.keys(AGENTS),
    cases: SECTIONS_1_TO_10,
    jobs: 2,
    writeReadme: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v.split(",").map((s) => s.trim()).filter(Boolean);
    };
    if (flag === "--routes") options.routes = value();
    else if (flag === "--runtimes") options.runtimes = value();
    else if (flag === "--cases") options.cases = value();
    else if (flag === "--jobs") options.jobs = Math.max(1, Number(value()[0]) || 1);
    else if (flag === "--write-readme") options.writeReadme = true;
    else usage(`unknown argument ${args[i]}`);
  }
  for (const r of options.routes) if (!ROUTES[r]) usage(`unknown route ${r}`);
  for (const r of options.runtimes) if (!AGENTS[r]) usage(`unknown runtime ${r}`);
  return options;
}

/** Starts `command` with its output in the file `log`. */
function spawnLogged(command: string[], cwd: string, log: string) {
  const file = Deno.openSync(log, { write: true, create: true, truncate: true });
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    stdin: "null",
    stdout: file.writable ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  const copied = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) await file.write(chunk);
  }));
  const status = (async () => {
    const [result] = await Promise.all([child.status, copied]);
    file.close();
    return result;
  })();
  return { child, status };
}

/** The case count, once the fuzzing server answers (with the runtime's own WebSocket). */
async function waitForServer(base: string): Promise<number> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const count = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base}/getCaseCount`);
      let n = 0;
      ws.onmessage = (e) => n = Number(e.data);
      ws.onerror = () => resolve(0);
      ws.onclose = () => resolve(n);
    });
    if (count > 0) return count;
    await delay(200);
  }
  throw new Error(`fuzzing server at ${base} did not start`);
}

type Verdicts = Record<string, { behavior: string; behaviorClose: string }>;

interface Run {
  route: string;
  runtime: string;
  results: Verdicts;
  same: string[];
  differs: string[];
  seconds: number;
  error?: string;
}

async function runOne(route: string, runtime: string, options: Options): Promise<Run> {
  const dir = `${WORK}/${route}-${runtime}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const agent = `rom-websocket-${runtime}`;
  const port = await freePort();
  const base = `ws://127.0.0.1:${port}`;
  const template = JSON.parse(await Deno.readTextFile(`${ROOT}/conformance/fuzzingserver.json`));
  const spec = {
    ...template,
    url: base,
    outdir: `${dir}/reports/clients`,
    cases: options.cases,
    "exclude-cases": [...(template["exclude-cases"] ?? []), "12.*", "13.*"],
  };
  await Deno.writeTextFile(`${dir}/fuzzingserver.json`, JSON.stringify(spec, null, 2) + "\n");
  const started = Date.now();
  const server = spawnLogged(
    [WSTEST, "-m", "fuzzingserver", "-s", "fuzzingserver.json", "-u", "0"],
    dir,
    `${dir}/wstest.log`,
  );
  let front: { args: string[]; stop(): Promise<void> } | undefined;
  const run: Run = { route, runtime, results: {}, same: [], differs: [], seconds: 0 };
  try {
    await waitForServer(base);
    front = await ROUTES[route].start(port, dir);
    const command = [...AGENTS[runtime], ...front.args, "--agent", agent, "--compression", "off"];
    console.log(`[${route}/${runtime}] ${command.slice(-8).join(" ")}`);
    const child = spawnLogged(command, ROOT, `${dir}/agent.log`);
    const killer = setTimeout(() => child.child.kill("SIGKILL"), 20 * 60_000);
    await child.status;
    clearTimeout(killer);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/reports/clients/index.json`));
    run.results = index[agent] ?? {};
  } catch (error) {
    run.error = String(error);
  } finally {
    await front?.stop().catch(() => {});
    try {
      server.child.kill("SIGTERM");
    } catch { /* gone */ }
    await server.status;
  }
  const expected: Verdicts = JSON.parse(
    await Deno.readTextFile(`${ROOT}/conformance/expected/${runtime}.json`),
  );
  for (const [id, r] of Object.entries(run.results)) {
    const e = expected[id];
    if (e && e.behavior === r.behavior && e.behaviorClose === r.behaviorClose) run.same.push(id);
    else run.differs.push(id);
  }
  run.seconds = (Date.now() - started) / 1000;
  return run;
}

function table(runs: Run[], options: Options): string {
  const header = ["Route", ...options.runtimes];
  const rows = options.routes.map((route) => [
    ROUTES[route].title,
    ...options.runtimes.map((runtime) => {
      const r = runs.find((x) => x.route === route && x.runtime === runtime)!;
      const total = Object.keys(r.results).length;
      return r.error ? "error" : `${r.same.length}/${total} (${r.seconds.toFixed(0)} s)`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  return [
    line(header),
    `| ${
      widths.map((w, i) => i === 0 ? ":" + "-".repeat(w - 1) : "-".repeat(w - 1) + ":").join(" | ")
    } |`,
    ...rows.map(line),
  ].join("\n");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const install = await new Deno.Command("bash", {
    args: [`${ROOT}/scripts/conformance/install.sh`],
  })
    .output();
  if (!install.success) {
    console.error(new TextDecoder().decode(install.stderr));
    return 1;
  }
  if (options.runtimes.includes("node")) {
    const built = await new Deno.Command(`${ROOT}/node_modules/.bin/esbuild`, {
      args: [
        `${ROOT}/conformance/client.ts`,
        "--bundle",
        "--platform=node",
        "--format=esm",
        `--outfile=${NODE_BUNDLE}`,
        "--packages=external",
        "--log-level=warning",
      ],
    }).output();
    if (!built.success) return 1;
  }
  const pairs = options.routes.flatMap((route) =>
    options.runtimes.map((runtime) => ({ route, runtime }))
  );
  const runs: Run[] = [];
  const started = Date.now();
  const worker = async () => {
    for (let next = pairs.shift(); next; next = pairs.shift()) {
      const run = await runOne(next.route, next.runtime, options);
      console.log(
        `[${run.route}/${run.runtime}] ${run.same.length} same as direct, ${run.differs.length} differ` +
          ` (${run.seconds.toFixed(1)} s)${run.error ? `: ${run.error}` : ""}`,
      );
      runs.push(run);
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, worker));
  const wall = (Date.now() - started) / 1000;
  const text = table(runs, options);
  console.log(`\n${text}\n`);
  let passed = 0;
  let failed = 0;
  for (const run of runs) {
    passed += run.same.length;
    failed += run.differs.length + (run.error || Object.keys(run.results).length === 0 ? 1 : 0);
    if (run.differs.length > 0) {
      const shown = run.differs.map((id) =>
        `${id} ${run.results[id].behavior}/${run.results[id].behaviorClose}`
      );
      console.log(`Differences ${run.route}/${run.runtime}: ${shown.join(", ")}`);
    }
  }
  console.log(`Wall time: ${wall.toFixed(0)} s`);
  if (options.writeReadme) {
    const file = `${ROOT}/conformance/README.md`;
    const readme = await Deno.readTextFile(file);
    const start = "<!-- through-proxy:start -->";
    const end = "<!-- through-proxy:end -->";
    const cases = options.cases.map((c) => `\`${c}\``).join(", ");
    const block =
      `${start}\n\nCells: cases with the direct run's result / cases run (wall time of that run). Cases:` +
      ` ${cases}; ${
        new Date().toISOString().slice(0, 10)
      }, ${runs.length} runs, ${options.jobs} at a time,` +
      ` ${wall.toFixed(0)} s in all.\n\n${text}\n\n${end}`;
    if (!readme.includes(start)) throw new Error(`${file} has no ${start} marker`);
    await Deno.writeTextFile(file, readme.replace(new RegExp(`${start}[\\s\\S]*${end}`), block));
    // Wrapped as the repository's `deno fmt` wants it.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file] }).output();
  }
  console.log(`conformance-proxy: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

Deno.exit(await main());
