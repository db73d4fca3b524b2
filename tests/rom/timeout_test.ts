/**
 * `Timeout` (ARCHITECTURE.md §7): 0 makes Connect resolve at once with the outcome as an event; > 0 makes
 * it wait for open (true), failure or the timeout (false, the attempt aborted). The synchronous
 * mode for code that cannot receive events (`Listen = false; Timeout = 5`) raises nothing at all.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError } from "../../mod.ts";
import { RomWebSocket } from "../../src/rom/mod.ts";
import { delay, guarded, stillPending, withTimeout } from "../_util/async.ts";
import { acceptResponse, frame, Op, startHostileServer } from "../_util/hostile.ts";
import { closedPort, serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  assertRaised,
  CLOSE_NORMAL,
  FAIL,
  MESSAGE,
  newRom,
  OPEN,
  release,
  STEP,
  timed,
} from "../_util/rom.ts";

describe("Timeout = 0: Connect resolves at once, the outcome arrives as an event", () => {
  it(
    "resolves true before the server answered the handshake; Open and messages follow",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      assert.equal(rom.Timeout, 0);
      assert.equal(await withTimeout(rom.Connect(server.url("/")), STEP, "Connect"), true);
      // The server has not answered (it never does on its own): nothing is open yet.
      assert.equal(rom.Connected, false);
      assert.deepEqual(rec.events, []);
      const connection = await server.connection(0);
      const request = await withTimeout(connection.request, STEP, "request");
      await delay(50);
      assert.deepEqual(rec.events, [], "no event while the handshake is pending");

      await connection.write(acceptResponse(request));
      assertRaised(await rec.wait(OPEN.event), OPEN, "Open");
      assert.equal(rom.Connected, true);
      await connection.write(frame(Op.TEXT, "Привет мир!"));
      assertRaised(await rec.wait(MESSAGE), { event: MESSAGE, data: "Привет мир!" }, "Message");
    }),
  );

  it(
    "a failure after Connect resolved true arrives as a Fail event (openTimeout option 300 ms)",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope, { openTimeout: 300 });
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.deepEqual(rec.events, []);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
      assert.equal(rom.Connected, false);
      assert.match(rom.LastError, /300/);
      await withTimeout((await server.connection(0)).clientGone, STEP, "client closed TCP");
    }),
  );
});

describe("Timeout above 0: Connect waits for the outcome", () => {
  for (const kind of serverKinds()) {
    it(
      `resolves true once open, with Open already raised (${kind})`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        rom.Timeout = 2;
        const ok = await withTimeout(rom.Connect(server.url("/")), STEP, "Connect");
        assert.equal(ok, true);
        assert.equal(rom.Connected, true);
        assert.deepEqual(rec.events, [OPEN.event], "Open raised by the time Connect resolved");
      }),
    );
  }

  it(
    "keeps waiting while the handshake is pending, then resolves true",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      rom.Timeout = 3;
      const connecting = rom.Connect(server.url("/"));
      const connection = await server.connection(0);
      const request = await withTimeout(connection.request, STEP, "request");
      assert.equal(await stillPending(connecting, 150), true, "Connect waits for the answer");
      assert.equal(rom.Connected, false);
      await connection.write(acceptResponse(request));
      assert.equal(await withTimeout(connecting, STEP, "Connect"), true);
      assert.equal(rom.Connected, true);
      assert.deepEqual(rec.events, [OPEN.event]);
    }),
  );

  it(
    "a server that never answers the handshake: false after Timeout (1 s ± 0.5 s), Fail raised",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      rom.Timeout = 1;
      const { value, ms } = await timed(withTimeout(rom.Connect(server.url("/")), STEP, "Connect"));
      assert.equal(value, false);
      assert.ok(ms >= 500 && ms <= 1500, `Connect resolved after ${ms.toFixed(0)} ms, not ~1000`);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
      assert.deepEqual(rec.events, [FAIL.event]);
      assert.equal(rom.Connected, false);
      // The attempt was aborted: the client closed its TCP connection.
      await withTimeout((await server.connection(0)).clientGone, STEP, "client closed TCP");
    }),
  );

  it(
    "fractional Timeout (0.3 s) against a silent server: false after ~300 ms",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      rom.Timeout = 0.3;
      const { value, ms } = await timed(withTimeout(rom.Connect(server.url("/")), STEP, "Connect"));
      assert.equal(value, false);
      assert.ok(ms >= 150 && ms <= 800, `Connect resolved after ${ms.toFixed(0)} ms, not ~300`);
      await rec.wait(FAIL.event);
    }),
  );

  it(
    "a refused port: false at once, well under the Timeout, Fail raised",
    guarded(async (scope) => {
      const port = await closedPort();
      const { rom, rec } = newRom(scope);
      rom.Timeout = 5;
      const { value, ms } = await timed(
        withTimeout(rom.Connect(`ws://127.0.0.1:${port}/`), STEP + 2000, "Connect"),
      );
      assert.equal(value, false);
      assert.ok(ms < 2500, `a refused port took ${ms.toFixed(0)} ms (Timeout is 5 s)`);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
    }),
  );

  it("Timeout refuses negative and non-numeric values and keeps the previous one", () => {
    const rom = new RomWebSocket();
    rom.Timeout = 4;
    for (const bad of [-1, Number.NaN, Infinity, "abc" as unknown as number]) {
      assert.throws(
        () => (rom.Timeout = bad),
        (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_OPTION",
        `Timeout = ${String(bad)}`,
      );
      assert.throws(() => (rom.Таймаут = bad), ArgumentError);
    }
    assert.equal(rom.Timeout, 4);
    rom.Timeout = "2" as unknown as number; // 1C passes numbers as they come: "2" is 2
    assert.equal(rom.Timeout, 2);
  });
});

describe("the synchronous mode: Listen = false; Timeout = 5", () => {
  for (const kind of serverKinds()) {
    it(
      `Connect, Send(Привет мир!), Disconnect: all true, no events at all, the server got it (${kind})`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        rom.Listen = false;
        rom.Timeout = 5;
        let sent = false;
        let disconnected = false;
        if (await withTimeout(rom.Connect(server.url("/sync")), STEP + 2000, "Connect")) {
          sent = await rom.Send("Привет мир!");
          disconnected = await withTimeout(rom.Disconnect(), STEP, "Disconnect");
        }
        assert.equal(sent, true, `Send: ${rom.LastError}`);
        assert.equal(disconnected, true);
        assert.equal(rom.Connected, false);
        const connection = await server.connection(0);
        const close = await withTimeout(connection.closed, STEP, "server saw the close");
        assert.equal(close.code, 1000);
        assert.equal(connection.messages, 1);
        await delay(50);
        assert.deepEqual(rec.events, [], "Listen = false raises no events");
      }),
    );
  }

  it(
    "the server receives exactly one text frame Привет мир! and a close frame 1000",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const { rom, rec } = newRom(scope);
      rom.Listen = false;
      rom.Timeout = 5;
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.equal(await rom.Send("Привет мир!"), true);
      assert.equal(await withTimeout(rom.Disconnect(), STEP, "Disconnect"), true);
      const connection = await server.connection(0);
      const text = await connection.frame(0);
      assert.equal(text.opcode, Op.TEXT);
      assert.equal(text.fin, true);
      assert.equal(text.masked, true);
      assert.equal(new TextDecoder().decode(text.payload), "Привет мир!");
      const close = await withTimeout(connection.closeFrame, STEP, "close frame");
      assert.equal(close.closeCode, 1000);
      assert.equal(connection.frames.length, 2);
      assert.deepEqual(rec.events, []);
    }),
  );

  it(
    "a silent server: Connect false after the Timeout, and still no events",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const { rom, rec } = newRom(scope);
      rom.Listen = false;
      rom.Timeout = 0.5;
      assert.equal(await withTimeout(rom.Connect(server.url("/")), STEP, "Connect"), false);
      assert.equal(await rom.Send("x"), false);
      assert.equal(await rom.Disconnect(), false);
      await delay(50);
      assert.deepEqual(rec.events, []);
    }),
  );

  it(
    "switching Listen back on afterwards: events resume on the next connection",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const rom = new RomWebSocket();
      release(scope, rom);
      const events: string[] = [];
      rom.onExternalEvent = (_s, event) => events.push(event);
      rom.Listen = false;
      rom.Timeout = 5;
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.equal(await rom.Disconnect(), true);
      rom.Listen = true;
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.equal(await rom.Disconnect(), true);
      assert.deepEqual(events, [OPEN.event, CLOSE_NORMAL.event]);
    }),
  );
});
