/**
 * The fuzzer: mutated and generated inputs for the parsers that read what a peer (or a user)
 * hands us, with only documented errors allowed.
 *
 * Targets (`--targets`, default all):
 * - `frames`: a `ClientProtocol` opened with or without permessage-deflate, fed a frame stream
 *   split at random points (`frame_reader.ts`, `message.ts`, `utf8.ts`, `close.ts`, `inflate.ts`).
 * - `http`: the handshake response fed to a `ClientProtocol` at random split points
 *   (`http11.ts`, `handshake.ts`, `extensions.ts`, `permessage_deflate.ts`).
 * - `extensions`: `parseExtensions` and `PerMessageDeflateFactory.accept` on a header value.
 * - `inflate`: `PerMessageDeflate.decodeMessage` on a compressed payload, with a size limit.
 * - `pcre`: `compilePcre` (`src/rom/pcre.ts`) on a pattern.
 * - `url`: `parseWebSocketUrl`, then a `ClientProtocol` built from the result (so a URL that
 *   parses always makes a valid request).
 *
 * Each input is a corpus entry (`scripts/fuzz/corpus/<target>/`), a structured one generated with
 * fast-check, or one of those mutated (bit flips, interesting bytes, dictionary tokens, cut,
 * duplicated or spliced ranges). An input passes when every error is a `WebSocketError` whose
 * class and `code` are in the error tree (`src/core/errors.ts`, read at start), nothing else is
 * thrown, it took less than `--slow-ms` (default 1,000), and the heap, sampled, stays under
 * `--max-heap-mib`. An input still running after `--hang-seconds` (default 30) is a hang: a
 * watchdog worker (`watchdog.ts`) saves it and ends the process (`--simulate-hang` shows it).
 * Failing inputs are written to `.build/fuzz/findings/`.
 *
 * Usage: deno run -A scripts/fuzz/run.ts [--seconds N] [--execs N] [--targets a,b] [--seed N]
 *   [--coverage DIR] (also `bun scripts/fuzz/run.ts ...`, without `--coverage`). With
 * `--coverage DIR` the script runs itself again under `deno run --coverage=DIR`, then prints
 * V8's line, branch and function coverage of the fuzzed modules (`deno coverage`). The last
 * line is `fuzz: N passed, M failed`: targets without and with findings.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import process from "node:process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { WebSocketError } from "../../src/core/errors.ts";
import { parseExtensions } from "../../src/core/extensions.ts";
import { acceptFor } from "../../src/core/handshake.ts";
import { PerMessageDeflate, PerMessageDeflateFactory } from "../../src/core/permessage_deflate.ts";
import { ClientProtocol } from "../../src/core/protocol.ts";
import { parseWebSocketUrl } from "../../src/core/uri.ts";
import { compilePcre } from "../../src/rom/pcre.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpusDir = join(root, "scripts", "fuzz", "corpus");

// -------------------------------------------------------------------------------------------------
// Arguments.

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const seconds = Number(arg("seconds", "0"));
const maxExecs = Number(arg("execs", seconds > 0 ? "0" : "100000"));
const seed = Number(arg("seed", String(Date.now() % 1_000_000)));
const slowMs = Number(arg("slow-ms", "1000"));
const hangSeconds = Number(arg("hang-seconds", "30"));
const simulateHang = process.argv.includes("--simulate-hang");
const maxHeapMiB = Number(arg("max-heap-mib", "768"));
const coverageDir = arg("coverage", "");
const writeSeeds = process.argv.includes("--write-seeds");

// -------------------------------------------------------------------------------------------------
// The error tree: class name -> codes, read from errors.ts (and PcreError's one code).

function documentedCodes(): Map<string, Set<string>> {
  const text = readFileSync(join(root, "src", "core", "errors.ts"), "utf8");
  const codes = new Map<string, Set<string>>();
  for (const m of text.matchAll(/export type (\w+)ErrorCode =([^;]+);/g)) {
    codes.set(`${m[1]}Error`, new Set([...m[2].matchAll(/"([A-Z_0-9]+)"/g)].map((c) => c[1])));
  }
  codes.set("AbortError", new Set(["ABORTED"]));
  codes.set("PcreError", new Set(["INVALID_REGEX"]));
  return codes;
}
const CODES = documentedCodes();

/** Throws unless `error` is documented: a WebSocketError subclass with a code of its class. */
function checkError(error: unknown, where: string): void {
  if (!(error instanceof WebSocketError)) {
    throw new Finding(`${where}: undocumented ${String((error as Error)?.stack ?? error)}`);
  }
  const codes = CODES.get(error.name);
  if (!codes || !codes.has(error.code)) {
    throw new Finding(`${where}: ${error.name} with undocumented code ${error.code}`);
  }
}

class Finding extends Error {}

// -------------------------------------------------------------------------------------------------
// Randomness (xorshift32: fast and reproducible from --seed).

let state = (seed * 2654435761) >>> 0 || 1;
function rnd(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const enc = new TextEncoder();
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const text = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
};

const INTERESTING = [0, 1, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 125, 126, 127, 0x0d, 0x0a, 0x20];

/** One random mutation (or a few) of `input`, bounded to `maxLength` bytes. */
function mutate(
  input: Uint8Array,
  dictionary: readonly Uint8Array[],
  others: readonly Uint8Array[],
  maxLength: number,
): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const n = b.length;
    const at = n === 0 ? 0 : int(n);
    switch (int(9)) {
      case 0: // flip a bit
        if (n > 0) b[at] ^= 1 << int(8);
        break;
      case 1: // an interesting byte
        if (n > 0) b[at] = pick(INTERESTING);
        break;
      case 2: // a random byte
        if (n > 0) b[at] = int(256);
        break;
      case 3: { // insert a dictionary token
        const t = pick(dictionary);
        b = concat(b.subarray(0, at), t, b.subarray(at));
        break;
      }
      case 4: { // delete a range
        const len = 1 + int(Math.min(16, Math.max(1, n - at)));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 5: { // duplicate a range
        const len = 1 + int(Math.min(64, Math.max(1, n - at)));
        const times = 1 + int(rnd() < 0.1 ? 200 : 4);
        const piece = b.subarray(at, at + len);
        b = concat(b.subarray(0, at), ...new Array(times).fill(piece), b.subarray(at));
        break;
      }
      case 6: { // splice with another input
        const o = pick(others);
        const from = int(o.length + 1);
        b = concat(b.subarray(0, at), o.subarray(from, from + 1 + int(64)));
        break;
      }
      case 7: // truncate
        b = b.subarray(0, at);
        break;
      case 8: { // a big-endian 16- or 64-bit number at `at` (frame lengths)
        if (n >= at + 2) {
          const v = pick([0, 125, 126, 127, 0xffff, 0x10000]);
          b[at] = v >> 8;
          b[at + 1] = v & 0xff;
        }
        break;
      }
    }
  }
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `bytes` cut at random points (at most 8 pieces, sometimes byte by byte for short inputs). */
function chunks(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length <= 64 && rnd() < 0.2) return Array.from(bytes, (b) => new Uint8Array([b]));
  const out: Uint8Array[] = [];
  let at = 0;
  const pieces = int(8);
  for (let i = 0; i < pieces && at < bytes.length; i++) {
    const end = at + int(bytes.length - at + 1);
    out.push(bytes.subarray(at, end));
    at = end;
  }
  out.push(bytes.subarray(at));
  return out;
}

// -------------------------------------------------------------------------------------------------
// Targets.

interface Target {
  readonly name: string;
  /** Longest input the mutator makes. */
  readonly maxLength: number;
  /** Tokens the mutator inserts. */
  readonly dictionary: readonly Uint8Array[];
  /** Built-in seeds (written to the corpus with --write-seeds). */
  seeds(): Uint8Array[];
  /** Structured inputs from fast-check, added to the corpus at start. */
  generated(count: number): Uint8Array[];
  /** Runs one input; throws a Finding when an invariant breaks. */
  run(input: Uint8Array): void;
}

const KEY_RANDOM = (b: Uint8Array) => b.fill(7);

function frame(opcode: number, payload: Uint8Array, fin = true, rsv = 0): Uint8Array {
  const n = payload.length;
  const head = n < 126
    ? [n]
    : n < 65536
    ? [126, n >> 8, n & 0xff]
    : [127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return concat(new Uint8Array([(fin ? 0x80 : 0) | (rsv << 4) | opcode, ...head]), payload);
}

const compressor = (data: Uint8Array) => {
  const z = deflateRawSync(data, { finishFlush: 2 });
  return new Uint8Array(z.buffer, z.byteOffset, z.length - 4);
};

/** Opens a protocol: plain or with permessage-deflate (the first input byte decides). */
function openProtocol(deflate: boolean, maxMessageSize: number): ClientProtocol {
  const p = new ClientProtocol({
    host: "fuzz.test",
    path: "/",
    random: KEY_RANDOM,
    maxMessageSize,
    maxFragments: 64,
    extensions: deflate ? [new PerMessageDeflateFactory()] : [],
  });
  p.sendRequest();
  p.takeWrites();
  const ext = deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "";
  p.receiveData(latin1(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${acceptFor(p.key)}\r\n${ext}\r\n`,
  ));
  p.takeEvents();
  return p;
}

/** Drives `p` with `input` in chunks as a driver would; checks every event and write. */
function drive(p: ClientProtocol, input: Uint8Array, where: string): void {
  for (const chunk of chunks(input)) {
    p.receiveData(chunk);
    do {
      for (const e of p.takeEvents()) if (e.type === "error") checkError(e.error, where);
    } while (p.resume());
    for (const w of p.takeWrites()) {
      if (!(w instanceof Uint8Array)) throw new Finding(`${where}: a write is not bytes`);
    }
  }
  p.receiveEof();
  for (const e of p.takeEvents()) if (e.type === "error") checkError(e.error, where);
  if (p.failure !== undefined) checkError(p.failure, where);
  p.closeInfo();
}

const frameArbitrary = fc.array(
  fc.record({
    opcode: fc.constantFrom(0, 1, 2, 8, 9, 10, 3, 11),
    fin: fc.boolean(),
    rsv: fc.constantFrom(0, 0, 0, 4, 2, 1),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 60 }).map((s) => enc.encode(s)),
    ),
  }),
  { maxLength: 8 },
).map((frames) => concat(...frames.map((f) => frame(f.opcode, f.payload, f.fin, f.rsv))));

const frames: Target = {
  name: "frames",
  maxLength: 1 << 16,
  dictionary: [
    frame(1, enc.encode("héllo")),
    frame(2, new Uint8Array(3)),
    frame(8, new Uint8Array([3, 0xe8])),
    frame(9, new Uint8Array(0)),
    frame(0, new Uint8Array([0xce, 0xba]), false),
    new Uint8Array([0xc1]),
    new Uint8Array([0x81, 0x7e, 0xff, 0xff]),
    new Uint8Array([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array([0xf4, 0x90]),
  ],
  seeds() {
    return [
      frame(1, enc.encode("hello")),
      concat(
        frame(1, enc.encode("hel"), false),
        frame(9, enc.encode("p")),
        frame(0, enc.encode("lo")),
      ),
      frame(2, new Uint8Array(300).fill(1)),
      frame(2, new Uint8Array(70000).fill(2)),
      frame(8, concat(new Uint8Array([3, 0xe8]), enc.encode("bye"))),
      concat(frame(10, new Uint8Array(4)), frame(1, enc.encode("€😀"))),
      frame(1, compressor(enc.encode("hello hello hello")), true, 4),
      concat(
        frame(1, compressor(enc.encode("abc".repeat(100))).subarray(0, 5), false, 4),
        frame(0, compressor(enc.encode("abc".repeat(100))).subarray(5)),
      ),
      frame(2, compressor(new Uint8Array(100000)), true, 4),
    ];
  },
  generated: (count) => fc.sample(frameArbitrary, { numRuns: count, seed }),
  run(input) {
    const mode = input.length > 0 ? input[0] : 0;
    const p = openProtocol((mode & 1) === 1, (mode & 2) ? 1024 : 1 << 20);
    drive(p, input.subarray(1), "frames");
  },
};

const ACCEPT_PLACEHOLDER = "@ACCEPT@";

const http: Target = {
  name: "http",
  maxLength: 1 << 14,
  dictionary: [
    "\r\n",
    ": ",
    "\r\n\r\n",
    "HTTP/1.1 ",
    "101",
    " \t",
    "\r\n ",
    "\0",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    `Sec-WebSocket-Accept: ${ACCEPT_PLACEHOLDER}\r\n`,
    "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n",
    "Sec-WebSocket-Protocol: chat\r\n",
    "Content-Length: 5\r\n",
    "\x81\x05hello",
  ].map(latin1),
  seeds() {
    const base =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${ACCEPT_PLACEHOLDER}\r\n`;
    return [
      base + "\r\n",
      base + "Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi",
      base + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
      base + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
      "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nWWW-Authenticate: Basic\r\n\r\nnope",
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n",
      "HTTP/1.0 101 OK\r\nUpgrade: websocket\r\n\r\n",
    ].map(latin1);
  },
  generated: (count) =>
    fc.sample(
      fc.array(
        fc.tuple(
          fc.constantFrom(
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Accept",
            "Sec-WebSocket-Extensions",
            "Sec-WebSocket-Protocol",
            "X-A",
          ),
          fc.string({ maxLength: 40 }),
        ),
        { maxLength: 6 },
      ),
      { numRuns: count, seed },
    ).map((headers) =>
      latin1(`HTTP/1.1 101 Switching Protocols\r\n${
        headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")
      }\r\n`)
    ),
  run(input) {
    const p = new ClientProtocol({
      host: "fuzz.test",
      path: "/",
      random: KEY_RANDOM,
      protocols: ["chat", "superchat"],
      extensions: [new PerMessageDeflateFactory()],
      maxHeaderLineLength: 512,
      maxHeadSize: 4096,
      maxHeaderCount: 16,
    });
    p.sendRequest();
    p.takeWrites();
    // The placeholder becomes the right accept value, so mutations get past the accept check.
    const raw = text(input).replaceAll(ACCEPT_PLACEHOLDER, acceptFor(p.key));
    drive(p, latin1(raw), "http");
  },
};

const extensions: Target = {
  name: "extensions",
  maxLength: 2048,
  dictionary: [
    "permessage-deflate",
    "; ",
    ", ",
    "=",
    '"',
    "\\",
    "server_max_window_bits",
    "client_max_window_bits",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "8",
    "15",
    "16",
    "x-webkit-deflate-frame",
  ].map(latin1),
  seeds: () =>
    [
      "permessage-deflate",
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
      'permessage-deflate; server_max_window_bits="12"',
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      "permessage-deflate, x-other; a=b",
      "permessage-deflate; client_max_window_bits=8",
    ].map(latin1),
  generated: (count) =>
    fc.sample(
      fc.array(
        fc.tuple(
          fc.constantFrom(
            "server_max_window_bits",
            "client_max_window_bits",
            "server_no_context_takeover",
            "client_no_context_takeover",
            "x",
          ),
          fc.option(
            fc.oneof(fc.integer({ min: -2, max: 20 }).map(String), fc.string({ maxLength: 4 })),
          ),
        ),
        { maxLength: 4 },
      ),
      { numRuns: count, seed },
    ).map((ps) =>
      latin1(
        "permessage-deflate" + ps.map(([k, v]) => v === null ? `; ${k}` : `; ${k}=${v}`).join(""),
      )
    ),
  run(input) {
    const value = text(input);
    const factories = [
      new PerMessageDeflateFactory(),
      new PerMessageDeflateFactory({ serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
      new PerMessageDeflateFactory({ clientMaxWindowBits: false, serverNoContextTakeover: true }),
    ];
    try {
      for (const element of parseExtensions(value)) {
        if (typeof element.name !== "string") throw new Finding("extensions: name not a string");
        for (const f of factories) {
          try {
            const ext = f.accept(element.params);
            const p = ext.parameters;
            for (const bits of [p.serverMaxWindowBits, p.clientMaxWindowBits]) {
              if (!Number.isInteger(bits) || bits < 8 || bits > 15) {
                throw new Finding(`extensions: accepted window bits ${bits} from ${value}`);
              }
            }
          } catch (error) {
            if (error instanceof Finding) throw error;
            checkError(error, "extensions/accept");
          }
        }
      }
    } catch (error) {
      if (error instanceof Finding) throw error;
      checkError(error, "extensions/parse");
    }
  },
};

const inflate: Target = {
  name: "inflate",
  maxLength: 1 << 15,
  dictionary: [
    new Uint8Array([0, 0, 0xff, 0xff]),
    new Uint8Array([0x01, 0, 0, 0xff, 0xff]),
    new Uint8Array([0x02]),
    new Uint8Array([0x04]),
    new Uint8Array([0x05]),
    compressor(new Uint8Array(1000)),
  ],
  seeds: () =>
    [
      compressor(enc.encode("Hello")),
      compressor(enc.encode("hello ".repeat(500))),
      compressor(Uint8Array.from({ length: 4000 }, (_, i) => (i * 7919) & 0xff)),
      compressor(new Uint8Array(1 << 20)),
      deflateRawSync(enc.encode("fixed block"), { strategy: 4 /* Z_FIXED */ }),
      deflateRawSync(enc.encode("stored"), { level: 0 }),
    ].map((b) => new Uint8Array(b)),
  generated: (count) =>
    fc.sample(fc.uint8Array({ maxLength: 2000 }), { numRuns: count, seed }).map((d) =>
      compressor(d)
    ),
  run(input) {
    const mode = input.length > 0 ? input[0] : 0;
    const bits = 8 + (mode & 7);
    const ext = new PerMessageDeflate({
      serverMaxWindowBits: bits,
      clientMaxWindowBits: 15,
      serverNoContextTakeover: (mode & 8) !== 0,
      clientNoContextTakeover: false,
      threshold: 0,
      level: 6,
      memLevel: 8,
    });
    const limit = mode & 16 ? 1 << 12 : 1 << 20;
    // Two messages, so the second may refer to the first's window.
    const cut = input.length >> 1;
    for (const part of [input.subarray(1, cut), input.subarray(cut)]) {
      try {
        const out = ext.decodeMessage(part, limit);
        if (out.length > limit) throw new Finding(`inflate: ${out.length} bytes over ${limit}`);
      } catch (error) {
        if (error instanceof Finding) throw error;
        checkError(error, "inflate");
        return;
      }
    }
  },
};

const pcre: Target = {
  name: "pcre",
  maxLength: 512,
  dictionary: [
    "(?i)",
    "(?",
    "(?>",
    "(?<n>",
    "(?P<n>",
    "\\A",
    "\\z",
    "\\Z",
    "\\K",
    "\\Q",
    "\\E",
    "[",
    "]",
    "[:alpha:]",
    "*+",
    "++",
    "{2,}",
    "\\p{L}",
    "\\x{41}",
    "(?R)",
    "(?#c)",
    "\\",
    ")",
    "|",
  ].map(latin1),
  seeds: () =>
    [
      "^hello$",
      "(?i)^ari",
      "\\A\\d+\\z",
      '"type":\\s*"(StasisStart|StasisEnd)"',
      "[a-z]{2,5}\\Z",
      "(?<word>\\w+)\\s\\k<word>",
      "(?>atomic)",
      "a++b",
      "[[:digit:]]+",
      "\\Qa.b\\E",
    ].map((s) => enc.encode(s)),
  generated: (count) =>
    fc.sample(fc.stringMatching(/^[a-z()\\?:*+|\[\]{}.^$0-9iAzZ<>=!-]{0,24}$/), {
      numRuns: count,
      seed,
    }).map((s) => enc.encode(s)),
  run(input) {
    const pattern = new TextDecoder().decode(input);
    try {
      const re = compilePcre(pattern);
      if (!(re instanceof RegExp)) throw new Finding("pcre: not a RegExp");
    } catch (error) {
      if (error instanceof Finding) throw error;
      checkError(error, "pcre");
    }
  },
};

const url: Target = {
  name: "url",
  maxLength: 512,
  dictionary: [
    "ws://",
    "wss://",
    "http://",
    "@",
    ":",
    "[",
    "]",
    "::1",
    "%0d%0a",
    "\r\n",
    "#",
    "?",
    "/",
    "\\",
    " ",
    "\t",
    "%",
    "xn--",
    "é",
  ].map((s) => enc.encode(s)),
  seeds: () =>
    [
      "ws://example.com/chat",
      "wss://user:pa%20ss@example.com:8443/a/b?c=d&e",
      "ws://[::1]:9000/",
      "ws://127.0.0.1",
      'ws://example.com/p a t h?q="x"',
      "wss://xn--bcher-kva.example/",
    ].map((s) => enc.encode(s)),
  generated: (count) =>
    fc.sample(fc.webUrl(), { numRuns: count, seed }).map((s) =>
      enc.encode(s.replace(/^https?/, "ws"))
    ),
  run(input) {
    const s = new TextDecoder().decode(input);
    let parsed;
    try {
      parsed = parseWebSocketUrl(s);
    } catch (error) {
      checkError(error, "url");
      return;
    }
    // A URL that parses makes a valid request (CVE-2026-1527: nothing can be injected).
    try {
      const p = new ClientProtocol({ host: parsed.host, path: parsed.path, random: KEY_RANDOM });
      p.sendRequest();
      const request = text(p.takeWrites()[0]);
      const lines = request.split("\r\n");
      if (lines.length !== 8 || !lines[0].startsWith("GET ") || lines[0].split(" ").length !== 3) {
        throw new Finding(`url: ${JSON.stringify(s)} made the request ${JSON.stringify(request)}`);
      }
    } catch (error) {
      if (error instanceof Finding) throw error;
      throw new Finding(`url: ${JSON.stringify(s)} parsed but the request failed: ${error}`);
    }
  },
};

const TARGETS: readonly Target[] = [frames, http, extensions, inflate, pcre, url];

// -------------------------------------------------------------------------------------------------
// Corpus.

function loadCorpus(target: Target): Uint8Array[] {
  const dir = join(corpusDir, target.name);
  try {
    return readdirSync(dir).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));
  } catch {
    return [];
  }
}

if (writeSeeds) {
  for (const t of TARGETS) {
    const dir = join(corpusDir, t.name);
    mkdirSync(dir, { recursive: true });
    t.seeds().forEach((s, i) => writeFileSync(join(dir, `seed-${String(i).padStart(3, "0")}`), s));
    console.log(`${t.name}: ${t.seeds().length} seeds written`);
  }
  process.exit(0);
}

// -------------------------------------------------------------------------------------------------
// Coverage: this script again under `deno run --coverage`, then `deno coverage`.

/** The modules the targets exercise, as `deno coverage` names them. */
const FUZZED = [
  "core/frame_reader.ts",
  "core/message.ts",
  "core/utf8.ts",
  "core/close.ts",
  "core/inflate.ts",
  "core/permessage_deflate.ts",
  "core/http11.ts",
  "core/handshake.ts",
  "core/extensions.ts",
  "core/uri.ts",
  "core/protocol.ts",
  "rom/pcre.ts",
];

if (coverageDir !== "" && process.env.FUZZ_COVERAGE_CHILD !== "1") {
  const deno = join(root, "node_modules", ".bin", "deno");
  const args = process.argv.slice(2);
  const at = args.indexOf("--coverage");
  args.splice(at, 2);
  rmSync(coverageDir, { recursive: true, force: true }); // deno coverage merges what it finds
  const run = spawnSync(deno, [
    "run",
    `--coverage=${coverageDir}`,
    "-A",
    fileURLToPath(import.meta.url),
    ...args,
  ], {
    stdio: "inherit",
    env: { ...process.env, FUZZ_COVERAGE_CHILD: "1" },
  });
  const report = spawnSync(deno, ["coverage", coverageDir, "--include=src/"], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const rows = report.stdout.split("\n").filter((l) =>
    FUZZED.some((m) => l.includes(m)) || /^\| File/.test(l)
  );
  console.log("\nV8 coverage of the fuzzed modules (deno coverage):");
  console.log(rows.join("\n"));
  process.exit(run.status ?? 1);
}

// -------------------------------------------------------------------------------------------------
// The loop.

interface Stats {
  execs: number;
  findings: number;
  ms: number;
  slowest: number;
}

const wanted = arg("targets", TARGETS.map((t) => t.name).join(",")).split(",");
const active = TARGETS.filter((t) => wanted.includes(t.name));
const findingsDir = join(root, ".build", "fuzz", "findings");
const stats = new Map<string, Stats>();
const pools = new Map<string, Uint8Array[]>();
for (const t of active) {
  const pool = [...loadCorpus(t), ...t.seeds(), ...t.generated(200)];
  pools.set(t.name, pool);
  stats.set(t.name, { execs: 0, findings: 0, ms: 0, slowest: 0 });
}
const seenFindings = new Set<string>();

function record(t: Target, input: Uint8Array, message: string): void {
  const s = stats.get(t.name)!;
  s.findings++;
  const key = message.split("\n")[0].slice(0, 200);
  if (seenFindings.has(key)) return;
  seenFindings.add(key);
  mkdirSync(findingsDir, { recursive: true });
  const file = join(findingsDir, `${t.name}-${seenFindings.size}.bin`);
  writeFileSync(file, input);
  console.log(`FINDING ${t.name}: ${message.slice(0, 600)}\n  input saved to ${file}`);
}

// The watchdog (a worker): ends the process, input saved, when an input runs `hangSeconds`.
const WATCHED_BYTES = 1 << 20;
const shared = new SharedArrayBuffer(12 + WATCHED_BYTES);
const watched = new Int32Array(shared, 0, 3);
const watchedBytes = new Uint8Array(shared, 12);
const watchdog = new Worker(new URL("./watchdog.ts", import.meta.url).href, { type: "module" });
watchdog.postMessage({
  shared,
  targets: active.map((t) => t.name),
  seconds: hangSeconds,
  findingsDir,
});
/** Shows `input` of target number `index` to the watchdog before it runs. */
function watch(index: number, input: Uint8Array): void {
  const n = Math.min(input.length, WATCHED_BYTES);
  watchedBytes.set(n === input.length ? input : input.subarray(0, n));
  watched[1] = index;
  watched[2] = n;
  Atomics.add(watched, 0, 1);
}

const started = performance.now();
const deadline = seconds > 0 ? started + seconds * 1000 : Infinity;
let total = 0;
let maxHeap = 0;
let lastReport = started;
const heapUsed = () => process.memoryUsage().heapUsed;

console.log(
  `fuzz: seed ${seed}, targets ${active.map((t) => t.name).join(",")}, ` +
    (seconds > 0 ? `${seconds} s` : `${maxExecs} executions`),
);
outer: for (;;) {
  for (const [index, t] of active.entries()) {
    const pool = pools.get(t.name)!;
    const s = stats.get(t.name)!;
    const batchStart = performance.now();
    for (let i = 0; i < 200; i++) {
      const base = pick(pool);
      const input = rnd() < 0.05 ? base : mutate(base, t.dictionary, pool, t.maxLength);
      watch(index, input);
      const t0 = performance.now();
      try {
        // --simulate-hang: an endless input, to see the watchdog work.
        if (simulateHang && total === 1000) { for (;;) Atomics.load(watched, 0); }
        t.run(input);
      } catch (error) {
        record(
          t,
          input,
          error instanceof Finding
            ? error.message
            : `uncaught ${String((error as Error)?.stack ?? error)}`,
        );
      }
      const took = performance.now() - t0;
      if (took > s.slowest) s.slowest = took;
      if (took > slowMs) record(t, input, `slow input: ${took.toFixed(0)} ms`);
      s.execs++;
      total++;
      // Keep a few mutants, so that mutations build on mutations (no coverage feedback).
      if (pool.length < 4000 && rnd() < 0.002) pool.push(input.slice());
    }
    s.ms += performance.now() - batchStart;
    if (maxExecs > 0 && total >= maxExecs) break outer;
  }
  {
    const heap = heapUsed();
    if (heap > maxHeap) maxHeap = heap;
    if (heap > maxHeapMiB * 1024 * 1024) {
      console.log(`FINDING heap: ${(heap / 1048576).toFixed(0)} MiB over ${maxHeapMiB} MiB`);
      stats.get(active[0].name)!.findings++;
      break;
    }
  }
  const now = performance.now();
  if (now >= deadline) break;
  if (now - lastReport > 30_000) {
    lastReport = now;
    const rate = total / ((now - started) / 1000);
    console.log(
      `  ${total} executions, ${rate.toFixed(0)}/s, heap ${(heapUsed() / 1048576).toFixed(0)} MiB`,
    );
  }
}

const elapsed = (performance.now() - started) / 1000;
console.log("\n| target | executions | execs/s | slowest input (ms) | findings |");
console.log("| --- | ---: | ---: | ---: | ---: |");
let findings = 0;
for (const t of active) {
  const s = stats.get(t.name)!;
  findings += s.findings;
  console.log(
    `| ${t.name} | ${s.execs} | ${(s.execs / (s.ms / 1000)).toFixed(0)} | ${
      s.slowest.toFixed(1)
    } | ${s.findings} |`,
  );
}
console.log(
  `| all | ${total} | ${(total / elapsed).toFixed(0)} | | ${findings} |\n` +
    `wall ${elapsed.toFixed(1)} s, heap peak (sampled) ${(maxHeap / 1048576).toFixed(0)} MiB`,
);
// One pass or failure per target, so CI's total counts targets, not millions of inputs.
const failedTargets = active.filter((t) => stats.get(t.name)!.findings > 0).length;
console.log(`fuzz: ${active.length - failedTargets} passed, ${failedTargets} failed`);
watchdog.terminate();
process.exit(findings === 0 ? 0 : 1);
