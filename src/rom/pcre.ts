/**
 * PCRE patterns for the ROM-WebSocket `Regex` property, as JavaScript `RegExp`s.
 *
 * The original component promised PCRE. JavaScript's RegExp covers most of it; the common PCRE
 * spellings that JavaScript lacks are translated, and constructs that JavaScript cannot express
 * are refused with an error naming the construct, when the pattern is set (never at match time).
 *
 * Translated: leading inline flags `(?i)`, `(?m)`, `(?s)`, `(?x)` (and combinations such as
 * `(?im)`), `\A`, `\z`, `\Z`, `$` (PCRE's: also before a final newline), `\h`, `\H`, `\v`, `\V`,
 * `\R`, `\e`, `\a`, `\g1`, `\g{1}`, `\g{name}`, `\Q...\E`, POSIX classes such as `[[:alpha:]]`,
 * `(?P<name>...)`, `(?'name'...)`, `(?P=name)`, `(?#comment)`.
 * Refused: atomic groups `(?>...)`, possessive quantifiers (`*+`, `++`, `?+`, `{n}+`),
 * recursion and subroutine calls (`(?R)`, `(?1)`, `(?&name)`, `(?P>name)`), `\K`, conditionals
 * `(?(...)...)`, branch reset `(?|...)`, backtracking verbs `(*...)`, `\G`, `\X`, `\C`, relative
 * back-references, negated POSIX classes, inline flags other than at the start, scoped flags
 * `(?i:...)` (not in every runtime's RegExp), and flags other than i, m, s, x.
 *
 * @module
 */

import { WebSocketError, type WebSocketErrorOptions } from "../core/errors.ts";

/**
 * The pattern refused: `construct` names the PCRE feature. Code `INVALID_REGEX`.
 *
 * A {@linkcode WebSocketError} of the facade's own, not an `ArgumentError`: the core's closed
 * list of `ArgumentError` codes does not know the 1C `Regex` property.
 */
export class PcreError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: "INVALID_REGEX";
  /** The PCRE construct that JavaScript cannot express, or "syntax" for an invalid pattern. */
  readonly construct: string;
  /** Creates the error; `construct` names the refused PCRE feature. */
  constructor(construct: string, message: string, options?: WebSocketErrorOptions) {
    super("INVALID_REGEX", message, options);
    this.name = "PcreError";
    this.construct = construct;
  }
}

/** A translated pattern. */
export interface TranslatedPattern {
  /** JavaScript source of the pattern. */
  readonly source: string;
  /** JavaScript flags ("i", "m", "s", "u" as needed). */
  readonly flags: string;
}

function refuse(construct: string, pattern: string, at: number): never {
  throw new PcreError(
    construct,
    `Regex: ${construct} is not supported (JavaScript RegExp cannot express it), ` +
      `at position ${at} of ${JSON.stringify(pattern)}`,
  );
}

/**
 * Translates a PCRE pattern to JavaScript source and flags.
 *
 * @throws {PcreError} (code `INVALID_REGEX`) for unsupported constructs.
 */
export function translatePcre(pattern: string): TranslatedPattern {
  let i = 0;
  const flags = new Set<string>();
  // Leading inline flags: (?i), (?ms), possibly repeated: (?i)(?s). "(?R)" is recursion, below.
  for (;;) {
    const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i));
    if (!m || m[1] === "R") break;
    for (const f of m[1]) {
      if (f === "i" || f === "m" || f === "s" || f === "x") flags.add(f);
      else refuse(`the inline flag (?${f})`, pattern, i);
    }
    i += m[0].length;
  }
  const extended = flags.delete("x");
  const multiline = flags.has("m");
  let out = "";
  let inClass = false;
  let unicode = false;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === "\\") {
      const e = pattern[i + 1];
      if (e === undefined) refuse("a trailing backslash", pattern, i);
      // Escapes whose meaning differs between PCRE and JavaScript, in or out of a class.
      if (e === "h" || e === "v") {
        out += inClass ? ESCAPE_SETS[e] : `[${ESCAPE_SETS[e]}]`;
        i += 2;
        continue;
      }
      if (e === "e" || e === "a") {
        out += e === "e" ? "\\x1b" : "\\x07";
        i += 2;
        continue;
      }
      if (e === "Q") {
        // \Q...\E: everything up to \E (or the end) is literal.
        const close = pattern.indexOf("\\E", i + 2);
        const literal = pattern.slice(i + 2, close < 0 ? n : close);
        out += literal.replace(/[\\^$.*+?()[\]{}|\/-]/g, "\\$&");
        i = close < 0 ? n : close + 2;
        continue;
      }
      if (e === "E") {
        i += 2; // a stray \E is ignored by PCRE
        continue;
      }
      if (inClass) {
        if (e === "H" || e === "V" || e === "R" || e === "X") {
          refuse(`\\${e} inside a character class`, pattern, i);
        }
      } else {
        if (e === "A") {
          out += "(?<![\\s\\S])"; // start of the subject, whatever the m flag
          i += 2;
          continue;
        }
        if (e === "z") {
          out += "(?![\\s\\S])"; // very end of the subject
          i += 2;
          continue;
        }
        if (e === "Z") {
          out += END_OR_FINAL_NEWLINE;
          i += 2;
          continue;
        }
        if (e === "H" || e === "V") {
          out += `[^${ESCAPE_SETS[e.toLowerCase() as "h" | "v"]}]`;
          i += 2;
          continue;
        }
        if (e === "R") {
          out += "(?:\\r\\n|[\\n\\x0b\\f\\r\\x85\\u2028\\u2029])";
          i += 2;
          continue;
        }
        if (e === "g") {
          // \g1, \g{1}, \g{name}: back-references; relative ones (\g{-1}) are refused.
          const m = /^\\g(?:(\d+)|\{(\d+)\}|\{([A-Za-z_]\w*)\})/.exec(pattern.slice(i));
          if (!m) {
            refuse("relative back-references \\g{-n} and \\g<...> subroutine calls", pattern, i);
          }
          out += m[3] !== undefined ? `\\k<${m[3]}>` : `\\${m[1] ?? m[2]}`;
          i += m[0].length;
          continue;
        }
        if (e === "K") refuse("\\K (reset match start)", pattern, i);
        if (e === "G") refuse("\\G (continue from last match)", pattern, i);
        if (e === "X") refuse("\\X (extended grapheme cluster)", pattern, i);
        if (e === "C") refuse("\\C (single code unit)", pattern, i);
      }
      if (e === "p" || e === "P") unicode = true;
      if (e === "x" && pattern[i + 2] === "{") {
        const close = pattern.indexOf("}", i + 3);
        if (close < 0) refuse("an unterminated \\x{...}", pattern, i);
        out += `\\u{${pattern.slice(i + 3, close)}}`;
        unicode = true;
        i = close + 1;
        continue;
      }
      out += c + e;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === "[" && pattern[i + 1] === ":") {
        // POSIX classes such as [:alpha:] exist only inside a class in PCRE.
        const m = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
        if (m) {
          const set = POSIX_CLASSES[m[2]];
          if (!set) refuse(`the POSIX class [:${m[2]}:]`, pattern, i);
          if (m[1]) refuse(`the negated POSIX class [:^${m[2]}:]`, pattern, i);
          out += set;
          i += m[0].length;
          continue;
        }
      }
      if (c === "]") inClass = false;
      out += c === "[" ? "\\[" : c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      i++;
      // A ']' right after '[' or '[^' is a literal in PCRE; JavaScript needs it escaped.
      if (pattern[i] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (
      extended && (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v")
    ) {
      i++;
      continue;
    }
    if (extended && c === "#") {
      while (i < n && pattern[i] !== "\n") i++;
      continue;
    }
    if (c === "$" && !multiline) {
      // PCRE's $ (without the m flag) also matches before a final newline; JavaScript's does not.
      out += END_OR_FINAL_NEWLINE;
      i++;
      continue;
    }
    if (c === "(") {
      const rest = pattern.slice(i);
      if (rest.startsWith("(*")) refuse("backtracking control verbs (*...)", pattern, i);
      if (rest.startsWith("(?")) {
        const kind = rest[2];
        if (kind === ">") refuse("atomic groups (?>...)", pattern, i);
        if (kind === "|") refuse("branch reset groups (?|...)", pattern, i);
        if (kind === "(") refuse("conditional groups (?(...)...)", pattern, i);
        if (/^\(\?(R|[+-]?\d+)\)/.test(rest)) {
          refuse("recursion (?R) / subroutine calls (?1)", pattern, i);
        }
        if (kind === "&") refuse("subroutine calls (?&name)", pattern, i);
        if (rest.startsWith("(?P>")) refuse("subroutine calls (?P>name)", pattern, i);
        if (kind === "#") {
          const close = pattern.indexOf(")", i);
          if (close < 0) refuse("an unterminated comment (?#...)", pattern, i);
          i = close + 1;
          continue;
        }
        if (rest.startsWith("(?P<")) {
          out += "(?<";
          i += 4;
          continue;
        }
        const quotedName = /^\(\?'([A-Za-z_]\w*)'/.exec(rest);
        if (quotedName) {
          out += `(?<${quotedName[1]}>`;
          i += quotedName[0].length;
          continue;
        }
        const backref = /^\(\?P=(\w+)\)/.exec(rest);
        if (backref) {
          out += `\\k<${backref[1]}>`;
          i += backref[0].length;
          continue;
        }
        if (/^\(\?[a-zA-Z^-]+\)/.test(rest)) {
          refuse("inline flags other than at the start of the pattern", pattern, i);
        }
        if (/^\(\?[a-zA-Z^-]+:/.test(rest)) {
          // JavaScript has them only in recent engines (not Node.js 20): refused everywhere, so
          // that a pattern means the same on every runtime.
          refuse("scoped inline flags (?i:...)", pattern, i);
        }
      }
      out += c;
      i++;
      continue;
    }
    if ((c === "*" || c === "+" || c === "?" || c === "}") && pattern[i + 1] === "+") {
      // In PCRE "x*+" is possessive; a '+' after '}' only when the brace closes a quantifier.
      if (c !== "}" || /\{\d+(,\d*)?$/.test(pattern.slice(0, i))) {
        refuse("possessive quantifiers (*+, ++, ?+, {n}+)", pattern, i);
      }
    }
    out += c;
    i++;
  }
  let jsFlags = [...flags].sort().join("");
  if (unicode) jsFlags += "u";
  return { source: out, flags: jsFlags };
}

/** PCRE `\Z`, and `$` without the m flag: the end, or just before a final newline. */
const END_OR_FINAL_NEWLINE = "(?=\\n?(?![\\s\\S]))";

/** PCRE `\h` (horizontal space) and `\v` (vertical space), as class contents. */
const ESCAPE_SETS = {
  h: "\\t \\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000",
  v: "\\n\\x0b\\f\\r\\x85\\u2028\\u2029",
};

/** POSIX classes (PCRE, ASCII), as class contents. */
const POSIX_CLASSES: Record<string, string> = {
  alnum: "a-zA-Z0-9",
  alpha: "a-zA-Z",
  ascii: "\\x00-\\x7f",
  blank: " \\t",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "\\x21-\\x7e",
  lower: "a-z",
  print: "\\x20-\\x7e",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\x0b\\f\\r ",
  upper: "A-Z",
  word: "\\w",
  xdigit: "0-9A-Fa-f",
};

/**
 * Compiles a PCRE pattern as a JavaScript RegExp.
 *
 * @throws {PcreError} for unsupported constructs and invalid patterns.
 */
export function compilePcre(pattern: string): RegExp {
  const { source, flags } = translatePcre(pattern);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new PcreError(
      "syntax",
      `Regex: invalid pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
