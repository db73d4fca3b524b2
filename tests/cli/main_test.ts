/**
 * The `rom-ws` command line (src/cli/main.ts, run by src/cli/bin.ts), as a subprocess of the
 * CURRENT runtime: Deno runs `deno run -A src/cli/bin.ts`, Bun runs `bun src/cli/bin.ts`, Node.js
 * runs an esbuild bundle of it. Exit statuses (0 closed by rom-ws, 1 a bad URL, a failed
 * connection or one the server ended, 2 bad usage), the output formats, stdin lines sent as
 * messages, --regex, --header, and the embedded echo demo. The other flags: `flags_test.ts`; the
 * terminal: `interactive_test.ts`.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VERSION } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { startHostileServer } from "../_util/hostile.ts";
import { closedPort, runtimeName, startEchoServer } from "../_util/servers.ts";
import { bundle, commandFor, run, type RunResult, start } from "../_util/subprocess.ts";

/** The runnable CLI entry: src/cli/bin.ts runs it on every runtime, whatever the bundle is called. */
const ENTRY = "src/cli/bin.ts";
/** Subprocess safety net (a Deno or Bun start takes well under a second; this is generous). */
const PROCESS_MS = 20_000;
const DEADLINE = 25_000;
const OPTIONS = { timeout: 30_000 } as const;

const OPEN = 'ROM-WebSocket {"Event": "Connection","State": "Open"} {"Connection": "Open"}';
const CLOSE_NORMAL =
  'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Normal"} {"Connection": "Close"}';
const FAIL = 'ROM-WebSocket {"Event": "Connection","State": "Fail"} {"Connection": "Fail"}';
const message = (text: string) => `ROM-WebSocket {"Event": "Message"} ${text}`;

/** Runs rom-ws with `args` (the Node.js bundle is named cli.mjs, see the last test). */
function romWs(args: string[], stdin = ""): Promise<RunResult> {
  const [command, base] = commandFor(ENTRY, "cli-test/cli.mjs");
  return run(command, [...base, ...args], { stdin, timeout: PROCESS_MS });
}

/** The output lines (without the trailing empty one). */
function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.at(-1) === "") all.pop();
  return all;
}

function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}\n--- stdout\n${r.stdout}--- stderr\n` +
    r.stderr;
}

describe("rom-ws", () => {
  it(
    "with no URL: exactly the three ROM lines (Open, Message Привет мир!, Close Normal), exit 0",
    OPTIONS,
    guarded(async () => {
      const r = await romWs([]);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(
        lines(r.stdout),
        [OPEN, message("Привет мир!"), CLOSE_NORMAL],
        describeRun(r),
      );
    }, DEADLINE),
  );

  it(
    "with a URL and stdin lines (default format rom): sends each line, prints the echoes, exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/cli")], 'one\nдва\n{"json": true}\n');
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(
        lines(r.stdout),
        [OPEN, message("one"), message("два"), message('{"json": true}'), CLOSE_NORMAL],
        describeRun(r),
      );
      const connection = await server.connection(0);
      assert.equal(connection.messages, 3);
      assert.equal(connection.path, "/cli");
      assert.equal((await withTimeout(connection.closed, 4000, "server close")).code, 1000);
    }, DEADLINE),
  );

  it(
    "interactively: each line is sent as it is typed, and its echo printed before the next",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const [command, base] = commandFor(ENTRY, "cli-test/cli.mjs");
      let waiter: { text: string; resolve: () => void } | undefined;
      const child = start(command, [...base, server.url("/"), "--format", "plain"], {
        timeout: PROCESS_MS,
        onStdout: (_chunk, all) => {
          if (waiter && all.includes(waiter.text)) waiter.resolve();
        },
      });
      scope.defer(() => child.kill("SIGKILL"));
      const echoed = (text: string) =>
        withTimeout(
          new Promise<void>((resolve) => {
            waiter = { text, resolve };
            if (child.stdout().includes(text)) resolve();
          }),
          PROCESS_MS,
          `echo of ${text}; stdout: ${child.stdout()} stderr: ${child.stderr()}`,
        );
      child.write("first line\n");
      await echoed("first line\n");
      child.write("вторая строка\n");
      await echoed("вторая строка\n");
      child.end();
      const r = await child.result;
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), ["first line", "вторая строка"]);
    }, DEADLINE),
  );

  it(
    "--format plain: only message texts on stdout, connection events on stderr",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "--format", "plain"], "one\nПривет мир!\n");
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), ["one", "Привет мир!"], describeRun(r));
      assert.match(r.stderr, /\{"Event": "Connection","State": "Open"\}/);
      assert.match(r.stderr, /\{"Event": "Connection","State": "Close","Reason": "Normal"\}/);
    }, DEADLINE),
  );

  it(
    "--format json: one JSON object per event, on stdout",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "--format", "json"], "one\nдва\n");
      assert.equal(r.code, 0, describeRun(r));
      const events = lines(r.stdout).map((line) => JSON.parse(line));
      assert.deepEqual(events, [
        {
          source: "ROM-WebSocket",
          event: { Event: "Connection", State: "Open" },
          data: '{"Connection": "Open"}',
        },
        { source: "ROM-WebSocket", event: { Event: "Message" }, data: "one" },
        { source: "ROM-WebSocket", event: { Event: "Message" }, data: "два" },
        {
          source: "ROM-WebSocket",
          event: { Event: "Connection", State: "Close", Reason: "Normal" },
          data: '{"Connection": "Close"}',
        },
      ], describeRun(r));
    }, DEADLINE),
  );

  it(
    "--regex: only matching messages are printed (all lines are still sent)",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs(
        [server.url("/"), "--format", "plain", "--regex", "(?i)^keep"],
        "keep 1\ndrop\nKEEP 2\nalso drop\n",
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), ["keep 1", "KEEP 2"], describeRun(r));
      assert.equal((await server.connection(0)).messages, 4);
    }, DEADLINE),
  );

  it(
    "--regex with a refused PCRE construct: exit 2, the construct named on stderr",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "--regex", "(?>atomic)"]);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /atomic/);
      assert.equal(server.connections.length, 0, "no connection for a refused pattern");
    }, DEADLINE),
  );

  it(
    "--header and --protocol reach the server",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/"),
        "--header",
        "Authorization: Basic dXNlcjpwYXNz",
        "-H",
        "X-Extra:value with spaces",
        "--protocol",
        "chat",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      const connection = await server.connection(0);
      assert.equal(connection.headers["authorization"], "Basic dXNlcjpwYXNz");
      assert.equal(connection.headers["x-extra"], "value with spaces");
      assert.equal(connection.protocol, "chat");
    }, DEADLINE),
  );

  it(
    "a refused port: exit 1, the Fail line on stdout and one clear line on stderr",
    OPTIONS,
    guarded(async () => {
      const port = await closedPort();
      const url = `ws://127.0.0.1:${port}/`;
      const r = await romWs([url]);
      assert.equal(r.code, 1, describeRun(r));
      assert.deepEqual(lines(r.stdout), [FAIL], describeRun(r));
      const err = lines(r.stderr);
      assert.equal(err.length, 1, `one line on stderr: ${describeRun(r)}`);
      assert.ok(err[0].startsWith(`rom-ws: cannot connect to ${url}`), err[0]);
      assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace");
    }, DEADLINE),
  );

  it(
    "a 401 handshake: exit 1, the status on stderr",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          handshake: () =>
            'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="ari"\r\n' +
            "Content-Length: 0\r\nConnection: close\r\n\r\n",
        }),
      );
      const r = await romWs([server.url("/ari/events?app=x")]);
      assert.equal(r.code, 1, describeRun(r));
      assert.deepEqual(lines(r.stdout), [FAIL], describeRun(r));
      assert.equal(lines(r.stderr).length, 1, describeRun(r));
      assert.match(r.stderr, /401/);
    }, DEADLINE),
  );

  it(
    "the server drops the connection: exit 1, Close Drop printed, the drop on stderr",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      // Standard input stays open: the CLI must end because of the drop, not because its input
      // ended (which would make it Disconnect, racing the drop).
      const [command, base] = commandFor(ENTRY, "cli-test/cli.mjs");
      const r = await run(command, [...base, server.url("/drop")], {
        timeout: PROCESS_MS,
        onStdout: () => {},
      });
      assert.equal(r.code, 1, describeRun(r));
      assert.deepEqual(
        lines(r.stdout),
        [
          OPEN,
          'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Drop"} {"Connection": "Close"}',
        ],
        describeRun(r),
      );
      assert.match(r.stderr, /rom-ws: connection dropped/);
    }, DEADLINE),
  );

  for (const url of ["http://x", "garbage", "ws://host/#fragment"]) {
    it(
      `a bad URL (${url}): exit 1, the Fail line, and why on stderr`,
      OPTIONS,
      guarded(async () => {
        const r = await romWs([url]);
        assert.equal(r.code, 1, describeRun(r));
        assert.deepEqual(lines(r.stdout), [FAIL], describeRun(r));
        assert.equal(lines(r.stderr).length, 1, describeRun(r));
        assert.ok(r.stderr.startsWith(`rom-ws: cannot connect to ${url}: `), r.stderr);
      }, DEADLINE),
    );
  }

  for (
    const args of [
      ["--format", "xml"],
      ["--timeout", "0"],
      ["--timeout"],
      ["--bogus"],
      ["ws://a/", "ws://b/"],
      ["--header", "NoColon"],
      ["--format"],
      ["--wait", "-1"],
      ["--auth", "no-colon"],
      ["--cert", "c.pem"],
      ["--proxy", "http://p:1", "--no-proxy"],
      ["--no-compression=yes"],
      ["-x"],
    ]
  ) {
    it(
      `bad usage (${args.join(" ")}): exit 2 with the usage`,
      OPTIONS,
      guarded(async () => {
        const r = await romWs(args);
        assert.equal(r.code, 2, describeRun(r));
        assert.match(r.stderr, /usage: rom-ws/);
        assert.equal(r.stdout, "");
      }, DEADLINE),
    );
  }

  it(
    "--help: exit 0, the usage on stdout; --version: the library version",
    OPTIONS,
    guarded(async () => {
      const help = await romWs(["--help"]);
      assert.equal(help.code, 0, describeRun(help));
      assert.match(help.stdout, /^usage: rom-ws \[url\] \[options\]/);
      for (
        const option of [
          "--execute",
          "--wait",
          "--header",
          "--protocol",
          "--auth",
          "--ca",
          "--cert",
          "--key",
          "--insecure",
          "--proxy",
          "--no-proxy",
          "--no-compression",
          "--reconnect",
          "--show-ping-pong",
          "--regex",
          "--timeout",
          "--format",
          "--no-listen",
          "--no-color",
          "/ping",
          "/close",
          "/binary",
          "/quit",
          "exit status",
        ]
      ) {
        assert.ok(help.stdout.includes(option), `--help mentions ${option}`);
      }
      const version = await romWs(["--version"]);
      assert.equal(version.code, 0, describeRun(version));
      assert.equal(version.stdout.trim(), VERSION);
    }, DEADLINE),
  );

  it(
    "--no-listen: prints no events, still sends and closes cleanly",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "--no-listen"], "quiet\n");
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout, "");
      assert.equal((await server.connection(0)).messages, 1);
    }, DEADLINE),
  );

  it(
    "a bundle of the CLI runs under any file name (here .build/cli-test.mjs)",
    OPTIONS,
    guarded(async () => {
      // src/cli/bin.ts runs the CLI when imported: no entry-point guessing from the file name.
      const file = bundle(ENTRY, ".build/cli-test.mjs");
      const runtime = runtimeName();
      const deno = (globalThis as unknown as { Deno?: { execPath(): string } }).Deno;
      const [command, args] = runtime === "deno"
        ? [deno!.execPath(), ["run", "-A", file]]
        : [(await import("node:process")).default.execPath, [file]];
      const r = await run(command, [...args, "--version"], { timeout: PROCESS_MS });
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout.trim(), VERSION, `the bundle did nothing: ${describeRun(r)}`);
    }, DEADLINE),
  );
});
