/**
 * RomWebSocket misuse answers false and never throws (ARCHITECTURE.md §7, README "Misuse returns false"):
 * Send/Disconnect while not connected, Connect while connected or connecting, invalid URIs (with a
 * Fail event), Send after a drop. Then the extensions: SetHeader, binary mappings, a throwing
 * handler, and the `reconnect` option (Close Drop, then Open again).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RomWebSocket } from "../../src/rom/mod.ts";
import { delay, guarded, stillPending, withTimeout } from "../_util/async.ts";
import { closePayload, frame, Op, startHostileServer } from "../_util/hostile.ts";
import { closedPort, serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  assertRaised,
  BINARY_MESSAGE,
  CLOSE_DROP,
  CLOSE_NORMAL,
  connectOpen,
  FAIL,
  MESSAGE,
  newRom,
  OPEN,
  release,
  STEP,
  timed,
} from "../_util/rom.ts";
import { commandFor, run } from "../_util/subprocess.ts";

const encoder = new TextEncoder();

describe("misuse answers false, never throws", () => {
  it(
    "Send and Disconnect before any Connect: false, no event",
    guarded(async (scope) => {
      const { rom, rec } = newRom(scope);
      assert.equal(await rom.Send("x"), false);
      assert.equal(await rom.Send(encoder.encode("x")), false);
      assert.equal(await rom.Disconnect(), false);
      assert.equal(await rom.Отправить("x"), false);
      assert.equal(await rom.Отключиться(), false);
      assert.equal(rom.Connected, false);
      assert.deepEqual(rec.events, []);
    }),
  );

  it(
    "Send and Disconnect after Disconnect: false, no further event",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Disconnect(), true);
      assert.equal(await rom.Send("late"), false);
      assert.equal(await rom.Disconnect(), false);
      await delay(30);
      assert.deepEqual(rec.events, [OPEN.event, CLOSE_NORMAL.event]);
    }),
  );

  it(
    "Connect while connected: false, the open connection is untouched",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/first"));
      const client = rom.client;
      rom.Timeout = 0;
      assert.equal(await rom.Connect(server.url("/second")), false);
      rom.Timeout = 3;
      assert.equal(await rom.Connect(server.url("/third")), false);
      assert.equal(rom.client, client);
      assert.equal(rom.Connected, true);
      assert.equal(await rom.Send("still here"), true);
      await rec.wait(MESSAGE);
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE]);
      assert.equal(server.connections.length, 1);
      assert.equal(server.connections[0].path, "/first");
    }),
  );

  it(
    "Connect while connecting: false (Timeout 0 and Timeout 5); Disconnect aborts the attempt",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      assert.equal(await rom.Connect(server.url("/a")), true); // attempt started, pending
      assert.equal(await rom.Connect(server.url("/b")), false);
      rom.Timeout = 5;
      assert.equal(await rom.Connect(server.url("/c")), false);
      assert.equal(rom.Connected, false);
      const connection = await server.connection(0);
      await withTimeout(connection.request, STEP, "the handshake request arrived");

      // Disconnect while connecting: false (it was not connected), the attempt is aborted.
      assert.equal(await rom.Disconnect(), false);
      await withTimeout(connection.clientGone, STEP, "attempt aborted");
      await delay(30);
      assert.equal(rec.of(OPEN.event).length, 0);
      assert.equal(rec.of(CLOSE_DROP.event).length, 0, "no Close for a connection never open");
      assert.equal(rec.of(CLOSE_NORMAL.event).length, 0, "no Close for a connection never open");
      assert.equal(server.connections.length, 1, "only the first Connect reached the server");
    }),
  );

  it(
    "two concurrent Connect calls with Timeout 5: the second is false at once, the first true",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom } = newRom(scope);
      rom.Timeout = 5;
      const first = rom.Connect(server.url("/"));
      const second = rom.Connect(server.url("/"));
      assert.equal(await withTimeout(second, STEP, "second Connect"), false);
      assert.equal(await withTimeout(first, STEP, "first Connect"), true);
      assert.equal(server.connections.length, 1);
    }),
  );

  const invalid = [
    "http://127.0.0.1:8088/",
    "https://example.com/",
    "garbage",
    "",
    "ws://",
    "ws://host/path#fragment",
    "ftp://host/",
  ];
  for (const timeout of [0, 3]) {
    it(
      `invalid URIs (Timeout ${timeout}): false at once and a Fail event each`,
      guarded(async (scope) => {
        const { rom, rec } = newRom(scope);
        rom.Timeout = timeout;
        for (const [i, uri] of invalid.entries()) {
          const { value, ms } = await timed(rom.Connect(uri));
          assert.equal(value, false, `Connect(${JSON.stringify(uri)})`);
          assert.ok(ms < 1000, `Connect(${JSON.stringify(uri)}) took ${ms.toFixed(0)} ms`);
          assert.equal(rec.list.length, i + 1, `one event for ${JSON.stringify(uri)}`);
          assertRaised(rec.list[i], FAIL, `Fail for ${JSON.stringify(uri)}`);
          assert.notEqual(rom.LastError, "", `LastError for ${JSON.stringify(uri)}`);
          assert.equal(rom.Connected, false);
        }
        assert.equal(await rom.Connect(undefined as unknown as string), false);
        assert.equal(await rom.Connect(null as unknown as string), false);
        assert.equal(rec.list.length, invalid.length + 2);
      }),
    );
  }

  it(
    "an invalid URI after a working connection does not touch it (Connect false: connected)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Connect("http://x"), false);
      assert.equal(rom.Connected, true);
      await delay(20);
      assert.deepEqual(rec.events, [OPEN.event]);
    }),
  );

  for (const kind of serverKinds()) {
    it(
      `Send after the server dropped the connection: false (${kind})`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        rom.Timeout = 5;
        assert.equal(await rom.Connect(server.url("/drop")), true); // the drop follows at once
        await rec.wait(CLOSE_DROP.event);
        assert.equal(rom.Connected, false);
        assert.equal(await rom.Send("too late"), false);
        assert.equal(await rom.Disconnect(), false);
        await delay(20);
        assert.deepEqual(rec.events, [OPEN.event, CLOSE_DROP.event]);
      }),
    );
  }

  it(
    "Disconnect racing a server drop neither throws nor turns the Drop into Close Normal",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      // The client's error event for the drop fires after the transport ended and before the
      // connection is settled: the moment a program calling Disconnect can hit by timing alone
      // (rom-ws does, after a /drop). Calling it there makes the race deterministic.
      let outcome: Promise<unknown> | undefined;
      rom.client!.addEventListener("error", () => {
        outcome ??= rom.Disconnect().then(
          (value) => ({ value }),
          (error: Error) => ({ error: `${error.name}: ${error.message}` }),
        );
      });
      (await server.connection(0)).destroy();
      await rec.wait(CLOSE_NORMAL.event, 1, STEP).catch(() => rec.wait(CLOSE_DROP.event));
      assert.ok(outcome, "the error event fired");
      const result = await withTimeout(outcome, STEP, "Disconnect settled");
      assert.deepEqual(result, { value: false }, "Disconnect after a drop: false, no rejection");
      assert.deepEqual(rec.events, [OPEN.event, CLOSE_DROP.event], "the server dropped first");
    }),
  );

  it(
    "Send converts non-strings like 1C does (number, boolean) and sends them as text",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send(42 as unknown as string), true);
      assert.equal(await rom.Send(true as unknown as string), true);
      await rec.wait(MESSAGE, 2);
      assert.deepEqual(rec.messages, ["42", "true"]);
    }),
  );
});

describe("SetHeader / УстановитьЗаголовок", () => {
  for (const kind of serverKinds()) {
    it(
      `headers reach the server; same name replaces; invalid ones are refused (${kind})`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom } = newRom(scope);
        const authorization = `Basic ${btoa("ari-user:s3cret")}`;
        assert.equal(rom.SetHeader("Authorization", authorization), true);
        assert.equal(rom.SetHeader("X-Rom-Test", "first"), true);
        assert.equal(rom.SetHeader("x-rom-test", "second"), true, "same name, any case: replaces");
        assert.equal(rom.УстановитьЗаголовок("X-Rom-Alias", "via alias"), true);
        assert.equal(rom.SetHeader("X-Bad", "a\r\nInjected: yes"), false);
        assert.equal(rom.SetHeader("X-Bad\n", "v"), false);
        assert.equal(rom.SetHeader("", "v"), false);
        await connectOpen(rom, server.url("/ari/events?app=test"));
        const headers = (await server.connection(0)).headers;
        assert.equal(headers["authorization"], authorization);
        assert.equal(headers["x-rom-test"], "second");
        assert.equal(headers["x-rom-alias"], "via alias");
        assert.equal(headers["x-bad"], undefined);
        assert.equal(headers["injected"], undefined);
        assert.equal((await server.connection(0)).path, "/ari/events?app=test");
      }),
    );
  }

  it(
    "headers persist for the next Connect of the same object",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom } = newRom(scope);
      rom.SetHeader("X-Persist", "yes");
      await connectOpen(rom, server.url("/1"));
      assert.equal(await rom.Disconnect(), true);
      await connectOpen(rom, server.url("/2"));
      assert.equal((await server.connection(1)).headers["x-persist"], "yes");
    }),
  );

  it(
    "a header the handshake owns is refused by SetHeader or fails the Connect with a Fail event",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      const accepted = rom.SetHeader("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==");
      if (!accepted) return; // refused up front: fine
      rom.Timeout = 3;
      assert.equal(await rom.Connect(server.url("/")), false);
      assertRaised(rec.list[0], FAIL, "Fail");
      assert.match(rom.LastError, /sec-websocket-key/i);
    }),
  );
});

describe("binary messages", () => {
  it(
    "default mapping: a Message event with the bytes decoded as UTF-8",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send(encoder.encode("Привет мир!")), true);
      assert.equal(await rom.Send(new Uint8Array([0x61, 0xff, 0x62])), true);
      assert.equal(await rom.Send("text"), true);
      await rec.wait(MESSAGE, 3);
      assertRaised(rec.list[1], { event: MESSAGE, data: "Привет мир!" }, "binary as text");
      assert.deepEqual(rec.messages, ["Привет мир!", "a\uFFFDb", "text"]);
    }),
  );

  it(
    "binary base64: the Binary Message event with base64 data",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope, { binary: "base64" });
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send(new Uint8Array([0, 1, 2, 255])), true);
      assert.equal(await rom.Send("text stays text"), true);
      assert.equal(await rom.Send(new Uint8Array(0)), true);
      assert.equal(await rom.Send(encoder.encode("Привет")), true);
      await rec.waitCount(5);
      assertRaised(rec.list[1], { event: BINARY_MESSAGE, data: "AAEC/w==" }, "binary as base64");
      assertRaised(rec.list[2], { event: MESSAGE, data: "text stays text" }, "text");
      assertRaised(rec.list[3], { event: BINARY_MESSAGE, data: "" }, "empty binary");
      assertRaised(rec.list[4], { event: BINARY_MESSAGE, data: "0J/RgNC40LLQtdGC" }, "UTF-8 bytes");
    }),
  );

  it(
    "binary ignore: binary messages are dropped, text goes on",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope, { binary: "ignore" });
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send(new Uint8Array([1, 2, 3])), true);
      assert.equal(await rom.Send("after the binary"), true);
      await rec.wait(MESSAGE);
      await withTimeout(rom.client!.ping(), STEP, "ping");
      await delay(20);
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE]);
      assert.deepEqual(rec.messages, ["after the binary"]);
      assert.equal((await server.connection(0)).messages, 2);
    }),
  );

  it(
    "a server's binary frame (raw) under each mapping",
    guarded(async (scope) => {
      const bytes = encoder.encode("bin");
      const server = scope.use(
        await startHostileServer({ handshake: "accept", afterHandshake: frame(Op.BINARY, bytes) }),
      );
      const results: string[] = [];
      for (const binary of ["text", "base64", "ignore"] as const) {
        const { rom, rec } = newRom(scope, { binary });
        await connectOpen(rom, server.url("/"));
        await withTimeout(rom.client!.ping(), STEP, "ping");
        await delay(20);
        results.push(rec.list.slice(1).map((e) => `${e.event} ${e.data}`).join("|"));
        assert.equal(await rom.Disconnect(), true);
      }
      assert.deepEqual(results, [`${MESSAGE} bin`, `${BINARY_MESSAGE} Ymlu`, ""]);
    }),
  );
});

describe("a throwing handler", () => {
  it(
    "does not break the connection: the error is reported, later events still arrive",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      // The facade reports a handler's exception with console.error (the same on every runtime;
      // reportError would end the process on Deno) and goes on: observe console.error.
      const original = console.error;
      const reported: unknown[] = [];
      console.error = (...args: unknown[]) => void reported.push(args.map(String).join(" "));
      scope.defer(() => {
        console.error = original;
      });
      const rom = new RomWebSocket();
      release(scope, rom);
      const seen: string[] = [];
      rom.onExternalEvent = (_source, event, data) => {
        seen.push(event === MESSAGE ? data : event);
        if (event === OPEN.event || data === "throw") throw new Error(`thrown on ${data}`);
      };
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send("throw"), true);
      assert.equal(await rom.Send("after"), true);
      await withTimeout(
        (async () => {
          while (!seen.includes("after")) await delay(5);
        })(),
        STEP,
        "the message after the throw",
      );
      assert.equal(rom.Connected, true);
      assert.equal(await rom.Disconnect(), true);
      assert.deepEqual(seen, [OPEN.event, "throw", "after", CLOSE_NORMAL.event]);
      assert.equal(reported.length, 2, "each exception is reported (console.error)");
      assert.match(String(reported[1]), /thrown on throw/);
    }),
  );

  it(
    "in a real program (subprocess): the error is printed and the program keeps running",
    { timeout: 30_000 },
    guarded(async () => {
      const [command, args] = commandFor("tests/_util/throwing_handler.ts", "rom-throwing.mjs");
      const result = await run(command, args, { timeout: 20_000 });
      const detail = `exit ${result.code} ${result.signal ?? ""}\nstdout:\n${result.stdout}\n` +
        `stderr:\n${result.stderr}`;
      assert.match(result.stdout, /event \{"Event": "Message"\} throw/, detail);
      assert.match(result.stderr, /thrown on purpose/, `the error is reported: ${detail}`);
      assert.match(result.stdout, /event \{"Event": "Message"\} after/, detail);
      assert.match(result.stdout, /connected after the throw: true/, detail);
      assert.match(result.stdout, /disconnect: true/, detail);
      assert.match(result.stdout, /DONE/, detail);
    }, 25_000),
  );
});

describe("reconnect option", () => {
  it(
    "reconnect: { initialDelay: 50 }: the server drops, Close Drop, then Open again",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope, { reconnect: { initialDelay: 50 } });
      await connectOpen(rom, server.url("/ari/events?app=x"));
      (await server.connection(0)).destroy();
      assertRaised(await rec.wait(CLOSE_DROP.event), CLOSE_DROP, "Close Drop");
      assertRaised(await rec.wait(OPEN.event, 2), OPEN, "Open again");
      assert.equal(rom.Connected, true);
      const second = await server.connection(1);
      assert.equal((await second.request).path, "/ari/events?app=x");
      await second.write(frame(Op.TEXT, "after reconnect"));
      await rec.wait(MESSAGE);
      assert.equal(await rom.Send("ping from client"), true);
      assert.equal(new TextDecoder().decode((await second.frame(0)).payload), "ping from client");
      assert.equal(await withTimeout(rom.Disconnect(), STEP, "Disconnect"), true);
      await rec.wait(CLOSE_NORMAL.event);
      assert.deepEqual(rec.events, [
        OPEN.event,
        CLOSE_DROP.event,
        OPEN.event,
        MESSAGE,
        CLOSE_NORMAL.event,
      ]);
      await delay(150);
      assert.equal(server.connections.length, 2, "no reconnection after Disconnect");
    }),
  );

  it(
    "reconnect: true keeps the headers for every attempt",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope, { reconnect: { initialDelay: 20 } });
      rom.SetHeader("Authorization", "Basic eDp5");
      await connectOpen(rom, server.url("/"));
      (await server.connection(0)).destroy();
      await rec.wait(OPEN.event, 2);
      const request = await (await server.connection(1)).request;
      assert.equal(request.headers["authorization"], "Basic eDp5");
    }),
  );

  it(
    "while waiting to reconnect: Connected false, Send false",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope, { reconnect: { initialDelay: 400, maxDelay: 400 } });
      await connectOpen(rom, server.url("/"));
      // A 1012 close: the next attempt waits at least initialDelay, so the checks below surely
      // run during the wait (see the next test).
      const connection = await server.connection(0);
      await connection.write(frame(Op.CLOSE, closePayload(1012, "restart")));
      connection.end();
      await rec.wait(CLOSE_DROP.event);
      assert.equal(rom.Connected, false);
      assert.equal(await rom.Send("lost"), false);
      await rec.wait(OPEN.event, 2);
      assert.equal(rom.Connected, true);
    }),
  );

  it(
    "Disconnect while waiting to reconnect stops it: no Open follows",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope, { reconnect: { initialDelay: 300, maxDelay: 300 } });
      await connectOpen(rom, server.url("/"));
      // 1012 (service restart): the next attempt waits at least initialDelay (300 ms), so
      // Disconnect surely comes during the wait (after a plain drop the full-jitter delay can be
      // ~0 ms, and the reconnection could beat the poll that sees the Drop event).
      const connection = await server.connection(0);
      await connection.write(frame(Op.CLOSE, closePayload(1012, "restart")));
      connection.end();
      await rec.wait(CLOSE_DROP.event);
      assert.equal(await rom.Disconnect(), false, "not connected at that moment");
      await delay(500);
      assert.equal(rec.of(OPEN.event).length, 1, `events: ${JSON.stringify(rec.events)}`);
      assert.equal(server.connections.length, 1);
      assert.equal(rom.Connected, false);
    }),
  );

  // Delays are random in [0, bound] (full jitter): a long bound makes the retry wait, not the
  // attempt, what the timeout or Disconnect interrupts.
  const SLOW_RETRY = { reconnect: { initialDelay: 10_000, maxDelay: 10_000 } };

  it(
    "Timeout 1 with reconnect against a refused port: false after ~Timeout, only Fail raised",
    guarded(async (scope) => {
      const port = await closedPort();
      const { rom, rec } = newRom(scope, SLOW_RETRY);
      rom.Timeout = 1;
      const connecting = rom.Connect(`ws://127.0.0.1:${port}/`);
      assert.equal(await stillPending(connecting, 300), true, "Connect waits across attempts");
      const { value, ms } = await timed(withTimeout(connecting, STEP, "Connect"));
      assert.equal(value, false);
      assert.ok(ms <= 1500, `resolved ${ms.toFixed(0)} ms after the check, Timeout is 1 s`);
      const count = rec.list.length;
      await delay(300);
      assert.equal(rec.list.length, count, "no attempt after Connect gave up");
      assert.ok(rec.list.length >= 1, "the failed attempts raise Fail");
      assert.deepEqual(
        [...new Set(rec.events)],
        [FAIL.event],
        `a connection that never opened raises only Fail: ${JSON.stringify(rec.events)}`,
      );
    }),
  );

  it(
    "Disconnect while retrying a connection that never opened: no Close event",
    guarded(async (scope) => {
      const port = await closedPort();
      const { rom, rec } = newRom(scope, SLOW_RETRY);
      assert.equal(await rom.Connect(`ws://127.0.0.1:${port}/`), true);
      await rec.wait(FAIL.event); // the first attempt failed; the retry waits
      assert.equal(rom.Connected, false);
      assert.equal(await rom.Disconnect(), false);
      await withTimeout(rom.client!.closed, STEP, "the client stopped");
      await delay(50);
      assert.equal(rec.of(OPEN.event).length, 0);
      assert.deepEqual(
        rec.events.filter((e) => e !== FAIL.event),
        [],
        `a connection that never opened raises only Fail: ${JSON.stringify(rec.events)}`,
      );
    }),
  );
});
