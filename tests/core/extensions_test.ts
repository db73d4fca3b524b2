/**
 * Tests of `src/core/extensions.ts`: parsing `Sec-WebSocket-Extensions` (RFC 6455 §9.1 grammar,
 * RFC 9110 quoted strings and list rules).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { HandshakeError } from "../../src/core/errors.ts";
import { type ExtensionElement, parseExtensions } from "../../src/core/extensions.ts";

/** Elements as plain data: params become arrays of [name, value] pairs in order. */
function parsed(value: string): Array<[string, Array<[string, string | true]>]> {
  return parseExtensions(value).map((e: ExtensionElement) => [e.name, [...e.params]]);
}

/** Asserts `value` is refused with a HandshakeError UNEXPECTED_EXTENSION; returns the error. */
function refused(value: string): HandshakeError {
  let caught: unknown;
  try {
    parseExtensions(value);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `${JSON.stringify(value)} was accepted`);
  assert.equal(caught.code, "UNEXPECTED_EXTENSION");
  return caught;
}

describe("parseExtensions", () => {
  describe("grammar (RFC 6455 §9.1)", () => {
    it("parses a single extension without parameters", () => {
      assert.deepEqual(parsed("permessage-deflate"), [["permessage-deflate", []]]);
    });

    it("parses valueless parameters as true and token values as strings, in order", () => {
      const value = "permessage-deflate; client_no_context_takeover; server_max_window_bits=10";
      const params = [["client_no_context_takeover", true], ["server_max_window_bits", "10"]];
      assert.deepEqual(parsed(value), [["permessage-deflate", params]]);
    });

    it("unquotes quoted parameter values, including backslash escapes (RFC 9110 §5.6.4)", () => {
      const params = [["a", "10"], ["b", "15"], ["c", "ab"]];
      assert.deepEqual(parsed('x; a="10"; b="1\\5"; c="\\a\\b"'), [["x", params]]);
    });

    it("parses several extensions separated by commas", () => {
      assert.deepEqual(parsed("foo; x=1, bar, baz; y"), [
        ["foo", [["x", "1"]]],
        ["bar", []],
        ["baz", [["y", true]]],
      ]);
    });

    it("keeps an extension listed twice (duplicates are refused by the handshake check)", () => {
      assert.deepEqual(parsed("a, a"), [["a", []], ["a", []]]);
    });

    it("tolerates spaces and tabs around ';', ',' and '='", () => {
      assert.deepEqual(parsed(" \tfoo \t;\t x \t=\t 1 \t; y ,\tbar\t "), [
        ["foo", [["x", "1"], ["y", true]]],
        ["bar", []],
      ]);
    });

    it("ignores empty list elements (RFC 9110 §5.6.1)", () => {
      assert.deepEqual(parsed(""), []);
      assert.deepEqual(parsed("   "), []);
      assert.deepEqual(parsed(",, ,"), []);
      assert.deepEqual(parsed(", foo ,, bar ,"), [["foo", []], ["bar", []]]);
    });

    it("accepts every tchar in names and values", () => {
      const token = "!#$%&'*+-.^_`|~09AZaz";
      assert.deepEqual(parsed(`${token}; ${token}=${token}`), [[token, [[token, token]]]]);
    });
  });

  describe("malformed values (UNEXPECTED_EXTENSION)", () => {
    const cases: Array<[string, string]> = [
      ['x; a="10', "unterminated quoted string"],
      ['x; a="10\\', "backslash at the very end"],
      ['x; a="10\\"', "escaped closing quote leaves it unterminated"],
      ["x; a; a=1", "duplicate parameter"],
      ["x; a=1; a=2", "duplicate parameter with values"],
      [";a", "missing extension name"],
      ["x;", "missing parameter name"],
      ["x; ;a", "empty parameter"],
      ["x; =1", "missing parameter name before '='"],
      ["x; a=", "missing parameter value"],
      ["x; a= ,y", "missing parameter value before ','"],
      ["x y", "two tokens without a separator"],
      ["x; a=1 2", "two value tokens"],
      ['x; a="1 2"', "quoted value that is not a token once unquoted"],
      ['x; a=""', "empty quoted value"],
      ['x; a="1"2', "text after a quoted value"],
      ['"x"', "quoted extension name"],
      ['x; a="1";', "trailing ';'"],
      ["é", "non-ASCII name"],
      ["x; a=é", "non-ASCII value"],
      ["x=1", "a value on the extension name"],
      ["x/y", "a separator inside the name"],
    ];
    for (const [value, why] of cases) {
      it(`refuses ${JSON.stringify(value)}: ${why}`, () => {
        const error = refused(value);
        assert.match(error.message, /Sec-WebSocket-Extensions/);
      });
    }
  });

  describe("hostile input", () => {
    it("keeps __proto__, constructor and prototype names as plain data, polluting nothing", () => {
      const elements = parseExtensions(
        "__proto__; __proto__=1; constructor; prototype=x, constructor; hasOwnProperty",
      );
      assert.equal(elements.length, 2);
      assert.equal(elements[0].name, "__proto__");
      assert.equal(elements[0].params.get("__proto__"), "1");
      assert.equal(elements[0].params.get("constructor"), true);
      assert.equal(elements[0].params.get("prototype"), "x");
      assert.equal(elements[0].params.size, 3);
      assert.equal(elements[1].name, "constructor");
      assert.equal(elements[1].params.get("hasOwnProperty"), true);
      assert.equal(({} as Record<string, unknown>)["x"], undefined);
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
      // Lookups of names that were not sent do not find Object.prototype members.
      assert.equal(elements[1].params.get("toString"), undefined);
      assert.equal(elements[1].params.has("valueOf"), false);
    });

    it("completes on 100 KB of 'a;' (a duplicate parameter) with a bounded error message", () => {
      const error = refused("a;".repeat(50_000));
      assert.ok(error.message.length < 400, `message of ${error.message.length} characters`);
    });

    it("completes on 100 KB of quotes, of escapes in an open quote, and of '=' signs", () => {
      refused('"'.repeat(100_000));
      refused('x; a="' + '\\"'.repeat(50_000));
      refused("x; a" + "=".repeat(100_000));
      refused("x" + ";".repeat(100_000));
      refused("x" + " ".repeat(100_000) + "y");
    });

    it("completes on 100 KB of commas and spaces (all empty elements)", () => {
      assert.deepEqual(parsed(", ".repeat(50_000)), []);
    });

    it("parses 10,000 distinct parameters and a 100 KB quoted value in linear time", () => {
      const many = "x" + Array.from({ length: 10_000 }, (_, i) => `; p${i}=${i}`).join("");
      const [element] = parseExtensions(many);
      assert.equal(element.params.size, 10_000);
      assert.equal(element.params.get("p9999"), "9999");
      const long = "a".repeat(100_000);
      assert.equal(parseExtensions(`x; v="${long}"`)[0].params.get("v"), long);
    });

    it("either parses or throws UNEXPECTED_EXTENSION on any string (never another error)", () => {
      const alphabet = fc.constantFrom(...'ab ;,="\\\t_xé');
      fc.assert(
        fc.property(fc.string({ unit: alphabet, maxLength: 40 }), (value) => {
          try {
            const elements = parseExtensions(value);
            for (const e of elements) assert.ok(e.name.length > 0);
          } catch (error) {
            assert.ok(error instanceof HandshakeError, String(error));
            assert.equal(error.code, "UNEXPECTED_EXTENSION");
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("parses back what a well-formed header generator writes", () => {
      const token = fc.string({
        unit: fc.constantFrom(..."abcxyz019-_.!~"),
        minLength: 1,
        maxLength: 8,
      });
      const element = fc.record({
        name: token,
        params: fc.uniqueArray(fc.tuple(token, fc.option(token), fc.boolean()), {
          maxLength: 4,
          selector: ([name]) => name,
        }),
      });
      fc.assert(
        fc.property(fc.array(element, { maxLength: 4 }), (elements) => {
          const header = elements.map((e) =>
            [
              e.name,
              ...e.params.map(([k, v, quote]) =>
                v === null ? k : quote ? `${k}="${v}"` : `${k}=${v}`
              ),
            ].join("; ")
          ).join(", ");
          const expected = elements.map((
            e,
          ) => [e.name, e.params.map(([k, v]) => [k, v ?? true])]);
          assert.deepEqual(parsed(header), expected);
        }),
        { numRuns: 500 },
      );
    });
  });
});
