/**
 * PCRE patterns for the ROM-WebSocket `Regex` property, as JavaScript `RegExp`s.
 *
 * The original component promised PCRE. JavaScript's RegExp covers most of it; the common PCRE
 * spellings that JavaScript lacks are translated, and constructs that JavaScript cannot express
 * are refused with an error naming the construct, when the pattern is set (never at match time).
 *
 * Translated: leading inline flags `(?i)`, `(?m)`, `(?s)`, `(?x)` (and combinations such as
 * `(?im)`), `\A`, `\z`, `\Z`, `(?P<name>...)`, `(?P=name)`, `(?#comment)`.
 * Refused: atomic groups `(?>...)`, possessive quantifiers (`*+`, `++`, `?+`, `{n}+`),
 * recursion and subroutine calls (`(?R)`, `(?1)`, `(?&name)`, `(?P>name)`), `\K`, conditionals
 * `(?(...)...)`, branch reset `(?|...)`, backtracking verbs `(*...)`, `\G`, `\Q...\E`, inline
 * flags other than at the start, and flags other than i, m, s, x.
 *
 * @module
 */

import { ArgumentError } from "./errors.ts";

/** The pattern refused: `construct` names the PCRE feature. */
export class PcreError extends ArgumentError {
  /** The PCRE construct that JavaScript cannot express, or "syntax" for an invalid pattern. */
  readonly construct: string;
  /** Creates the error; `construct` names the refused PCRE feature. */
  constructor(construct: string, message: string, options?: { cause?: unknown }) {
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
 * @throws {PcreError} (an `ArgumentError` with code `INVALID_REGEX`) for unsupported constructs.
 */
export function translatePcre(pattern: string): TranslatedPattern {
  let i = 0;
  const flags = new Set<string>();
  // Leading inline flags: (?i), (?ms), possibly repeated: (?i)(?s).
  for (;;) {
    const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i));
    if (!m) break;
    for (const f of m[1]) {
      if (f === "i" || f === "m" || f === "s" || f === "x") flags.add(f);
      else refuse(`the inline flag (?${f})`, pattern, i);
    }
    i += m[0].length;
  }
  const extended = flags.delete("x");
  let out = "";
  let inClass = false;
  let unicode = false;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === "\\") {
      const e = pattern[i + 1];
      if (e === undefined) refuse("a trailing backslash", pattern, i);
      if (!inClass) {
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
          out += "(?=\\n?(?![\\s\\S]))"; // end, or before a final newline
          i += 2;
          continue;
        }
        if (e === "K") refuse("\\K (reset match start)", pattern, i);
        if (e === "G") refuse("\\G (continue from last match)", pattern, i);
        if (e === "Q") refuse("\\Q...\\E quoting", pattern, i);
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
      if (c === "]") inClass = false;
      out += c;
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
    if (c === "(") {
      const rest = pattern.slice(i);
      if (rest.startsWith("(*")) refuse("backtracking control verbs (*...)", pattern, i);
      if (rest.startsWith("(?")) {
        const kind = rest[2];
        if (kind === ">") refuse("atomic groups (?>...)", pattern, i);
        if (kind === "|") refuse("branch reset groups (?|...)", pattern, i);
        if (kind === "(") refuse("conditional groups (?(...)...)", pattern, i);
        if (
          kind === "R" ||
          (kind !== undefined && /[0-9+-]/.test(kind) && /^\(\?[+-]?\d+\)/.test(rest))
        ) {
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
        const backref = /^\(\?P=(\w+)\)/.exec(rest);
        if (backref) {
          out += `\\k<${backref[1]}>`;
          i += backref[0].length;
          continue;
        }
        if (/^\(\?[a-zA-Z-]+\)/.test(rest)) {
          refuse("inline flags other than at the start of the pattern", pattern, i);
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
