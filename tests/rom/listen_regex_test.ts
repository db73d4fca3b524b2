/**
 * `Listen` and `Regex` (ARCHITECTURE.md §7). Listen = false raises nothing, and what arrives
 * meanwhile is not queued for later. Regex delivers only matching messages, accepts the common PCRE
 * spellings JavaScript lacks and refuses the rest with a PcreError when the property is SET (the
 * previous filter stays). The translation itself is tested in pcre_test.ts.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, WebSocketError } from "../../mod.ts";
import { PcreError, RomWebSocket } from "../../src/rom/mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { frame, type HostileConnection, Op, startHostileServer } from "../_util/hostile.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import { connectOpen, MESSAGE, newRom, OPEN, STEP } from "../_util/rom.ts";

/** Has the hostile server send `texts` and waits until the client has read them (a ping behind
 * them comes back only after the client processed everything before it). */
async function serverSends(
  rom: RomWebSocket,
  connection: HostileConnection,
  texts: string[],
): Promise<void> {
  for (const text of texts) await connection.write(frame(Op.TEXT, text));
  await withTimeout(rom.client!.ping(), STEP, "ping behind the messages");
}

describe("Listen = false", () => {
  it(
    "raises no connection, message or close events (server sends, then closes)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      rom.Listen = false;
      assert.equal(await rom.Connect(server.url("/send-then-close")), true);
      const info = await withTimeout(rom.client!.closed, STEP, "server closed the connection");
      assert.equal(info.code, 1000);
      await delay(50);
      assert.deepEqual(rec.events, []);
      assert.equal(rom.Connected, false);
    }),
  );

  it(
    "raises no Fail (refused port) and no Close Normal (Disconnect)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const port = await closedPort();
      const { rom, rec } = newRom(scope);
      rom.Listen = false;
      rom.Timeout = 3;
      assert.equal(await rom.Connect(`ws://127.0.0.1:${port}/`), false);
      assert.equal(await rom.Connect(server.url("/")), true);
      assert.equal(await rom.Send("echoed but not raised"), true);
      await withTimeout(rom.client!.ping(), STEP, "ping");
      await delay(50);
      assert.equal(await rom.Disconnect(), true);
      await delay(50);
      assert.deepEqual(rec.events, []);
    }),
  );

  it(
    "a message arriving while Listen is false is dropped, not delivered after Listen = true",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      const connection = await server.connection(0);
      await serverSends(rom, connection, ["before"]);
      await rec.wait(MESSAGE);

      rom.Listen = false;
      await serverSends(rom, connection, ["old 1", "old 2"]);
      await delay(50);
      rom.Listen = true;
      await serverSends(rom, connection, ["new"]);
      await rec.wait(MESSAGE, 2);
      await delay(50);
      assert.deepEqual(rec.messages, ["before", "new"]);
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE, MESSAGE]);
    }),
  );
});

describe("Regex filters incoming messages", () => {
  it(
    "only matching messages are delivered; the empty Regex delivers all again",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      rom.Regex = '"type":"StasisStart"';
      await connectOpen(rom, server.url("/"));
      const connection = await server.connection(0);
      const start = '{"type":"StasisStart","channel":{"id":"1"}}';
      const end = '{"type":"StasisEnd","channel":{"id":"1"}}';
      const state = '{"type":"ChannelStateChange"}';
      await serverSends(rom, connection, [state, start, end, start.replace("1", "2")]);
      await rec.wait(MESSAGE, 2);
      assert.deepEqual(rec.messages, [start, start.replace("1", "2")]);

      rom.Regex = "";
      assert.equal(rom.Regex, "");
      await serverSends(rom, connection, [state, end]);
      await rec.wait(MESSAGE, 4);
      assert.deepEqual(rec.messages.slice(2), [state, end]);

      rom.Regex = null as unknown as string; // 1C "Неопределено": no filter
      assert.equal(rom.Regex, "");
    }),
  );

  it(
    "the filter can change during a connection and applies from the next message",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      const connection = await server.connection(0);
      rom.Regex = "^a";
      await serverSends(rom, connection, ["a1", "b1"]);
      rom.Regex = "^b";
      await serverSends(rom, connection, ["a2", "b2"]);
      await rec.wait(MESSAGE, 2);
      await delay(30);
      assert.deepEqual(rec.messages, ["a1", "b2"]);
    }),
  );

  const cases: Array<{ pattern: string; match: string[]; miss: string[] }> = [
    { pattern: "(?i)hello", match: ["HeLLo world"], miss: ["help"] },
    { pattern: "^b$", match: ["b"], miss: ["a\nb\nc"] },
    { pattern: "(?m)^b$", match: ["a\nb\nc", "b"], miss: ["a\nbb\nc"] },
    { pattern: "a.b", match: ["axb"], miss: ["a\nb"] },
    { pattern: "(?s)a.b", match: ["a\nb", "axb"], miss: ["ab"] },
    {
      pattern: "(?x) hel lo  # the word, spaces ignored\n \\s world # then a space",
      match: ["hello world"],
      miss: ["hel lo world", "helloworld"],
    },
    { pattern: "(?im)^abc$", match: ["x\nABC\ny"], miss: ["x\nABCD\ny"] },
    { pattern: "(?i)(?s)a.B", match: ["A\nb"], miss: ["A\n\nb"] },
    { pattern: "\\Aabc\\z", match: ["abc"], miss: ["abc\n", "x\nabc", "abc\nx"] },
    { pattern: "(?m)\\Aabc", match: ["abc\nx"], miss: ["x\nabc"] },
    { pattern: "(?m)abc\\z", match: ["x\nabc"], miss: ["abc\nx", "abc\n"] },
    { pattern: "abc\\Z", match: ["abc", "x abc\n"], miss: ["abc\n\n", "abc\nx"] },
    { pattern: "(?P<w>\\w)(?P=w)", match: ["hello"], miss: ["abc"] },
    { pattern: "^[*+]+$", match: ["*+*"], miss: ["a"] },
    { pattern: "Привет\\s+мир", match: ["Привет   мир!"], miss: ["Привет, мир"] },
  ];

  it(
    "PCRE spellings are accepted and delivered with PCRE meaning (through a real connection)",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      await connectOpen(rom, server.url("/"));
      const connection = await server.connection(0);
      for (const { pattern, match, miss } of cases) {
        rom.Regex = pattern;
        assert.equal(rom.Regex, pattern, "Regex reads back the PCRE source as set");
        const before = rec.messages.length;
        await serverSends(rom, connection, [...miss, ...match]);
        await withTimeout(
          (async () => {
            while (rec.messages.length < before + match.length) await delay(5);
          })(),
          STEP,
          `${JSON.stringify(pattern)} delivers ${JSON.stringify(match)}`,
        );
        assert.deepEqual(rec.messages.slice(before), match, `Regex ${JSON.stringify(pattern)}`);
      }
    }),
  );

  const refused: Array<[string, RegExp]> = [
    ["(?>a)", /atomic/],
    ["a++", /possessive/],
    ["a*+", /possessive/],
    ["a?+", /possessive/],
    ["a{2}+", /possessive/],
    ["a{2,}+", /possessive/],
    ["(?R)", /recursion/],
    ["a(?R)?b", /recursion/],
    ["(?1)", /recursion|subroutine/],
    ["(a)(?-1)", /recursion|subroutine/],
    ["(?&name)", /subroutine/],
    ["(?P>name)", /subroutine/],
    ["ab\\Kc", /\\K/],
    ["(?(1)a|b)", /conditional/],
    ["(?|(a)|(b))", /branch reset/],
    ["(*FAIL)", /verb/],
    ["\\Gabc", /\\G/],
    ["(?i:a)b", /scoped inline flags/],
    ["\\g{-1}", /relative back-references/],
    ["[[:^alpha:]]", /negated POSIX class/],
    ["\\X", /grapheme/],
    ["a(?i)b", /inline flag/],
    ["(?U)a", /\(\?U\)/],
    ["(", /syntax/],
    ["a)", /syntax/],
    ["[a", /syntax/],
  ];

  it("unsupported constructs are refused when SET, with a PcreError naming the construct", () => {
    const rom = new RomWebSocket();
    rom.Regex = "^keep";
    const wrong: string[] = [];
    for (const [pattern, construct] of refused) {
      let error: unknown;
      try {
        rom.Regex = pattern;
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof PcreError, `${JSON.stringify(pattern)}: expected a PcreError`);
      // The facade's own error: a WebSocketError, outside the core's ArgumentError codes.
      assert.ok(error instanceof WebSocketError, "a PcreError is a WebSocketError");
      assert.ok(!(error instanceof ArgumentError), "a PcreError is not a core ArgumentError");
      assert.equal(error.code, "INVALID_REGEX");
      assert.equal(error.name, "PcreError");
      if (!construct.test(error.construct)) {
        wrong.push(`${JSON.stringify(pattern)} named ${JSON.stringify(error.construct)}`);
      }
      assert.ok(
        error.message.includes(error.construct) || error.construct === "syntax",
        `the message names the construct: ${error.message}`,
      );
      assert.ok(error.message.includes(JSON.stringify(pattern)), "the message quotes the pattern");
      assert.equal(rom.Regex, "^keep", `after refusing ${JSON.stringify(pattern)}`);
      // The Russian alias refuses the same way.
      assert.throws(() => (rom.РегулярноеВыражение = pattern), PcreError);
    }
    assert.deepEqual(wrong, [], "refused, but the error names another construct");
  });

  it(
    "after a refused set the previous filter stays in place (checked by delivering messages)",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "accept" }));
      const { rom, rec } = newRom(scope);
      rom.Regex = "^keep";
      await connectOpen(rom, server.url("/"));
      const connection = await server.connection(0);
      for (const [pattern] of refused) assert.throws(() => (rom.Regex = pattern), PcreError);
      assert.equal(rom.Regex, "^keep");
      await serverSends(rom, connection, ["keep 1", "drop", "(?>a)", "keep 2", "a++"]);
      await rec.wait(MESSAGE, 2);
      await delay(30);
      assert.deepEqual(rec.messages, ["keep 1", "keep 2"]);
      assert.equal(rom.Connected, true, "a refused Regex does not touch the connection");
    }),
  );

  it(
    "binary messages are filtered on their delivered text (default mapping)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { rom, rec } = newRom(scope);
      rom.Regex = "^yes";
      await connectOpen(rom, server.url("/"));
      assert.equal(await rom.Send(new TextEncoder().encode("no: binary")), true);
      assert.equal(await rom.Send(new TextEncoder().encode("yes: binary")), true);
      await rec.wait(MESSAGE);
      await withTimeout(rom.client!.ping(), STEP, "ping");
      await delay(30);
      assert.deepEqual(rec.messages, ["yes: binary"]);
    }),
  );
});
