/**
 * Runs a TypeScript entry point of the repository as a subprocess of the CURRENT runtime, with
 * `node:child_process`: Deno runs it with `run -A`, Bun runs it directly, Node.js runs an esbuild
 * bundle of it (made once per test process, under `.build/`).
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { runtimeName } from "./servers.ts";

/** The repository root: the nearest directory holding deno.json and src/cli/bin.ts. */
export function repoRoot(): string {
  const starts: string[] = [];
  try {
    const here = new URL(".", import.meta.url);
    if (here.protocol === "file:") starts.push(decodeURIComponent(here.pathname));
  } catch {
    // not a file URL
  }
  starts.push(process.cwd());
  for (const start of starts) {
    for (let dir = path.resolve(start);; dir = path.dirname(dir)) {
      if (
        fs.existsSync(path.join(dir, "deno.json")) &&
        fs.existsSync(path.join(dir, "src", "cli", "bin.ts"))
      ) {
        return dir;
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error("repository root not found (no deno.json with src/cli/bin.ts above the tests)");
}

/** Bundles `entry` (repository-relative) with esbuild to `outfile` (repository-relative). */
export function bundle(entry: string, outfile: string): string {
  const root = repoRoot();
  const out = path.join(root, outfile);
  const esbuild = path.join(root, "node_modules", ".bin", "esbuild");
  const r = spawnSync(esbuild, [
    entry,
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    `--outfile=${out}`,
    "--log-level=warning",
  ], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`esbuild ${entry} failed (${r.status}): ${r.stderr ?? r.error?.message}`);
  }
  return out;
}

const bundles = new Map<string, string>();

/**
 * The command running `entry` (a repository-relative .ts file) on the current runtime. On Node.js
 * the entry is bundled first (once) to `.build/<nodeBundle>`.
 */
export function commandFor(entry: string, nodeBundle: string): [string, string[]] {
  const runtime = runtimeName();
  if (runtime === "deno") {
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
    return [deno.execPath(), ["run", "-A", entry]];
  }
  if (runtime === "bun") return [process.execPath, [entry]];
  let file = bundles.get(entry + "\0" + nodeBundle);
  if (!file) {
    file = bundle(entry, path.join(".build", nodeBundle));
    bundles.set(entry + "\0" + nodeBundle, file);
  }
  return [process.execPath, [file]];
}

/** How a subprocess ended. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Written to standard input, which is then closed. Default: nothing (closed at once). */
  stdin?: string;
  /** Safety net: kill the process after this many ms (the result then fails the test). */
  timeout?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Called with each chunk of stdout (e.g. to react to a line). */
  onStdout?: (text: string, all: string) => void;
}

/** A running subprocess: its result, and a way to kill it. */
export interface Running {
  readonly result: Promise<RunResult>;
  /** Sends a signal to the process (by its own pid only). */
  kill(signal?: "SIGINT" | "SIGTERM" | "SIGKILL"): void;
  /** Writes to its standard input. */
  write(text: string): void;
  /** Closes its standard input. */
  end(): void;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/** Starts `command args` in the repository root. */
export function start(command: string, args: string[], options: RunOptions = {}): Running {
  const child = spawn(command, args, {
    cwd: repoRoot(),
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => {
    stdout += text;
    options.onStdout?.(text, stdout);
  });
  child.stderr!.on("data", (text: string) => (stderr += text));
  child.stdin!.on("error", () => {}); // the process may exit before reading its input
  if (options.stdin !== undefined) child.stdin!.write(options.stdin);
  if (options.stdin !== undefined || options.onStdout === undefined) child.stdin!.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = new Promise<RunResult>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    };
    child.on("close", (code, signal) => finish(code, signal));
    child.on("error", (error) => {
      stderr += `\n[spawn error] ${error.message}`;
      finish(null, null);
    });
  });
  if (options.timeout !== undefined) {
    timer = setTimeout(() => {
      stderr += `\n[test] killed after ${options.timeout} ms`;
      try {
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, options.timeout);
  }
  return {
    result,
    kill(signal = "SIGTERM") {
      // process.kill by pid: Deno's ChildProcess.kill ignores every call after the first.
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // gone
      }
    },
    write(text: string) {
      child.stdin!.write(text);
    },
    end() {
      child.stdin!.end();
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** Runs `command args` to the end. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return start(command, args, options).result;
}
