/**
 * A real Asterisk (ARI over HTTP and WebSocket) for tests, started by the test itself.
 *
 * Works under Deno (`deno test -A`), Bun (`bun test`) and Node (bundled to ESM). It uses only
 * Node built-in modules and the global `fetch`. The configuration comes from the templates in
 * `tests/fixtures/asterisk/`, rendered into a fresh temporary directory per run.
 *
 * ```ts
 * const ast = await startAsterisk({ app: "demo" });
 * try {
 *   // connect a WebSocket to ast.eventsUrl with { Authorization: ast.authorization }
 *   const { id } = await ast.originate(); // a StasisStart for "demo" follows
 *   await ast.hangup(id); // a StasisEnd follows
 * } finally {
 *   await ast.stop();
 * }
 * ```
 *
 * `halt()` and `start()` (or `restart()`) take Asterisk down and bring it back on the same port,
 * with the same directory (configuration, database), for tests of what a client does across a
 * restart; `stop()` ends it for good.
 *
 * Environment overrides: `ASTERISK_BIN` (binary path; empty, `0` or `none` disables),
 * `ASTERISK_MODULES` (module directory), `ASTERISK_DATA` (a directory holding `documentation/`),
 * `ROM_ASTERISK_FIXTURES` (template directory).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { delay } from "./async.ts";
import { freePort } from "./ports.ts";

/** Options of {@link startAsterisk}. */
export interface StartAsteriskOptions {
  /** Stasis application name the events URL subscribes to and `originate` targets. */
  app?: string;
  /** ARI user name. */
  user?: string;
  /** ARI password (plain). */
  password?: string;
  /** How long to wait for ARI to answer, in ms (default 20000). */
  startTimeout?: number;
}

/** Options of {@link Asterisk.originate}. */
export interface OriginateOptions {
  /** Endpoint to call (default `Local/100@default`, which answers and waits). */
  endpoint?: string;
  /** Stasis application for the channel (default: the harness's app). */
  app?: string;
  /** `appArgs` of the StasisStart event (comma separated). */
  appArgs?: string;
  /** Channel id to use instead of a generated one. */
  channelId?: string;
  /** Channel variables to set on the new channel. */
  variables?: Record<string, string>;
}

/** Options of {@link Asterisk.stop}. */
export interface StopOptions {
  /** SIGKILL at once instead of a graceful shutdown (an abrupt drop of every connection). */
  force?: boolean;
}

/** Options of {@link Asterisk.start}. */
export interface RestartOptions extends StopOptions {
  /** How long to wait for ARI to answer, in ms (default: the `startTimeout` of `startAsterisk`). */
  startTimeout?: number;
  /** For {@link Asterisk.restart}: ms between the exit and the new start (default 0). */
  downtime?: number;
}

/** The channel returned by {@link Asterisk.originate} (the ARI `Channel` JSON). */
export interface OriginatedChannel {
  /** Channel id (the `channel.id` of the events that follow). */
  id: string;
  /** Channel name, e.g. `Local/100@default-00000000;1`. */
  name: string;
  /** Other fields of the ARI `Channel` model. */
  [key: string]: unknown;
}

/** A running Asterisk started by {@link startAsterisk}. */
export interface Asterisk {
  /** HTTP port on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<port>/ari/events?app=<app>` (send {@link authorization} as a header). */
  readonly eventsUrl: string;
  /** Stasis application name. */
  readonly app: string;
  /** ARI user name. */
  readonly user: string;
  /** ARI password. */
  readonly password: string;
  /** `Basic <base64(user:password)>`, the value of an `Authorization` header. */
  readonly authorization: string;
  /** Process id of the current (or last) Asterisk process. */
  readonly pid: number;
  /** Whether an Asterisk process is running (false once halted or stopped). */
  readonly running: boolean;
  /** The per-run temporary directory (configuration, database, control socket). */
  readonly dir: string;
  /**
   * Creates a channel with `POST /ari/channels`; by default `Local/100@default` put into the
   * harness's Stasis app, so a subscribed WebSocket sees a `StasisStart` for the returned id.
   */
  originate(opts?: OriginateOptions): Promise<OriginatedChannel>;
  /** Hangs up a channel (`DELETE /ari/channels/<id>`); a channel already gone is not an error. */
  hangup(id: string): Promise<void>;
  /**
   * Calls ARI: `path` is relative to `/ari` (e.g. `/channels`). Resolves with the parsed JSON
   * body (undefined when empty); rejects on a status other than 2xx.
   */
  ari(method: string, path: string, body?: unknown): Promise<unknown>;
  /**
   * SIGTERM (a graceful shutdown: about 1 s), then SIGKILL after 3 s; waits for the exit and
   * removes the temporary directory. Calling it again returns the same promise.
   */
  stop(opts?: StopOptions): Promise<void>;
  /**
   * Stops the Asterisk process like {@link stop} (SIGTERM, or SIGKILL with `force`), but keeps
   * the directory and the port for {@link start}. Resolves once the process has exited.
   */
  halt(opts?: StopOptions): Promise<void>;
  /**
   * Starts a halted Asterisk again, on the same port with the same directory; resolves once
   * `GET /ari/asterisk/info` answers 200. While the port is taken it retries until `startTimeout`.
   */
  start(opts?: RestartOptions): Promise<void>;
  /** {@link halt}, then `downtime` ms, then {@link start}. */
  restart(opts?: RestartOptions): Promise<void>;
  /** Everything Asterisk wrote to stdout and stderr so far, over every start (the last 1 MiB each). */
  output(): string;
}

const BIN_CANDIDATES = [
  "/usr/sbin/asterisk",
  "/usr/local/sbin/asterisk",
  "/usr/bin/asterisk",
  "/usr/local/bin/asterisk",
];
const MODULE_CANDIDATES = [
  "/usr/lib/asterisk/modules",
  "/usr/lib64/asterisk/modules",
  "/usr/local/lib/asterisk/modules",
  "/usr/local/lib64/asterisk/modules",
];
const DATA_CANDIDATES = [
  "/usr/share/asterisk",
  "/var/lib/asterisk",
  "/usr/local/share/asterisk",
  "/usr/local/var/lib/asterisk",
];
/** Entries of the system data directory linked into the per-run one. */
const DATA_LINKS = ["documentation", "sounds", "moh", "rest-api", "static-http", "firmware"];
const OUTPUT_LIMIT = 1 << 20;
const BIND_FAILURE = /Unable to bind http server|Failed to start HTTP server/;

function env(name: string): string | undefined {
  try {
    return process.env[name];
  } catch {
    return undefined; // no env permission
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function modulesDir(): string | undefined {
  const override = env("ASTERISK_MODULES");
  if (override) return override;
  return MODULE_CANDIDATES.find((d) => fs.existsSync(path.join(d, "res_ari.so")));
}

function dataDir(): string | undefined {
  const override = env("ASTERISK_DATA");
  if (override) return override;
  return DATA_CANDIDATES.find((d) => isDirectory(path.join(d, "documentation")));
}

/**
 * Finds an Asterisk binary usable by {@link startAsterisk}.
 *
 * @returns the path of the binary, or undefined when there is none (or no ARI modules), so a
 * test can skip itself: `Deno.test({ ignore: !asteriskAvailable(), ... })`.
 */
export function asteriskAvailable(): string | undefined {
  const override = env("ASTERISK_BIN");
  if (override !== undefined) {
    if (override === "" || override === "0" || override === "none") return undefined;
    return isExecutable(override) ? override : undefined;
  }
  if (modulesDir() === undefined) return undefined;
  const fromPath = (env("PATH") ?? "").split(path.delimiter).filter((d) => d !== "")
    .map((d) => path.join(d, "asterisk"));
  return [...BIN_CANDIDATES, ...fromPath].find(isExecutable);
}

function fixturesDir(): string {
  const override = env("ROM_ASTERISK_FIXTURES");
  if (override) return override;
  const starts: string[] = [];
  try {
    const here = new URL(".", import.meta.url);
    if (here.protocol === "file:") starts.push(decodeURIComponent(here.pathname));
  } catch {
    // not a file URL (for example a bundle loaded from data:); fall back to the cwd
  }
  starts.push(process.cwd());
  for (const start of starts) {
    for (let dir = path.resolve(start);; dir = path.dirname(dir)) {
      for (const rel of ["tests/fixtures/asterisk", "fixtures/asterisk"]) {
        const candidate = path.join(dir, rel);
        if (fs.existsSync(path.join(candidate, "asterisk.conf"))) return candidate;
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error(
    "tests/fixtures/asterisk not found (set ROM_ASTERISK_FIXTURES to the template directory)",
  );
}

function render(template: string, values: Record<string, string>, file: string): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${file}: unknown placeholder {{${key}}}`);
    return value;
  });
}

function checkValue(name: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) {
    throw new Error(`startAsterisk: invalid ${name} ${JSON.stringify(value)}`);
  }
  return value;
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Writes the rendered templates into `dir` and creates the directory layout. */
function prepareDir(dir: string, values: Record<string, string>, data: string | undefined): void {
  for (const sub of ["etc", "lib", "db", "keys", "data", "agi", "spool", "run", "log"]) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const templates = fixturesDir();
  for (const name of fs.readdirSync(templates)) {
    if (!name.endsWith(".conf")) continue;
    const text = fs.readFileSync(path.join(templates, name), "utf8");
    fs.writeFileSync(path.join(dir, "etc", name), render(text, values, name));
  }
  // Asterisk refuses to start without the XML documentation in astdatadir.
  if (data !== undefined) {
    for (const entry of DATA_LINKS) {
      const target = path.join(data, entry);
      if (fs.existsSync(target)) fs.symlinkSync(target, path.join(dir, "data", entry));
    }
  }
}

/** A child whose stdin is a pipe from this process: when this process dies, the pipe reaches
 * EOF and the watchdog kills Asterisk and removes the directory. It runs in its own session,
 * so a Ctrl-C to the test's process group does not take it down first. */
function startWatchdog(pid: number | undefined, dir: string): ChildProcess | undefined {
  try {
    // No pid (a halted Asterisk): only the directory is removed.
    const script =
      'read _ignored; [ -n "$1" ] && kill -KILL "$1" 2>/dev/null; sleep 1; rm -rf "$2"';
    const dog = spawn("/bin/sh", ["-c", script, "rom-asterisk-watchdog", String(pid ?? ""), dir], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    dog.on("error", () => {});
    dog.stdin?.on("error", () => {});
    unref(dog);
    return dog;
  } catch {
    return undefined;
  }
}

/** Lets the runtime exit while the child runs (the watchdog then cleans up). */
function unref(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as { unref?: () => void } | null)?.unref?.();
  }
}

interface Attempt {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
  hasExited: () => boolean;
}

function launch(bin: string, dir: string): Attempt {
  const chunks: string[] = [];
  let size = 0;
  const push = (text: string) => {
    chunks.push(text);
    size += text.length;
    while (size > OUTPUT_LIMIT && chunks.length > 1) size -= chunks.shift()!.length;
  };
  // -f foreground (no fork), -n no colours, -q quiet; no -c: stdin is not a terminal.
  const child = spawn(bin, ["-C", path.join(dir, "etc", "asterisk.conf"), "-f", "-n", "-q"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", push);
  }
  let done = false;
  const exited = new Promise<void>((resolve) => {
    const finish = (what: string) => {
      if (done) return;
      done = true;
      push(`\n[harness] ${what}\n`);
      resolve();
    };
    child.once("exit", (code, signal) => finish(`asterisk exited: code ${code}, signal ${signal}`));
    child.once("error", (err) => finish(`asterisk could not run: ${err.message}`));
  });
  unref(child);
  return { child, exited, output: () => chunks.join(""), hasExited: () => done };
}

/** Sends a signal unless the process is gone. `process.kill` rather than `child.kill`: Deno's
 * `ChildProcess.kill` ignores every call after the first, so SIGKILL would never follow SIGTERM. */
function signal(attempt: Attempt, sig: "SIGTERM" | "SIGKILL"): void {
  const pid = attempt.child.pid;
  if (pid === undefined || attempt.hasExited()) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Stops Asterisk: SIGTERM, then SIGKILL after 3 s (or SIGKILL at once when `force`). */
async function terminate(attempt: Attempt, force = false): Promise<void> {
  const wait = (ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      attempt.exited.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]).finally(() => clearTimeout(timer));
  };
  if (attempt.hasExited()) return;
  if (!force) {
    signal(attempt, "SIGTERM");
    if (await wait(3000)) return;
  }
  signal(attempt, "SIGKILL");
  if (!(await wait(5000))) throw new Error(`asterisk (pid ${attempt.child.pid}) did not exit`);
}

/**
 * Starts Asterisk with its own configuration in a fresh temporary directory, on a free port of
 * 127.0.0.1, and resolves once `GET /ari/asterisk/info` answers 200. Call {@link Asterisk.stop}
 * when done; if the test process dies first, a watchdog kills Asterisk.
 *
 * @throws when there is no Asterisk (see {@link asteriskAvailable}) or it does not come up within
 * `startTimeout` (the error message ends with Asterisk's last output lines).
 */
export async function startAsterisk(opts: StartAsteriskOptions = {}): Promise<Asterisk> {
  const bin = asteriskAvailable();
  if (bin === undefined) throw new Error("startAsterisk: no Asterisk binary found");
  const moddir = modulesDir();
  if (moddir === undefined) throw new Error("startAsterisk: no Asterisk module directory found");
  const app = checkValue("app", opts.app ?? "rom-test", /^[A-Za-z0-9_.-]+$/);
  const user = checkValue("user", opts.user ?? "rom", /^[A-Za-z0-9_.-]+$/);
  const password = checkValue("password", opts.password ?? "rom-secret", /^[!-:<-~]+$/);
  const authorization = `Basic ${btoa(`${user}:${password}`)}`;
  const startTimeout = opts.startTimeout ?? 20000;
  const data = dataDir();
  // The control socket path ($astrundir/asterisk.ctl) must fit in sockaddr_un (108 bytes).
  const tmp = path.join(os.tmpdir(), "x").length < 60 ? os.tmpdir() : "/tmp";

  let lastError: Error | undefined;
  for (let round = 0; round < 3; round++) {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(tmp, "rom-asterisk-"));
    const values = {
      DIR: dir,
      MODDIR: moddir,
      PORT: String(port),
      USER: user,
      PASSWORD: password,
      APP: app,
    };
    let attempt: Attempt | undefined;
    let dog: ChildProcess | undefined;
    const cleanup = async () => {
      // A failed attempt needs no graceful shutdown. If it somehow survives, the watchdog stays
      // and kills it when this process exits.
      if (
        attempt !== undefined && !(await terminate(attempt, true).then(() => true, () => false))
      ) {
        return;
      }
      if (dog !== undefined) killWatchdog(dog);
      fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
      prepareDir(dir, values, data);
      attempt = launch(bin, dir);
      if (attempt.child.pid !== undefined) dog = startWatchdog(attempt.child.pid, dir);
      const baseUrl = `http://127.0.0.1:${port}`;
      const ready = await waitReady(
        attempt,
        `${baseUrl}/ari/asterisk/info`,
        authorization,
        startTimeout,
      );
      if (ready === "bind") {
        lastError = new Error(`startAsterisk: port ${port} was taken\n${tail(attempt.output())}`);
        await cleanup();
        continue;
      }
      return makeHandle({
        attempt,
        dog,
        dir,
        port,
        baseUrl,
        app,
        user,
        password,
        authorization,
        bin,
        startTimeout,
      });
    } catch (err) {
      await cleanup();
      throw err;
    }
  }
  throw lastError ?? new Error("startAsterisk: failed");
}

function killWatchdog(dog: ChildProcess): void {
  try {
    dog.kill("SIGKILL");
  } catch {
    // already gone
  }
  try {
    dog.stdin?.destroy();
  } catch {
    // already closed
  }
}

async function waitReady(
  attempt: Attempt,
  url: string,
  authorization: string,
  timeout: number,
): Promise<"ready" | "bind"> {
  const started = performance.now();
  let last = "no answer yet";
  while (performance.now() - started < timeout) {
    if (BIND_FAILURE.test(attempt.output())) return "bind";
    if (attempt.hasExited()) {
      throw new Error(`startAsterisk: Asterisk exited during startup\n${tail(attempt.output())}`);
    }
    try {
      const res = await fetch(url, {
        headers: { authorization },
        signal: AbortSignal.timeout(2000),
      });
      const body = await res.text();
      if (res.status === 200) return "ready";
      last = `HTTP ${res.status} ${body.slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await delay(50);
  }
  throw new Error(
    `startAsterisk: ARI did not answer within ${timeout} ms (${last})\n${tail(attempt.output())}`,
  );
}

interface HandleParts {
  attempt: Attempt;
  dog: ChildProcess | undefined;
  dir: string;
  port: number;
  baseUrl: string;
  app: string;
  user: string;
  password: string;
  authorization: string;
  bin: string;
  startTimeout: number;
}

function makeHandle(p: HandleParts): Asterisk {
  let stopping: Promise<void> | undefined;
  /** The output of the processes before the current one. */
  const earlier: string[] = [];
  /** halt/start/stop run one after the other. */
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = queue.then(op, op);
    queue = run.catch(() => {});
    return run;
  };
  const output = () => [...earlier, p.attempt.output()].join("\n[harness] restarted\n");

  const halt = async (opts: StopOptions = {}) => {
    if (p.attempt.hasExited()) return;
    // If Asterisk does not die, this throws and the watchdog stays to kill it at exit.
    await terminate(p.attempt, opts.force === true);
    if (p.dog !== undefined) killWatchdog(p.dog);
    p.dog = startWatchdog(undefined, p.dir); // removes the directory if this process dies now
  };

  const start = async (opts: RestartOptions = {}) => {
    if (stopping) throw new Error("Asterisk.start: stopped for good");
    if (!p.attempt.hasExited()) return;
    const timeout = opts.startTimeout ?? p.startTimeout;
    const started = performance.now();
    for (;;) {
      earlier.push(p.attempt.output());
      p.attempt = launch(p.bin, p.dir);
      if (p.dog !== undefined) killWatchdog(p.dog);
      p.dog = startWatchdog(p.attempt.child.pid, p.dir);
      const left = Math.max(1000, timeout - (performance.now() - started));
      let ready: "ready" | "bind";
      try {
        ready = await waitReady(p.attempt, `${p.baseUrl}/ari/asterisk/info`, p.authorization, left);
      } catch (err) {
        await terminate(p.attempt, true).catch(() => {});
        throw err;
      }
      if (ready === "ready") return;
      // The port is still (or already) taken by someone else: it cannot change, so wait.
      await terminate(p.attempt, true);
      if (performance.now() - started > timeout) {
        throw new Error(`Asterisk.start: port ${p.port} stayed taken\n${tail(output())}`);
      }
      await delay(250);
    }
  };

  const ari = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { authorization: p.authorization };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${p.baseUrl}/ari${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      const err = new Error(`ARI ${method} ${route}: HTTP ${res.status} ${text}`);
      (err as Error & { status?: number }).status = res.status;
      throw err;
    }
    return text === "" ? undefined : JSON.parse(text);
  };

  return {
    port: p.port,
    baseUrl: p.baseUrl,
    eventsUrl: `ws://127.0.0.1:${p.port}/ari/events?app=${encodeURIComponent(p.app)}`,
    app: p.app,
    user: p.user,
    password: p.password,
    authorization: p.authorization,
    get pid() {
      return p.attempt.child.pid ?? 0;
    },
    get running() {
      return !p.attempt.hasExited();
    },
    dir: p.dir,
    ari,
    async originate(opts: OriginateOptions = {}): Promise<OriginatedChannel> {
      const query = new URLSearchParams({
        endpoint: opts.endpoint ?? "Local/100@default",
        app: opts.app ?? p.app,
      });
      if (opts.appArgs !== undefined) query.set("appArgs", opts.appArgs);
      if (opts.channelId !== undefined) query.set("channelId", opts.channelId);
      const body = opts.variables === undefined ? undefined : { variables: opts.variables };
      return await ari("POST", `/channels?${query}`, body) as OriginatedChannel;
    },
    async hangup(id: string): Promise<void> {
      try {
        await ari("DELETE", `/channels/${encodeURIComponent(id)}`);
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
      }
    },
    stop(opts: StopOptions = {}): Promise<void> {
      stopping ??= serial(async () => {
        // If Asterisk does not die, this throws and the watchdog stays to kill it at exit.
        await terminate(p.attempt, opts.force === true);
        if (p.dog !== undefined) killWatchdog(p.dog);
        fs.rmSync(p.dir, { recursive: true, force: true });
      });
      return stopping;
    },
    halt(opts?: StopOptions): Promise<void> {
      if (stopping) return Promise.reject(new Error("Asterisk.halt: stopped for good"));
      return serial(() => halt(opts));
    },
    start(opts?: RestartOptions): Promise<void> {
      return serial(() => start(opts));
    },
    restart(opts: RestartOptions = {}): Promise<void> {
      if (stopping) return Promise.reject(new Error("Asterisk.restart: stopped for good"));
      return serial(async () => {
        await halt(opts);
        if (opts.downtime) await delay(opts.downtime);
        await start(opts);
      });
    },
    output,
  };
}
