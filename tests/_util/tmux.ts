/**
 * A real terminal for the CLI tests: a detached tmux session on a private server
 * (`tmux -L <unique name>`), keys typed with `send-keys`, the screen read with `capture-pane`.
 * Every wait polls the screen until a deadline; `close()` kills the tmux server (and with it the
 * program in the pane).
 *
 * @module
 */

import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { repoRoot } from "./subprocess.ts";

/** Whether the tmux command is available. */
export function tmuxAvailable(): boolean {
  return spawnSync("tmux", ["-V"]).status === 0;
}

/** A program running in a tmux pane. */
export interface Terminal {
  /** Types `text` literally (no key names). */
  type(text: string): Promise<void>;
  /** Presses keys by tmux name: `Enter`, `Up`, `C-d`, `C-c`, ... */
  press(...keys: string[]): Promise<void>;
  /** The screen's text (`escapes`: with the colour codes). */
  screen(escapes?: boolean): Promise<string>;
  /**
   * Polls the screen until `predicate` holds; resolves with that screen, or rejects after `ms`
   * with `label` and the last screen.
   */
  waitFor(predicate: (screen: string) => boolean, label: string, ms?: number): Promise<string>;
  /** Kills the tmux server. */
  close(): Promise<void>;
}

/** Options of {@linkcode startTerminal}. */
export interface TerminalOptions {
  /** Environment of the program (added to this process's; `undefined` values remove a name). */
  env?: Record<string, string | undefined>;
  columns?: number;
  rows?: number;
}

let sessions = 0;

function tmux(socket: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "tmux",
      ["-u", "-L", socket, ...args], // -u: UTF-8 whatever the locale (the tests type Cyrillic)
      { env, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tmux ${args[0]} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts `command args` in a new tmux session of its own server, in the repository root. When the
 * program ends the pane shows `[exit <status>]`, then reads a line and shows `[read <line>]`
 * (see {@linkcode assertCookedMode}), and stays (until `close()`).
 */
export async function startTerminal(
  command: string,
  args: readonly string[],
  options: TerminalOptions = {},
): Promise<Terminal> {
  const socket = `rom-ws-test-${process.pid}-${++sessions}-${Math.random().toString(36).slice(2)}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  delete env.TMUX; // a test run inside tmux still gets its own server
  const line = [command, ...args].map(quote).join(" ");
  await tmux(socket, [
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-x",
    String(options.columns ?? 120),
    "-y",
    String(options.rows ?? 30),
    "-c",
    repoRoot(),
    // After the program: its status, then a line read by the shell (`[read <line>]`), which works
    // only if the program gave the terminal back in cooked mode (echo, Enter ends the line).
    `${line}; echo "[exit $?]"; read -r reply; echo "[read $reply]"; sleep 600`,
  ], env);
  let closed = false;
  const terminal: Terminal = {
    type: (text) => tmux(socket, ["send-keys", "-l", text]).then(() => {}),
    press: (...keys) => tmux(socket, ["send-keys", ...keys]).then(() => {}),
    screen: (escapes = false) =>
      tmux(socket, ["capture-pane", "-p", ...(escapes ? ["-e"] : [])]).then((s) => s.trimEnd()),
    async waitFor(predicate, label, ms = 15_000) {
      const deadline = performance.now() + ms;
      let screen = "";
      for (;;) {
        screen = await terminal.screen();
        if (predicate(screen)) return screen;
        if (performance.now() > deadline) {
          throw new Error(`timed out after ${ms} ms waiting for ${label}; the screen:\n${screen}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await tmux(socket, ["kill-server"]).catch(() => {});
      // tmux leaves its socket file behind (/tmp/tmux-<uid>/<name>, or under TMUX_TMPDIR).
      const uid = process.getuid?.() ?? os.userInfo().uid;
      const dir = path.join(process.env.TMUX_TMPDIR || "/tmp", `tmux-${uid}`);
      fs.rmSync(path.join(dir, socket), { force: true });
    },
  };
  return terminal;
}

/** The screen's non-empty lines, trailing spaces removed. */
export function screenLines(screen: string): string[] {
  return screen.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
}

/**
 * After the program ended (`[exit N]` on the screen): types a line for the shell's `read` and
 * waits for `[read <line>]`, which only a terminal in cooked mode (echo on, Enter ends the line)
 * delivers; the typed text must also be echoed.
 */
export async function assertCookedMode(terminal: Terminal): Promise<void> {
  await terminal.type("cooked");
  await terminal.press("Enter");
  const screen = await terminal.waitFor(
    (s) => s.includes("[read cooked]"),
    "the shell to read a line (the terminal in cooked mode)",
    5000,
  );
  const rows = screenLines(screen);
  const exit = rows.findIndex((l) => l.startsWith("[exit "));
  if (rows[exit + 1] !== "cooked") {
    throw new Error(`the typed line was not echoed after the program ended:\n${screen}`);
  }
}
