/**
 * The PCRE translation behind `RomWebSocket.Regex` (src/rom/pcre.ts): leading inline flags become
 * JavaScript flags, the PCRE spellings JavaScript lacks translate with their PCRE meaning, and
 * what JavaScript cannot express (or would parse with another meaning) is refused with a
 * PcreError, never a bare SyntaxError and never silently at match time (ARCHITECTURE.md §7).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WebSocketError } from "../../mod.ts";
import { compilePcre, PcreError, translatePcre } from "../../src/rom/mod.ts";

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
    assert.ok(error instanceof WebSocketError, "the library's error tree");
    assert.equal(error.name, "PcreError");
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
