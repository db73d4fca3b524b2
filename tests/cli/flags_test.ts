/**
 * `rom-ws` without a terminal (src/cli/main.ts as a subprocess of the current runtime): `-x` with
 * `--wait` and slash commands, the four formats, `--show-ping-pong`, `--auth`, `--ca`/`--cert`/
 * `--key`/`--insecure` against real TLS servers, `--proxy` through tinyproxy, `--no-compression`,
 * `--reconnect`, colours off a terminal, SIGINT, and the exit statuses (0 closed by rom-ws, 1
 * ended by the server or not opened, 2 bad usage). The terminal itself: `interactive_test.ts`.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { deferred, guarded, withTimeout } from "../_util/async.ts";
import {
  describeRun,
  DROP,
  lines,
  message,
  NORMAL,
  OPEN,
  PROCESS_MS,
  romWs,
  romWsCommand,
} from "../_util/cli.ts";
import { start } from "../_util/subprocess.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import {
  makeCertificates,
  opensslAvailable,
  startMutualTlsEchoServer,
  startTlsEchoServer,
} from "../_util/tls.ts";
import { startTinyproxy, type Tinyproxy, tinyproxyPath } from "../_util/tinyproxy.ts";

const DEADLINE = 25_000;
const OPTIONS = { timeout: 30_000 } as const;

describe("rom-ws -x", () => {
  it(
    "sends each message in order, runs slash commands, waits, closes: exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/x"),
        "-x",
        "first",
        "-x",
        "/binary 01 02 ff",
        "-x",
        "//slash",
        "-x",
        "/ping",
        "--wait",
        "0.5",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), [
        OPEN,
        message("first"),
        'ROM-WebSocket {"Event": "Message","Type": "Binary"} AQL/',
        message("/slash"),
        NORMAL,
      ], describeRun(r));
      assert.match(r.stderr, /^pong: round trip \d+\.\d\d ms$/m, describeRun(r));
      const connection = await server.connection(0);
      assert.equal(connection.messages, 3);
      assert.equal((await withTimeout(connection.closed, 4000, "server close")).code, 1000);
    }, DEADLINE),
  );

  it(
    "/close CODE REASON in -x closes with them and ends the run (later -x are not run)",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/"),
        "-x",
        "/close 4321 see you later",
        "-x",
        "never sent",
        "--format",
        "plain",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout, "");
      const closed = await withTimeout((await server.connection(0)).closed, 4000, "server close");
      assert.deepEqual(closed, { code: 4321, reason: "see you later" });
      assert.equal((await server.connection(0)).messages, 0);
    }, DEADLINE),
  );

  it(
    "a refused close code or bad hex is reported and the run goes on",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/"),
        "-x",
        "/close 1004",
        "-x",
        "/binary xyz",
        "-x",
        "/nope",
        "-x",
        "still here",
        "--wait",
        "0.3",
        "--format",
        "plain",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), ["still here"], describeRun(r));
      assert.match(r.stderr, /cannot close: .*1004/);
      assert.match(r.stderr, /\/binary wants hex bytes/);
      assert.match(r.stderr, /unknown command \/nope/);
    }, DEADLINE),
  );

  it(
    "the server closes during the wait: exit 1 at once, the reason on stderr",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const started = performance.now();
      const r = await romWs([server.url("/close/4000"), "-x", "hi", "--wait", "15"]);
      assert.equal(r.code, 1, describeRun(r));
      assert.ok(performance.now() - started < 12_000, "did not wait the 15 s out");
      assert.equal(lines(r.stdout).at(-1), DROP, describeRun(r));
      assert.match(r.stderr, /rom-ws: connection closed by the server: code 4000 "bye"/);
    }, DEADLINE),
  );

  it(
    "--show-ping-pong prints the pong of /ping (rom: an extension event, payload in hex)",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "-x", "/ping", "--wait", "0.2", "--show-ping-pong"]);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), [
        OPEN,
        'ROM-WebSocket {"Event": "Pong"} 70 00 00 00 01',
        NORMAL,
      ], describeRun(r));
    }, DEADLINE),
  );
});

describe("rom-ws --format", () => {
  it(
    "json: binary as base64 under the binary event",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/"),
        "-x",
        "/binary 00ff",
        "-w",
        "0.2",
        "--format",
        "json",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      const events = lines(r.stdout).map((line) => JSON.parse(line));
      assert.deepEqual(events[1], {
        source: "ROM-WebSocket",
        event: { Event: "Message", Type: "Binary" },
        data: "AP8=",
      });
      assert.equal(events.length, 3);
    }, DEADLINE),
  );

  it(
    "pretty: JSON messages indented on stdout, events in words on stderr, no colours off a terminal",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs(
        [
          server.url("/"),
          "-x",
          '{"id":1,"tags":["a"]}',
          "-x",
          "plain text",
          "-w",
          "0.3",
          "--format",
          "pretty",
        ],
        { env: { NO_COLOR: "" } }, // not a terminal: no colours even without NO_COLOR
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(
        r.stdout,
        '< {\n  "id": 1,\n  "tags": [\n    "a"\n  ]\n}\n< plain text\n',
        describeRun(r),
      );
      assert.match(r.stderr, new RegExp(`^connected to ${server.url("/")}$`, "m"));
      assert.match(r.stderr, /^closed \(1000\)$/m);
      assert.ok(!r.stdout.includes("\x1b[") && !r.stderr.includes("\x1b["), "no escape codes");
    }, DEADLINE),
  );

  it(
    "plain: binary messages as hex",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/"),
        "-x",
        "/binary 0a0b",
        "-w",
        "0.2",
        "--format",
        "plain",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout, "0a 0b\n");
    }, DEADLINE),
  );
});

describe("rom-ws connection flags", () => {
  it(
    "--auth sends a Basic Authorization header",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/"), "--auth", "asterisk:s3cr:et", "-x", "", "-w", "0"]);
      assert.equal(r.code, 0, describeRun(r));
      const connection = await server.connection(0);
      assert.equal(connection.headers["authorization"], `Basic ${btoa("asterisk:s3cr:et")}`);
    }, DEADLINE),
  );

  it(
    "compression is offered by default and not with --no-compression",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws", { compression: true }));
      const offered = await romWs([server.url("/"), "-x", "a", "-w", "0.2", "--format", "pretty"]);
      assert.equal(offered.code, 0, describeRun(offered));
      assert.match(
        (await server.connection(0)).headers["sec-websocket-extensions"] ?? "",
        /permessage-deflate/,
      );
      assert.match(offered.stderr, /connected to .*permessage-deflate/);
      const r = await romWs([server.url("/"), "--no-compression", "-x", "a", "-w", "0.2"]);
      assert.equal(r.code, 0, describeRun(r));
      assert.equal((await server.connection(1)).headers["sec-websocket-extensions"], undefined);
    }, DEADLINE),
  );

  it(
    "--reconnect: a drop is followed by a new connection, until rom-ws closes (exit 0)",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([server.url("/drop"), "--reconnect", "-x", "/stats", "-w", "2.5"]);
      assert.equal(r.code, 0, describeRun(r));
      const out = lines(r.stdout);
      assert.ok(out.filter((l) => l === OPEN).length >= 2, describeRun(r));
      assert.ok(out.includes(DROP), describeRun(r));
      assert.match(r.stderr, /reconnecting in \d+ ms \(attempt 1\)/);
      assert.ok(server.connections.length >= 2);
    }, DEADLINE),
  );

  it(
    "a refused --proxy: exit 1 with why (the option reaches the client)",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const port = await closedPort();
      const r = await romWs([server.url("/"), "--proxy", `http://127.0.0.1:${port}`, "-x", "a"]);
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`rom-ws: cannot connect to .*127\\.0\\.0\\.1:${port}`));
      assert.equal(server.connections.length, 0);
    }, DEADLINE),
  );

  it(
    "the proxy environment is honoured, and --no-proxy ignores it",
    OPTIONS,
    guarded(async (scope) => {
      // A proxy variable naming a closed port: the default follows it (and fails), --no-proxy
      // connects directly.
      const server = scope.use(await startEchoServer("ws"));
      const port = await closedPort();
      const env = { http_proxy: `http://127.0.0.1:${port}`, HTTP_PROXY: "" };
      const viaEnv = await romWs([server.url("/"), "-x", "a"], { env });
      assert.equal(viaEnv.code, 1, describeRun(viaEnv));
      assert.match(viaEnv.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.equal(server.connections.length, 0);
      const direct = await romWs([server.url("/"), "--no-proxy", "-x", "a", "-w", "0.2"], { env });
      assert.equal(direct.code, 0, describeRun(direct));
      assert.deepEqual(lines(direct.stdout), [OPEN, message("a"), NORMAL], describeRun(direct));
      assert.equal(server.connections.length, 1);
    }, DEADLINE),
  );

  it(
    "an unreadable --ca file: exit 2, the file named",
    OPTIONS,
    guarded(async () => {
      const r = await romWs(["wss://127.0.0.1:1/", "--ca", "/nonexistent/ca.pem"]);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /rom-ws: cannot read the --ca file \/nonexistent\/ca\.pem/);
      assert.equal(r.stdout, "");
    }, DEADLINE),
  );
});

const tinyproxy = tinyproxyPath();
describe("rom-ws --proxy through tinyproxy", {
  skip: tinyproxy || process.env.CI
    ? false
    : "tinyproxy is not installed (apt-get install tinyproxy)",
}, () => {
  let proxy: Tinyproxy;
  before(async () => {
    proxy = await startTinyproxy();
  });
  after(async () => {
    await proxy?.stop();
  });
  it(
    "tunnels the connection with CONNECT",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const r = await romWs([
        server.url("/p"),
        "--proxy",
        proxy.url,
        "-x",
        "via proxy",
        "-w",
        "0.3",
      ]);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), [OPEN, message("via proxy"), NORMAL], describeRun(r));
      assert.match(proxy.log(), /CONNECT/);
    }, DEADLINE),
  );
});

describe(
  "rom-ws TLS flags",
  { skip: opensslAvailable() ? false : "openssl is not available" },
  () => {
    let dir: string;
    before(() => {
      const certificates = makeCertificates();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "rom-ws-cli-"));
      for (const name of ["ca", "clientCert", "clientKey"] as const) {
        fs.writeFileSync(path.join(dir, `${name}.pem`), certificates[name]);
      }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it(
      "an untrusted certificate: exit 1; --insecure or --ca: exit 0",
      OPTIONS,
      guarded(async (scope) => {
        const server = scope.use(await startTlsEchoServer("ws"));
        const url = server.url("/");
        const refused = await romWs([url, "-x", "a", "-w", "0"]);
        assert.equal(refused.code, 1, describeRun(refused));
        assert.match(refused.stderr, /rom-ws: cannot connect to wss:/);
        const insecure = await romWs([url, "--insecure", "-x", "a", "-w", "0.2"]);
        assert.equal(insecure.code, 0, describeRun(insecure));
        assert.deepEqual(lines(insecure.stdout), [OPEN, message("a"), NORMAL]);
        const trusted = await romWs([
          url,
          "--ca",
          path.join(dir, "ca.pem"),
          "-x",
          "b",
          "-w",
          "0.2",
        ]);
        assert.equal(trusted.code, 0, describeRun(trusted));
        assert.deepEqual(lines(trusted.stdout), [OPEN, message("b"), NORMAL]);
      }, DEADLINE),
    );

    it(
      "--cert and --key: a server that requires a client certificate accepts it",
      OPTIONS,
      guarded(async (scope) => {
        const server = scope.use(await startMutualTlsEchoServer());
        const r = await romWs([
          server.url("/"),
          "--ca",
          path.join(dir, "ca.pem"),
          "--cert",
          path.join(dir, "clientCert.pem"),
          "--key",
          path.join(dir, "clientKey.pem"),
          "-x",
          "mutual",
          "-w",
          "0.2",
        ]);
        assert.equal(r.code, 0, describeRun(r));
        assert.deepEqual(lines(r.stdout), [OPEN, message("mutual"), NORMAL]);
        assert.equal(server.peers[0]?.authorized, true);
      }, DEADLINE),
    );
  },
);

describe("rom-ws and SIGINT", () => {
  it(
    "SIGINT while reading standard input closes with 1000: Close Normal, exit 0",
    OPTIONS,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const [command, base] = romWsCommand();
      const opened = deferred<void>();
      const child = start(command, [...base, server.url("/")], {
        timeout: PROCESS_MS,
        onStdout: (_chunk, all) => {
          if (all.includes(OPEN)) opened.resolve();
        },
      });
      scope.defer(() => child.kill("SIGKILL"));
      await withTimeout(opened.promise, PROCESS_MS, "the Open line");
      child.kill("SIGINT");
      const r = await child.result;
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(lines(r.stdout), [OPEN, NORMAL], describeRun(r));
      assert.equal(
        (await withTimeout((await server.connection(0)).closed, 4000, "close")).code,
        1000,
      );
    }, DEADLINE),
  );
});
