/**
 * `Listen` and `Regex` (DESIGN §3). Listen = false raises nothing, and what arrives meanwhile is
 * not queued for later. Regex delivers only matching messages, accepts the common PCRE spellings
 * JavaScript lacks and refuses the rest with a PcreError when the property is SET (the previous
 * filter stays). Then unit tests of translatePcre / compilePcre.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, compilePcre, PcreError, RomWebSocket, translatePcre } from "../../mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { frame, type HostileConnection, Op, startHostileServer } from "../_util/hostile.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import { connectOpen, MESSAGE, newRom, OPEN, STEP } from "./_rom.ts";

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
      assert.ok(error instanceof ArgumentError, "a PcreError is an ArgumentError");
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

describe("translatePcre / compilePcre", () => {
  it("leading inline flags become JavaScript flags", () => {
    assert.deepEqual(translatePcre("(?i)abc"), { source: "abc", flags: "i" });
    assert.deepEqual(translatePcre("(?mi)abc"), { source: "abc", flags: "im" });
    assert.deepEqual(translatePcre("(?i)(?s)abc"), { source: "abc", flags: "is" });
    assert.deepEqual(translatePcre("(?x) a b # c"), { source: "ab", flags: "" });
    assert.deepEqual(translatePcre("abc"), { source: "abc", flags: "" });
    assert.deepEqual(translatePcre(""), { source: "", flags: "" });
    assert.equal(compilePcre("(?ims)x").flags, "ims");
  });

  it("(?x): whitespace and # comments vanish, but not inside classes or when escaped", () => {
    const re = compilePcre("(?x) [ #] \\  \\# x # comment\n y");
    assert.equal(re.test(" #xy"), false);
    assert.equal(re.test("  #xy"), true);
    assert.equal(re.test("# #xy"), true);
  });

  it("character classes like [*+] and escaped \\+\\+ are not possessive quantifiers", () => {
    assert.equal(compilePcre("[*+]").test("+"), true);
    assert.equal(compilePcre("[*+]").test("a"), false);
    assert.equal(compilePcre("[a++]+").test("++"), true);
    assert.equal(compilePcre("\\+\\+").test("c++"), true);
    assert.equal(compilePcre("\\*+").test("**"), true);
    assert.equal(compilePcre("[]+]+").test("]+]"), true, "PCRE: ']' first in a class is literal");
    assert.equal(compilePcre("[^]]").test("]"), false);
    assert.equal(compilePcre("a{2}").test("aa"), true);
    assert.equal(compilePcre("a+b").test("aab"), true);
  });

  it("named groups: (?P=n) back-references to (?P...) groups, and JavaScript named groups", () => {
    const re = compilePcre("(?P<n>x)(?P=n)");
    assert.equal(re.test("xx"), true);
    assert.equal(re.test("xy"), false);
    assert.equal(re.exec("axx")?.groups?.n, "x");
    assert.equal(translatePcre("(?P<n>x)(?P=n)").source, "(?<n>x)\\k<n>");
    assert.equal(compilePcre("(?<w>\\w)\\k<w>").test("book"), true);
  });

  it("\\A, \\z, \\Z keep PCRE meaning whatever the m flag", () => {
    assert.equal(compilePcre("\\Aabc\\z").test("abc"), true);
    assert.equal(compilePcre("\\Aabc\\z").test("abc\n"), false);
    assert.equal(compilePcre("(?m)\\Aabc\\z").test("x\nabc"), false);
    assert.equal(compilePcre("(?m)^abc$").test("x\nabc\ny"), true);
    assert.equal(compilePcre("abc\\Z").test("abc\n"), true);
    assert.equal(compilePcre("abc\\Z").test("abc\n\n"), false);
    assert.equal(compilePcre("[\\A]").test("A"), true, "inside a class \\A is left alone");
  });

  it("(?#comments), \\x{...} and \\p{...} translate", () => {
    assert.equal(compilePcre("a(?#note)b").test("ab"), true);
    assert.equal(compilePcre("\\x{41}\\x{416}").test("AЖ"), true);
    assert.equal(compilePcre("^\\p{Lu}\\p{Ll}+$").test("Привет"), true);
  });

  it("scoped flag groups (?i:...): PCRE meaning where the runtime's RegExp has it, else refused", () => {
    let re: RegExp | undefined;
    try {
      re = compilePcre("(?i:abc)d");
    } catch (error) {
      assert.ok(error instanceof PcreError, String(error)); // never some other error
      return;
    }
    assert.equal(re.test("ABCd"), true);
    assert.equal(re.test("ABCD"), false);
  });

  it("refused constructs throw PcreError from both functions, never a bare SyntaxError", () => {
    for (const pattern of ["(?>a)", "a++", "(?R)", "\\K", "(?(1)a|b)", "a(?i)b"]) {
      assert.throws(() => translatePcre(pattern), PcreError, pattern);
      assert.throws(() => compilePcre(pattern), PcreError, pattern);
    }
    const error = (() => {
      try {
        compilePcre("(");
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof PcreError);
    assert.equal(error.construct, "syntax");
    assert.equal(error.code, "INVALID_REGEX");
    assert.ok(error.cause instanceof SyntaxError);
  });

  // PCRE constructs that JavaScript RegExp (without the u flag) parses with ANOTHER meaning. The
  // design requires them to be translated or refused, "never silently at match time".
  const silent: Array<{ pattern: string; subject: string; pcre: boolean; what: string }> = [
    { pattern: "^[[:alpha:]]+$", subject: "abc", pcre: true, what: "POSIX class [[:alpha:]]" },
    { pattern: "^[[:digit:]]+$", subject: "123", pcre: true, what: "POSIX class [[:digit:]]" },
    { pattern: "a\\hb", subject: "a b", pcre: true, what: "\\h (horizontal space)" },
    { pattern: "(a)\\g1", subject: "aa", pcre: true, what: "\\g1 back-reference" },
    { pattern: "(a)\\g{1}", subject: "aa", pcre: true, what: "\\g{1} back-reference" },
    { pattern: "abc$", subject: "abc\n", pcre: true, what: "$ before a final newline" },
  ];
  for (const { pattern, subject, pcre, what } of silent) {
    it(`${what} matches like PCRE, or is refused`, () => {
      let re: RegExp;
      try {
        re = compilePcre(pattern);
      } catch (error) {
        assert.ok(error instanceof PcreError, String(error));
        return; // refused when set: acceptable
      }
      assert.equal(
        re.test(subject),
        pcre,
        `${JSON.stringify(pattern)} on ${JSON.stringify(subject)}: PCRE says ${pcre}, ` +
          `accepted as /${re.source}/${re.flags} which says ${!pcre}`,
      );
    });
  }
});
