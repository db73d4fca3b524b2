/**
 * Running `rom-ws` (src/cli/bin.ts) as a subprocess of the current runtime, for the CLI tests.
 *
 * @module
 */

import { commandFor, run, type RunOptions, type RunResult } from "./subprocess.ts";

/** The runnable CLI entry. */
export const CLI_ENTRY = "src/cli/bin.ts";
/** Where Node.js runs it from (an esbuild bundle). */
export const CLI_BUNDLE = "cli-test/cli.mjs";
/** Subprocess safety net: a start takes well under a second; this is generous. */
export const PROCESS_MS = 20_000;

/** The command and arguments that run rom-ws on this runtime. */
export function romWsCommand(): [string, string[]] {
  return commandFor(CLI_ENTRY, CLI_BUNDLE);
}

/** Runs rom-ws with `args` and `stdin` (closed at once when not given). */
export function romWs(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, base] = romWsCommand();
  return run(command, [...base, ...args], { timeout: PROCESS_MS, ...options });
}

/** The output lines, without the trailing empty one. */
export function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.at(-1) === "") all.pop();
  return all;
}

/** A run's status and output, for assertion messages. */
export function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}\n--- stdout\n${r.stdout}--- stderr\n` +
    r.stderr;
}

// The lines rom-ws prints in its default format (`--format rom`): the ROM events.
/** A connection opened. */
export const OPEN = 'ROM-WebSocket {"Event": "Connection","State": "Open"} {"Connection": "Open"}';
/** A normal close. */
export const NORMAL =
  'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Normal"} {"Connection": "Close"}';
/** A dropped connection. */
export const DROP =
  'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Drop"} {"Connection": "Close"}';
/** A message event with `text`. */
export const message = (text: string) => `ROM-WebSocket {"Event": "Message"} ${text}`;
