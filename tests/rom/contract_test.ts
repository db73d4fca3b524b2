/**
 * The ROM-WebSocket event contract (ARCHITECTURE.md §7), row by row and byte for byte, driven by a real
 * RomWebSocket against the echo servers (ws, and Deno.serve or Bun.serve on their runtimes) and the
 * raw hostile server: Open, Message, Close Normal, Close Drop, Fail. Then the Russian aliases:
 * the same members, the same state.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as root from "../../mod.ts";
import { VERSION } from "../../mod.ts";
import {
  ROM_BINARY_MESSAGE_EVENT,
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  ROM_SOURCE,
  RomWebSocket,
} from "../../src/rom/mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { startHostileServer } from "../_util/hostile.ts";
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
  Recorder,
  release,
  SOURCE,
  STEP,
} from "../_util/rom.ts";

describe("ROM-WebSocket contract: the strings", () => {
  it("the exported constants are the table of ARCHITECTURE.md §7, byte for byte", () => {
    assert.equal(ROM_SOURCE, SOURCE);
    assert.equal(RomWebSocket.SOURCE, SOURCE);
    assert.deepEqual({ ...ROM_OPEN }, { ...OPEN });
    assert.deepEqual({ ...ROM_CLOSE_NORMAL }, { ...CLOSE_NORMAL });
    assert.deepEqual({ ...ROM_CLOSE_DROP }, { ...CLOSE_DROP });
    assert.deepEqual({ ...ROM_FAIL }, { ...FAIL });
    assert.equal(ROM_MESSAGE_EVENT, MESSAGE);
    assert.equal(ROM_BINARY_MESSAGE_EVENT, BINARY_MESSAGE);
  });

  it("the root entry re-exports RomWebSocket; the strings and the PCRE helpers stay in ./rom", () => {
    assert.equal(root.RomWebSocket, RomWebSocket);
    for (const name of ["ROM_OPEN", "ROM_SOURCE", "translatePcre", "compilePcre", "PcreError"]) {
      assert.equal(name in root, false, `the root entry does not export ${name}`);
    }
  });

  it("defaults: Timeout 0, Listen true, empty Regex, not connected, Version = VERSION", () => {
    const rom = new RomWebSocket();
    assert.equal(rom.Timeout, 0);
    assert.equal(rom.Listen, true);
    assert.equal(rom.Regex, "");
    assert.equal(rom.Connected, false);
    assert.equal(rom.onExternalEvent, null);
    assert.equal(typeof VERSION, "string");
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(rom.Version, VERSION);
    assert.equal(rom.Версия, VERSION);
  });
});

for (const kind of serverKinds()) {
  describe(`ROM-WebSocket contract against the ${kind} echo server`, () => {
    it(
      "Open, Message (ASCII, Привет мир!, empty, JSON), then Close Normal after Disconnect()",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        assert.equal(await withTimeout(rom.Connect(server.url("/")), STEP, "Connect"), true);
        const open = await rec.wait(OPEN.event);
        assertRaised(open, OPEN, "Open");
        assert.equal(rom.Connected, true);

        const texts = ["hello", "Привет мир!", "", '{"type":"StasisStart","x":[1,2]}'];
        for (const text of texts) assert.equal(await rom.Send(text), true, `Send(${text})`);
        await rec.wait(MESSAGE, texts.length);
        for (const [i, text] of texts.entries()) {
          assertRaised(rec.of(MESSAGE)[i], { event: MESSAGE, data: text }, `Message ${i}`);
        }

        assert.equal(await withTimeout(rom.Disconnect(), STEP, "Disconnect"), true);
        const close = await rec.wait(CLOSE_NORMAL.event);
        assertRaised(close, CLOSE_NORMAL, "Close Normal");
        assert.equal(rom.Connected, false);
        // The complete sequence, nothing else (in particular no Drop and no Fail).
        assert.deepEqual(rec.events, [
          OPEN.event,
          ...texts.map(() => MESSAGE),
          CLOSE_NORMAL.event,
        ]);
        // The server saw a normal client-initiated close.
        const seen = await withTimeout((await server.connection(0)).closed, STEP, "server close");
        assert.equal(seen.code, 1000);
      }),
    );

    it(
      "Close Drop when the server closes the connection (/close/1000)",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        assert.equal(await rom.Connect(server.url("/close/1000")), true);
        const close = await rec.wait(CLOSE_DROP.event);
        assertRaised(close, CLOSE_DROP, "Close Drop");
        assert.deepEqual(rec.events, [OPEN.event, CLOSE_DROP.event]);
        assert.equal(rom.Connected, false);
      }),
    );

    it(
      kind === "deno"
        ? "Close Drop when the server ends the connection abruptly (/drop: 1011 on Deno.serve)"
        : "Close Drop when the server drops TCP (/drop)",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        assert.equal(await rom.Connect(server.url("/drop")), true);
        const close = await rec.wait(CLOSE_DROP.event);
        assertRaised(close, CLOSE_DROP, "Close Drop");
        assert.deepEqual(rec.events, [OPEN.event, CLOSE_DROP.event]);
        assert.equal(rom.Connected, false);
        if (kind !== "deno") assert.notEqual(rom.LastError, "", "LastError explains the drop");
      }),
    );

    it(
      "the same object connects again after Disconnect(): Open, Message, Close Normal",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const { rom, rec } = newRom(scope);
        for (let round = 1; round <= 2; round++) {
          await connectOpen(rom, server.url(`/round${round}`));
          await rec.wait(OPEN.event, round);
          assert.equal(await rom.Send(`round ${round}`), true);
          await rec.wait(MESSAGE, round);
          assert.equal(await rom.Disconnect(), true);
          await rec.wait(CLOSE_NORMAL.event, round);
        }
        assert.deepEqual(rec.messages, ["round 1", "round 2"]);
        assert.equal(rec.of(CLOSE_DROP.event).length, 0);
        assert.equal(server.connections.length, 2);
      }),
    );
  });
}

describe("ROM-WebSocket contract: broken connections and failures", () => {
  it(
    "Close Drop when the TCP connection breaks (raw server destroys the socket after open)",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      await rec.wait(OPEN.event);
      (await server.connection(0)).destroy();
      assertRaised(await rec.wait(CLOSE_DROP.event), CLOSE_DROP, "Close Drop");
      assert.deepEqual(rec.events, [OPEN.event, CLOSE_DROP.event]);
      assert.equal(rom.Connected, false);
    }),
  );

  it(
    "Fail for a refused port (Timeout = 0: Connect resolves true, Fail follows as an event)",
    guarded(async (scope) => {
      const port = await closedPort();
      const { rom, rec } = newRom(scope);
      assert.equal(await rom.Connect(`ws://127.0.0.1:${port}/`), true);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
      await delay(50); // nothing else may follow (no Close after a Fail)
      assert.deepEqual(rec.events, [FAIL.event]);
      assert.equal(rom.Connected, false);
      assert.match(rom.LastError, new RegExp(`127\\.0\\.0\\.1:${port}`));
      const info = await withTimeout(rom.client!.closed, STEP, "client closed");
      assert.equal((info.error as { code?: string } | undefined)?.code, "CONNECTION_REFUSED");
    }),
  );

  it(
    "Fail for a refused port (Timeout 3: Connect resolves false and Fail is raised)",
    guarded(async (scope) => {
      const port = await closedPort();
      const { rom, rec } = newRom(scope);
      rom.Timeout = 3;
      assert.equal(await rom.Connect(`ws://127.0.0.1:${port}/`), false);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
      await delay(50);
      assert.deepEqual(rec.events, [FAIL.event]);
    }),
  );

  it(
    "Fail for a 401 handshake (both Timeout modes)",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          handshake: () =>
            'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="ari"\r\n' +
            "Content-Length: 12\r\nConnection: close\r\n\r\nUnauthorized",
        }),
      );
      const { rom, rec } = newRom(scope);
      assert.equal(await rom.Connect(server.url("/ari/events?app=x")), true);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail (Timeout = 0)");
      assert.match(rom.LastError, /401/);

      rom.Timeout = 3;
      assert.equal(await rom.Connect(server.url("/ari/events?app=x")), false);
      await rec.wait(FAIL.event, 2);
      await delay(50);
      assert.deepEqual(rec.events, [FAIL.event, FAIL.event]);
      assert.equal(rom.Connected, false);
    }),
  );
});

describe("ROM-WebSocket contract: Russian aliases", () => {
  it("Таймаут and Timeout are one property", () => {
    const rom = new RomWebSocket();
    rom.Таймаут = 7;
    assert.equal(rom.Timeout, 7);
    rom.Timeout = 2.5;
    assert.equal(rom.Таймаут, 2.5);
  });

  it("РежимПрослушивания and Listen are one property", () => {
    const rom = new RomWebSocket();
    rom.РежимПрослушивания = false;
    assert.equal(rom.Listen, false);
    rom.Listen = true;
    assert.equal(rom.РежимПрослушивания, true);
  });

  it("РегулярноеВыражение and Regex are one property", () => {
    const rom = new RomWebSocket();
    rom.РегулярноеВыражение = "^Привет";
    assert.equal(rom.Regex, "^Привет");
    rom.Regex = "(?i)abc";
    assert.equal(rom.РегулярноеВыражение, "(?i)abc");
  });

  it("ВнешнееСобытие and onExternalEvent are one handler", () => {
    const rom = new RomWebSocket();
    const a = () => {};
    const b = () => {};
    rom.ВнешнееСобытие = a;
    assert.equal(rom.onExternalEvent, a);
    rom.onExternalEvent = b;
    assert.equal(rom.ВнешнееСобытие, b);
    rom.ВнешнееСобытие = null;
    assert.equal(rom.onExternalEvent, null);
  });

  it("Подключено, Версия, ПоследняяОшибка mirror Connected, Version, LastError", () => {
    const rom = new RomWebSocket();
    assert.equal(rom.Подключено, false);
    assert.equal(rom.Версия, VERSION);
    assert.equal(rom.ПоследняяОшибка, rom.LastError);
  });

  for (const kind of serverKinds()) {
    it(
      `Подключиться / Отправить / Отключиться, handler set as ВнешнееСобытие (${kind})`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const rom = new RomWebSocket();
        release(scope, rom);
        const rec = new Recorder();
        rom.ВнешнееСобытие = rec.handler;
        rom.Таймаут = 5;
        rom.РегулярноеВыражение = "мир";
        assert.equal(await rom.Подключиться(server.url("/")), true);
        assert.equal(rom.Подключено, true);
        assert.equal(rom.Connected, true);
        assert.equal(await rom.Отправить("Привет мир!"), true);
        assert.equal(await rom.Отправить("filtered out"), true);
        assert.equal(await rom.Отправить("мир 2"), true);
        await rec.wait(MESSAGE, 2);
        assert.equal(await rom.Отключиться(), true);
        await rec.wait(CLOSE_NORMAL.event);
        assert.equal(rom.Подключено, false);
        assert.deepEqual(rec.messages, ["Привет мир!", "мир 2"]);
        assert.deepEqual(rec.events, [OPEN.event, MESSAGE, MESSAGE, CLOSE_NORMAL.event]);
        assert.ok(rec.list.every((e) => e.source === SOURCE));
        // Not connected any more: the Russian methods answer false like the English ones.
        assert.equal(await rom.Отправить("x"), false);
        assert.equal(await rom.Отключиться(), false);
      }),
    );
  }

  it(
    "mixing the names on one connection: set in Russian, use in English and back",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const rom = new RomWebSocket();
      release(scope, rom);
      const rec = new Recorder();
      rom.onExternalEvent = rec.handler;
      rom.Таймаут = 5;
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.equal(rom.Подключено, true);
      assert.equal(await rom.Отправить("one"), true);
      assert.equal(await rom.Send("two"), true);
      await rec.wait(MESSAGE, 2);
      rom.РежимПрослушивания = false; // Listen off through the alias: nothing more is raised
      assert.equal(await rom.Send("three"), true);
      await withTimeout(
        (async () => {
          while ((await server.connection(0)).messages < 3) await delay(5);
        })(),
        STEP,
        "server got three messages",
      );
      await delay(100);
      assert.equal(await rom.Отключиться(), true);
      assert.deepEqual(rec.messages, ["one", "two"]);
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE, MESSAGE]);
    }),
  );
});
