/**
 * `rom-ws` in a real terminal (tmux, see tests/_util/tmux.ts), on the current runtime: the prompt,
 * output printed above the line being typed (which survives, cursor included), history with the
 * arrow keys, `/ping`, `/binary`, `/close CODE REASON`, Ctrl-D and Ctrl-C, colours on a terminal
 * and none with NO_COLOR, the exit status of each ending, and the terminal given back in cooked
 * mode. The server is a `ws` server the test
 * drives (it pushes messages while the user types) and records what arrived.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { deferred, guarded, waitFor, withTimeout } from "../_util/async.ts";
import { DROP, message, NORMAL, OPEN, romWsCommand } from "../_util/cli.ts";
import {
  assertCookedMode,
  screenLines,
  startTerminal,
  type Terminal,
  tmuxAvailable,
} from "../_util/tmux.ts";

const DEADLINE = 40_000;
const OPTIONS = { timeout: 45_000 } as const;

/** A server the test drives: what it received, a way to push, and how the client closed. */
interface DrivenServer {
  readonly url: string;
  readonly received: Array<string | Uint8Array>;
  readonly closed: Promise<{ code: number; reason: string }>;
  push(text: string): void;
  drop(): void;
  close(): Promise<void>;
}

async function startDrivenServer(): Promise<DrivenServer> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const received: Array<string | Uint8Array> = [];
  const closed = deferred<{ code: number; reason: string }>();
  wss.on("connection", (ws) => {
    ws.on("message", (data, binary) => {
      const bytes = new Uint8Array(data as Uint8Array);
      received.push(binary ? bytes : new TextDecoder().decode(bytes));
      ws.send(data, { binary }); // echo
    });
    ws.on("close", (code, reason) => closed.resolve({ code, reason: reason.toString() }));
    ws.on("error", () => {});
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    received,
    closed: closed.promise,
    push: (text) => {
      for (const ws of wss.clients) ws.send(text);
    },
    drop: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Starts rom-ws in a terminal, connected to `url`. */
function romWsTerminal(
  args: string[],
  env: Record<string, string | undefined> = { NO_COLOR: "1" },
): Promise<Terminal> {
  const [command, base] = romWsCommand();
  return startTerminal(command, [...base, ...args], { env });
}

/** The start of an SGR escape sequence (what tmux shows colours as with capture-pane -e). */
const ESC = "\x1b[";

const lastLine = (screen: string) => screenLines(screen).at(-1) ?? "";

describe("rom-ws in a terminal", {
  skip: tmuxAvailable() || process.env.CI ? false : "tmux is not installed",
}, () => {
  it(
    "a prompt that output never mixes with, history, /ping, /binary, /close CODE REASON: exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const term = await romWsTerminal([server.url]);
      scope.defer(() => term.close());
      await term.waitFor(
        (s) => s.includes(OPEN) && lastLine(s) === ">",
        "the Open line and the prompt",
      );

      await term.type("hello");
      await term.press("Enter");
      await term.waitFor((s) => screenLines(s).includes(message("hello")), "the echo of hello");
      assert.deepEqual(server.received, ["hello"]);

      // Half a line typed, then a message arrives: it is printed above, and the line survives.
      await term.type("partial");
      await term.waitFor((s) => lastLine(s) === "> partial", "the typed text");
      server.push("pushed while typing");
      const screen = await term.waitFor(
        (s) =>
          screenLines(s).includes(message("pushed while typing")) && lastLine(s) === "> partial",
        "the pushed message above the prompt, the prompt redrawn",
      );
      for (const line of screenLines(screen)) {
        if (line.includes("pushed")) {
          assert.equal(line, message("pushed while typing"), "on a line of its own");
        }
      }
      // The cursor stayed at the end of the typed text: what follows continues it.
      await term.type(" more");
      await term.press("Enter");
      await waitFor(() => server.received.length === 2, 10_000, "partial more");
      assert.equal(server.received[1], "partial more");

      // History: Up recalls the last line.
      await term.press("Up");
      await term.waitFor((s) => lastLine(s) === "> partial more", "the recalled line");
      await term.press("Enter");
      await waitFor(() => server.received.length === 3, 10_000, "the recalled line sent");
      assert.equal(server.received[2], "partial more");

      await term.type("/ping");
      await term.press("Enter");
      await term.waitFor((s) => /^pong: round trip \d+\.\d\d ms$/m.test(s), "the RTT of /ping");

      await term.type("/binary 01 02 ff");
      await term.press("Enter");
      await waitFor(() => server.received.length === 4, 10_000, "the binary message");
      assert.deepEqual(server.received[3], new Uint8Array([1, 2, 255]));
      await term.waitFor(
        (s) => s.includes('ROM-WebSocket {"Event": "Message","Type": "Binary"} AQL/'),
        "its echo",
      );

      await term.type("/close 4001 done for today");
      await term.press("Enter");
      const end = await term.waitFor((s) => s.includes("[exit "), "the end of rom-ws");
      assert.ok(screenLines(end).includes(NORMAL), end);
      assert.equal(lastLine(end), "[exit 0]", end);
      await assertCookedMode(term);
      assert.deepEqual(await withTimeout(server.closed, 5000, "server close"), {
        code: 4001,
        reason: "done for today",
      });
    }, DEADLINE),
  );

  it(
    "Cyrillic typed at the prompt is sent as UTF-8 text, and its echo printed",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const term = await romWsTerminal([server.url]);
      scope.defer(() => term.close());
      await term.waitFor((s) => lastLine(s) === ">", "the prompt");
      await term.type("Привет мир!");
      await term.waitFor((s) => lastLine(s) === "> Привет мир!", "the typed text");
      await term.press("Enter");
      await term.waitFor((s) => screenLines(s).includes(message("Привет мир!")), "the echo");
      assert.deepEqual(server.received, ["Привет мир!"]);
      await term.type("/quit");
      await term.press("Enter");
      const end = await term.waitFor((s) => s.includes("[exit "), "the end of rom-ws");
      assert.equal(lastLine(end), "[exit 0]", end);
    }, DEADLINE),
  );

  it(
    "typed input that wraps over several rows is erased whole and redrawn below a message",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const [command, base] = romWsCommand();
      const term = await startTerminal(command, [...base, server.url, "--format", "plain"], {
        env: { NO_COLOR: "1" },
        columns: 40,
      });
      scope.defer(() => term.close());
      await term.waitFor((s) => lastLine(s) === ">", "the prompt");
      const long = "x".repeat(60); // "> " + 60 characters: two rows of 40 columns
      await term.type(long);
      await term.waitFor((s) => screenLines(s).slice(-2).join("") === `> ${long}`, "two rows");
      server.push("pushed");
      const screen = await term.waitFor(
        (s) =>
          screenLines(s).includes("pushed") && screenLines(s).slice(-2).join("") === `> ${long}`,
        "the message, then the two rows again",
      );
      const rows = screenLines(screen);
      assert.equal(rows.filter((l) => l.includes("xxx")).length, 2, `no stale row:\n${screen}`);
      assert.equal(rows.at(-3), "pushed", screen);
      await term.press("Enter");
      await waitFor(() => server.received.length === 1, 10_000, "the long line");
      assert.equal(server.received[0], long);
    }, DEADLINE),
  );

  it(
    "--format pretty: colours on a terminal; Ctrl-D closes with 1000: exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const term = await romWsTerminal([server.url, "--format", "pretty"], { NO_COLOR: undefined });
      scope.defer(() => term.close());
      await term.waitFor((s) => s.includes("connected to") && lastLine(s) === ">", "connected");
      server.push('{"a":1}');
      await term.waitFor((s) => s.includes('"a": 1'), "the indented message");
      const coloured = await term.screen(true);
      assert.ok(coloured.includes(`${ESC}32mconnected to`), `green status line:\n${coloured}`);
      assert.ok(coloured.includes(`${ESC}36m< `), `cyan message marker:\n${coloured}`);
      await term.press("C-d");
      const end = await term.waitFor((s) => s.includes("[exit "), "the end of rom-ws");
      assert.match(end, /^closed \(1000\)$/m);
      assert.equal(lastLine(end), "[exit 0]", end);
      assert.equal((await withTimeout(server.closed, 5000, "server close")).code, 1000);
    }, DEADLINE),
  );

  it(
    "NO_COLOR: no colours on a terminal; Ctrl-C quits like /quit: exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const term = await romWsTerminal([server.url, "--format", "pretty"], { NO_COLOR: "1" });
      scope.defer(() => term.close());
      await term.waitFor((s) => s.includes("connected to") && lastLine(s) === ">", "connected");
      server.push("plain");
      await term.waitFor((s) => s.includes("< plain"), "the message");
      const screen = await term.screen(true);
      assert.ok(!screen.includes(`${ESC}3`), `no colour codes:\n${screen}`);
      await term.type("typed, not sent");
      await term.press("C-c");
      const end = await term.waitFor((s) => s.includes("[exit "), "the end of rom-ws");
      assert.equal(lastLine(end), "[exit 0]", end);
      await assertCookedMode(term);
      assert.equal((await withTimeout(server.closed, 5000, "server close")).code, 1000);
      assert.deepEqual(server.received, [], "the half-typed line was not sent");
    }, DEADLINE),
  );

  it(
    "the server drops the connection under the prompt: Close Drop, exit 1, the terminal back",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startDrivenServer());
      const term = await romWsTerminal([server.url]);
      scope.defer(() => term.close());
      await term.waitFor((s) => s.includes(OPEN) && lastLine(s) === ">", "the prompt");
      server.drop();
      const end = await term.waitFor((s) => s.includes("[exit "), "the end of rom-ws");
      assert.ok(screenLines(end).includes(DROP), end);
      assert.match(end, /rom-ws: connection dropped: /);
      assert.equal(lastLine(end), "[exit 1]", end);
      await assertCookedMode(term);
    }, DEADLINE),
  );
});
