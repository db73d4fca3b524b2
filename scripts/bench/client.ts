/**
 * One benchmark sample: a WebSocket client that echoes messages through the shared echo server
 * (`echo_server.ts`) and prints one JSON line with its measurements. Runs on Deno, Bun and
 * Node.js; `run.ts` runs one esbuild bundle of it on all three, so that a run uses one snapshot
 * of `src/`.
 *
 * ```sh
 * deno run -A scripts/bench/client.ts --url ws://127.0.0.1:PORT/ --impl rom --workload pipe \
 *   --size 1024 --binary --window 100 --seconds 2 --warmup 0.5
 * ```
 *
 * Implementations (`--impl`):
 * - `rom`: this project (`connect` from mod.ts);
 * - `ws`: the npm `ws` package (on Bun loaded by file path, since Bun replaces the bare `"ws"`
 *   specifier with its own shim);
 * - `wsshim`: Bun only, `import "ws"` as Bun resolves it (a wrapper over Bun's native client);
 * - `native`: the runtime's global `WebSocket` (Deno, Bun, undici on Node.js 22+);
 * - `raw`: the ceiling. A bare TCP socket (node:net, Deno.connect or Bun.connect) that writes
 *   precomputed masked frames and parses only the echoed frame headers and sequence numbers.
 *
 * Workloads (`--workload`):
 * - `pipe`: `--window` messages in flight; each echo sends the next one. Messages/s and MB/s.
 * - `pingpong`: one message in flight. Round trips/s and p50/p99 round-trip time.
 * - `feed`: the server pushes 1 KiB-class JSON events (`--size`) as fast as this client takes
 *   them, as an ARI, Slack or Pusher feed does; each one is `JSON.parse`d and its sequence
 *   number checked. Nothing is sent. Messages/s, and CPU per message.
 * - `idle`: opens `--conns` idle connections and reports the heap and RSS growth per connection
 *   (GC forced before and after; Node needs `--expose-gc`, Deno `--v8-flags=--expose-gc`).
 *
 * Every echo is checked so that a wrong client cannot win: its type (text or binary) and length,
 * and a sequence number written at both ends of the payload; every `--check-every`-th message is
 * also compared whole with what was sent. The raw client checks the opcode, the length and the
 * leading sequence number. Any mismatch ends the process with exit code 2.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import process from "node:process";
import { FEED_RING, feedEvent, feedEventBase, feedEvents, jsonText, randomBytes } from "./data.ts";

// -------------------------------------------------------------------------------------------------
// Arguments.

type Impl = "rom" | "ws" | "wsshim" | "native" | "raw";
type Workload = "pipe" | "pingpong" | "feed" | "idle";

interface Args {
  url: string;
  impl: Impl;
  workload: Workload;
  size: number;
  binary: boolean;
  window: number;
  seconds: number;
  warmup: number;
  compress: boolean;
  /** With `compress`: send uncompressed (ours and ws), as the built-in clients always do. */
  sendPlain: boolean;
  conns: number;
  checkEvery: number;
  /** How text payloads are made: `fixed` (one body, sequence numbers concatenated at both ends),
   * `json` (a fresh `JSON.stringify` per message, `JSON.parse` of every echo: what a feed does),
   * `repeat` (a fresh `"x".repeat()` per message, a rope on V8 and JavaScriptCore). */
  shape: Shape;
  /** rom only: receive with `for await` and send with `await send()` instead of a listener. */
  iterate: boolean;
  /** rom only: import this module (e.g. the TypeScript source, as JSR users do), not the bundle. */
  romModule: string;
}

type Shape = "fixed" | "json" | "repeat";

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
  };
  const args: Args = {
    url: value("--url", "ws://127.0.0.1:8080/"),
    impl: value("--impl", "rom") as Impl,
    workload: value("--workload", "pipe") as Workload,
    size: Number(value("--size", "1024")),
    binary: !argv.includes("--text"),
    window: Number(value("--window", "100")),
    seconds: Number(value("--seconds", "2")),
    warmup: Number(value("--warmup", "0.5")),
    compress: argv.includes("--compress"),
    sendPlain: argv.includes("--send-plain"),
    conns: Number(value("--conns", "1000")),
    checkEvery: Number(value("--check-every", "16")),
    shape: value("--shape", "fixed") as Shape,
    iterate: argv.includes("--iterate"),
    romModule: value("--rom-module", ""),
  };
  if (!["fixed", "json", "repeat"].includes(args.shape)) throw new Error(`unknown --shape`);
  if (args.shape !== "fixed" && args.binary) throw new Error("--shape is for --text payloads");
  if (args.shape === "json" && args.size < 512) throw new Error("--shape json needs --size 512+");
  if (!["rom", "ws", "wsshim", "native", "raw"].includes(args.impl)) {
    throw new Error(`unknown --impl ${args.impl}`);
  }
  if (!["pipe", "pingpong", "feed", "idle"].includes(args.workload)) {
    throw new Error(`unknown --workload ${args.workload}`);
  }
  if (!(args.size >= 16)) throw new Error("--size must be at least 16 bytes");
  if (args.workload === "pingpong") args.window = 1;
  if (!(args.window >= 1)) throw new Error("--window must be at least 1");
  return args;
}

// -------------------------------------------------------------------------------------------------
// The runtime.

const g = globalThis as unknown as {
  Deno?: { version: { deno: string } };
  Bun?: { version: string; gc(force: boolean): void };
  gc?: () => void;
  WebSocket?: typeof WebSocket;
};

function runtimeName(): string {
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/** User plus system CPU seconds of this process, all threads (Linux `/proc/self/stat`). */
function cpuSeconds(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of proc(5), utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function forceGc(): void {
  if (g.Bun) {
    g.Bun.gc(true);
  } else if (g.gc) {
    g.gc();
    g.gc();
  } else {
    throw new Error("no GC hook: run Node with --expose-gc, Deno with --v8-flags=--expose-gc");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ends the process with an error line (exit code 2: a wrong echo; 1: anything else). */
function fail(message: string, code = 1): never {
  console.log(JSON.stringify({ ok: false, error: message }));
  process.exit(code);
}

// -------------------------------------------------------------------------------------------------
// Payloads and checks.

const HEX = "0123456789abcdef";

function hex8(n: number): string {
  let s = "";
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(n >>> shift) & 15];
  return s;
}

function parseHex8(text: string, at: number): number {
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = text.charCodeAt(at + i);
    n = (n << 4) | (c <= 57 ? c - 48 : c - 87);
  }
  return n >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, n: number): void {
  bytes[at] = n & 0xff;
  bytes[at + 1] = (n >>> 8) & 0xff;
  bytes[at + 2] = (n >>> 16) & 0xff;
  bytes[at + 3] = n >>> 24;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * Makes the message with sequence number `seq` and checks echoes. Binary messages carry `seq` as a
 * little-endian u32 in their first and last 4 bytes, text messages as 8 hex digits at both ends.
 * Sent messages are kept in a ring of `window + 1` slots: a slot is reused only after the echo of
 * its message arrived, so the bytes handed to a client are never changed while it may hold them.
 */
class Messages {
  readonly #size: number;
  readonly #binary: boolean;
  readonly #checkEvery: number;
  readonly #ring: Array<string | Uint8Array>;
  readonly #body: string;
  readonly #shape: Shape;
  /** Length of the `json` event with an empty pad, less its sequence number. */
  #eventBase = 0;
  /** For the raw client: frames with their mask key, and where the payload starts. */
  readonly #frames: Uint8Array[] = [];
  #payloadAt = 0;
  checked = 0;

  constructor(args: Args, raw: boolean) {
    this.#size = args.size;
    this.#binary = args.binary;
    this.#checkEvery = Math.max(1, args.checkEvery);
    const slots = args.window + 1;
    this.#shape = args.shape;
    this.#body = args.binary ? "" : jsonText(args.size - 16);
    if (args.shape === "json") {
      // The event without pad and without its sequence number's digits: a message's pad is what
      // is left of the size (stringified once per message, as an application does).
      this.#eventBase = feedEventBase();
      this.#body = "p".repeat(Math.max(0, args.size - this.#eventBase - 1));
    }
    if (raw && args.shape !== "fixed") throw new Error("the raw client sends fixed payloads only");
    this.#ring = new Array(slots);
    if (raw) {
      const payload = args.binary
        ? randomBytes(args.size)
        : new TextEncoder().encode(hex8(0) + this.#body + hex8(0));
      for (let i = 0; i < slots; i++) this.#frames.push(this.#maskedFrame(payload));
    } else if (args.binary) {
      const template = randomBytes(args.size);
      for (let i = 0; i < slots; i++) this.#ring[i] = template.slice();
    }
  }

  /** The message (or, for the raw client, the masked frame) with sequence number `seq`. */
  make(seq: number): string | Uint8Array {
    const slot = seq % this.#ring.length;
    if (this.#frames.length > 0) return this.#stampFrame(this.#frames[slot], seq);
    if (this.#binary) {
      const bytes = this.#ring[slot] as Uint8Array;
      writeU32(bytes, 0, seq);
      writeU32(bytes, this.#size - 4, seq);
      return bytes;
    }
    const text = this.#shape === "json"
      ? feedEvent(seq, this.#body.slice(0, this.#size - this.#eventBase - String(seq).length))
      : this.#shape === "repeat"
      ? hex8(seq) + "x".repeat(this.#size - 16) + hex8(seq)
      : hex8(seq) + this.#body + hex8(seq);
    this.#ring[slot] = text;
    return text;
  }

  /** Checks the echo of message `seq`. */
  check(data: string | Uint8Array, seq: number): void {
    const size = this.#size;
    if (this.#binary) {
      if (typeof data === "string") fail(`message ${seq}: text echo, binary sent`, 2);
      if (data.length !== size) fail(`message ${seq}: ${data.length} bytes, ${size} sent`, 2);
      const expected = seq >>> 0;
      if (readU32(data, 0) !== expected || readU32(data, size - 4) !== expected) {
        fail(`message ${seq}: sequence ${readU32(data, 0)}`, 2);
      }
      if (seq % this.#checkEvery === 0) {
        this.checked++;
        const sent = this.#ring[seq % this.#ring.length] as Uint8Array;
        if (!Buffer.from(data.buffer, data.byteOffset, data.length).equals(sent)) {
          fail(`message ${seq}: payload differs`, 2);
        }
      }
      return;
    }
    if (typeof data !== "string") fail(`message ${seq}: binary echo, text sent`, 2);
    if (data.length !== size) fail(`message ${seq}: ${data.length} characters, ${size} sent`, 2);
    if (this.#shape === "json") {
      // What a feed consumer does with every message.
      const event = JSON.parse(data) as { seq: number };
      if (event.seq !== seq) fail(`message ${seq}: sequence ${event.seq}`, 2);
    } else if (parseHex8(data, 0) !== seq >>> 0 || parseHex8(data, size - 8) !== seq >>> 0) {
      fail(`message ${seq}: sequence ${data.slice(0, 8)}`, 2);
    }
    if (seq % this.#checkEvery === 0) {
      this.checked++;
      if (data !== this.#ring[seq % this.#ring.length]) fail(`message ${seq}: text differs`, 2);
    }
  }

  /** Checks an echo seen by the raw client: opcode, length and the leading sequence number. */
  checkRaw(opcode: number, length: number, head: Uint8Array, seq: number): void {
    if (opcode !== (this.#binary ? 2 : 1)) fail(`message ${seq}: opcode ${opcode}`, 2);
    if (length !== this.#size) fail(`message ${seq}: ${length} bytes, ${this.#size} sent`, 2);
    let got: number;
    if (this.#binary) {
      got = readU32(head, 0);
    } else {
      got = 0;
      for (let i = 0; i < 8; i++) got = (got << 4) | HEX.indexOf(String.fromCharCode(head[i]));
      got >>>= 0;
    }
    if (got !== seq >>> 0) fail(`message ${seq}: sequence ${got}`, 2);
  }

  // The raw client's frames: one fixed mask key, payload masked once; each send only rewrites
  // the masked sequence numbers.
  static readonly KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

  #maskedFrame(payload: Uint8Array): Uint8Array {
    const n = payload.length;
    const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const frame = new Uint8Array(header + 4 + n);
    frame[0] = 0x80 | (this.#binary ? 2 : 1);
    if (n < 126) {
      frame[1] = 0x80 | n;
    } else if (n < 65536) {
      frame[1] = 0x80 | 126;
      frame[2] = n >>> 8;
      frame[3] = n & 0xff;
    } else {
      frame[1] = 0x80 | 127;
      for (let i = 0; i < 8; i++) frame[2 + i] = Math.floor(n / 2 ** (8 * (7 - i))) & 0xff;
    }
    frame.set(Messages.KEY, header);
    this.#payloadAt = header + 4;
    for (let i = 0; i < n; i++) frame[header + 4 + i] = payload[i] ^ Messages.KEY[i & 3];
    return frame;
  }

  #stampFrame(frame: Uint8Array, seq: number): Uint8Array {
    const at = this.#payloadAt;
    const size = this.#size;
    const key = Messages.KEY;
    const put = (offset: number, byte: number) => {
      frame[at + offset] = byte ^ key[offset & 3];
    };
    if (this.#binary) {
      for (let i = 0; i < 4; i++) {
        put(i, (seq >>> (8 * i)) & 0xff);
        put(size - 4 + i, (seq >>> (8 * i)) & 0xff);
      }
    } else {
      const h = hex8(seq);
      for (let i = 0; i < 8; i++) {
        put(i, h.charCodeAt(i));
        put(size - 8 + i, h.charCodeAt(i));
      }
    }
    return frame;
  }
}

// -------------------------------------------------------------------------------------------------
// Implementations: each opens one connection and reports echoes to a Sink.

/** Where an implementation reports what it receives. */
interface Sink {
  message(data: string | Uint8Array): void;
  raw(opcode: number, length: number, head: Uint8Array): void;
  closed(reason: string): void;
}

/** One open connection. */
interface Peer {
  /** Sends one message (or, for `raw`, one ready frame) without waiting. */
  send(data: string | Uint8Array): void;
  /** Closes the connection (the closing handshake where the implementation has one). */
  close(): Promise<void>;
  /** The negotiated extensions. */
  readonly extensions: string;
  /** Label for the report, e.g. "ws 8.23.0". */
  readonly label: string;
}

type Opener = (url: string, sink: Sink, compress: boolean) => Promise<Peer>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, sleep(ms).then(() => undefined)]);
}

/** How `rom` is loaded and driven (set from the arguments in `main`). */
const romMode = { module: "", iterate: false };

/** `--send-plain`: compression negotiated, but messages of any size sent uncompressed. */
const plainSends = { on: false };

const openRom: Opener = async (url, sink, compress) => {
  // The bundled source by default; `--rom-module` imports a file at run time instead (the
  // TypeScript source as JSR users get it, on Deno and Bun).
  const mod: typeof import("../../mod.ts") = romMode.module
    ? await import(romMode.module)
    : await import("../../mod.ts");
  const ws = await mod.connect(url, {
    compression: compress && plainSends.on ? { threshold: Infinity } : compress,
    pingInterval: 0,
  });
  ws.addEventListener("close", (e) => sink.closed(`close ${e.code}`));
  if (romMode.iterate) {
    // Application code of the plainest kind: `for await` over the messages, `await send()`.
    (async () => {
      for await (const message of ws) sink.message(message);
    })().catch((error: Error) => fail(`iteration: ${error.message}`));
    return {
      send(data) {
        (async () => {
          await ws.send(data);
        })().catch((error: Error) => fail(`send: ${error.message}`));
      },
      async close() {
        await withTimeout(ws.close(), 3000);
      },
      extensions: ws.extensions,
      label: `rom-websocket ${mod.VERSION} (for await, await send)`,
    };
  }
  ws.addEventListener("message", (e) => sink.message(e.data));
  return {
    send(data) {
      ws.send(data).catch((error: Error) => fail(`send: ${error.message}`));
    },
    async close() {
      await withTimeout(ws.close(), 3000);
    },
    extensions: ws.extensions,
    label: `rom-websocket ${mod.VERSION}${romMode.module ? " (TypeScript source)" : ""}`,
  };
};

interface WsModule {
  // deno-lint-ignore no-explicit-any
  default: any;
}

async function loadWs(impl: Impl): Promise<{ module: WsModule; label: string }> {
  if (g.Bun && impl === "ws") {
    // Bun maps the bare specifier "ws" to its own wrapper over the native client; the real
    // package is loaded by path.
    const path = new URL("../../node_modules/ws/index.js", import.meta.url).href;
    const pkg = new URL("../../node_modules/ws/package.json", import.meta.url);
    const version = JSON.parse(readFileSync(pkg, "utf8")).version;
    return { module: await import(path), label: `ws ${version} (npm package)` };
  }
  const module = await import("ws") as WsModule;
  const label = g.Bun ? "ws shim (Bun built-in)" : "ws (npm package, no bufferutil)";
  return { module, label };
}

function openWs(impl: Impl): Opener {
  return async (url, sink, compress) => {
    const { module, label } = await loadWs(impl);
    const WebSocketClass = module.default.WebSocket ?? module.default;
    const ws = new WebSocketClass(url, {
      perMessageDeflate: compress && plainSends.on ? { threshold: Infinity } : compress,
      maxPayload: 64 * 1024 * 1024,
    });
    // Before the open: ws emits the messages that came with the handshake response at once (a
    // feed's first events), and a listener added after `await` would miss them.
    ws.on("message", (data: Uint8Array, isBinary: boolean) => {
      sink.message(isBinary ? data : data.toString());
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.on("close", (code: number) => sink.closed(`close ${code}`));
    ws.on("error", (error: Error) => fail(`ws error: ${error.message}`));
    return {
      send(data) {
        ws.send(data);
      },
      async close() {
        const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
        ws.close(1000);
        await withTimeout(closed, 3000);
      },
      extensions: String(ws.extensions ?? ""),
      label,
    };
  };
}

const openNative: Opener = async (url, sink, compress) => {
  const Native = g.WebSocket;
  if (!Native) throw new Error("this runtime has no global WebSocket");
  // Bun's client takes an options object; with `perMessageDeflate` it offers compression.
  const ws = g.Bun
    ? new (Native as unknown as new (u: string, o: unknown) => WebSocket)(url, {
      perMessageDeflate: compress,
    })
    : new Native(url);
  // Bun's "nodebuffer" hands out Buffers (Uint8Array); elsewhere ArrayBuffer is the cheapest.
  (ws as { binaryType: string }).binaryType = g.Bun ? "nodebuffer" : "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket error before open"));
  });
  // An error while closing (a feed still streaming in) is not a failure of the run.
  let closing = false;
  ws.onerror = () => {
    if (!closing) fail("WebSocket error");
  };
  ws.onmessage = (e: MessageEvent) => {
    const data = e.data;
    sink.message(
      typeof data === "string" || data instanceof Uint8Array ? data : new Uint8Array(data),
    );
  };
  const closed = new Promise<void>((resolve) => {
    ws.onclose = (e) => {
      sink.closed(`close ${e.code}`);
      resolve();
    };
  });
  const label = g.Deno
    ? "Deno WebSocket"
    : g.Bun
    ? "Bun WebSocket"
    : `undici ${process.versions.undici ?? "?"} WebSocket`;
  return {
    send(data) {
      ws.send(data as string | Uint8Array<ArrayBuffer>);
    },
    async close() {
      closing = true;
      ws.close(1000);
      await withTimeout(closed, 3000);
    },
    extensions: ws.extensions,
    label,
  };
};

// --- raw TCP ------------------------------------------------------------------------------------

/** Minimal reader of unmasked server frames: length, opcode and the first 8 payload bytes. */
class RawFrameReader {
  readonly #sink: Sink;
  readonly #header = new Uint8Array(14);
  #headerLength = 0;
  #opcode = 0;
  #length = 0;
  #remaining = -1; // -1: reading a header
  readonly #head = new Uint8Array(8);
  #headLength = 0;

  constructor(sink: Sink) {
    this.#sink = sink;
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.#remaining < 0) {
        // Collect the header (2, 4 or 10 bytes; servers do not mask).
        const h = this.#header;
        h[this.#headerLength++] = chunk[pos++];
        if (this.#headerLength < 2) continue;
        const l7 = h[1] & 0x7f;
        const need = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
        if (this.#headerLength < need) continue;
        this.#opcode = h[0] & 0x0f;
        this.#length = l7 < 126
          ? l7
          : l7 === 126
          ? (h[2] << 8) | h[3]
          : (h[6] * 2 ** 24) + ((h[7] << 16) | (h[8] << 8) | h[9]);
        this.#headerLength = 0;
        this.#headLength = 0;
        this.#remaining = this.#length;
        if (this.#remaining === 0) this.#end();
        continue;
      }
      const take = Math.min(this.#remaining, n - pos);
      // Keep the first 8 payload bytes (the sequence number).
      for (let i = 0; i < take && this.#headLength < 8; i++) {
        this.#head[this.#headLength++] = chunk[pos + i];
      }
      pos += take;
      this.#remaining -= take;
      if (this.#remaining === 0) this.#end();
    }
  }

  #end(): void {
    this.#remaining = -1;
    if (this.#opcode === 8) this.#sink.closed("close frame");
    else this.#sink.raw(this.#opcode, this.#length, this.#head);
  }
}

function upgradeRequest(url: URL): Uint8Array {
  return new TextEncoder().encode(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
}

/** Finds the end of the 101 response head; returns the bytes after it, or undefined. */
class HeadReader {
  #bytes = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array | undefined {
    const all = new Uint8Array(this.#bytes.length + chunk.length);
    all.set(this.#bytes);
    all.set(chunk, this.#bytes.length);
    this.#bytes = all;
    for (let i = 3; i < all.length; i++) {
      if (all[i] === 10 && all[i - 1] === 13 && all[i - 2] === 10 && all[i - 3] === 13) {
        const head = new TextDecoder().decode(all.subarray(0, i));
        if (!head.startsWith("HTTP/1.1 101")) throw new Error(`handshake refused: ${head}`);
        return all.subarray(i + 1);
      }
    }
    return undefined;
  }
}

function concatAll(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Batches the frames sent in one turn of the event loop into one write (small frames are
 * concatenated; frames above 64 KiB are written as they are).
 */
class WriteBatcher {
  #pending: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  readonly #write: (parts: Uint8Array[]) => void;

  constructor(write: (parts: Uint8Array[]) => void) {
    this.#write = write;
  }

  add(frame: Uint8Array): void {
    this.#pending.push(frame);
    this.#bytes += frame.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const parts = this.#pending;
    const bytes = this.#bytes;
    this.#pending = [];
    this.#bytes = 0;
    if (parts.length > 1 && bytes <= 256 * 1024) this.#write([concatAll(parts, bytes)]);
    else this.#write(parts);
  }
}

/**
 * The receiving side of a raw client: the HTTP response head first (then `onOpen`), frames after
 * it. Bad heads go to `onError`.
 */
function rawReceiver(
  sink: Sink,
  onOpen: () => void,
  onError: (error: Error) => void,
): (chunk: Uint8Array) => void {
  const reader = new RawFrameReader(sink);
  const head = new HeadReader();
  let open = false;
  return (chunk) => {
    if (open) {
      reader.push(chunk);
      return;
    }
    try {
      const rest = head.push(chunk);
      if (rest === undefined) return;
      open = true;
      onOpen();
      if (rest.length > 0) reader.push(rest);
    } catch (error) {
      onError(error as Error);
    }
  };
}

async function openRawNode(url: URL, sink: Sink): Promise<Peer> {
  const net = await import("node:net");
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  await new Promise<void>((resolve, reject) => {
    socket.on("data", rawReceiver(sink, resolve, reject));
    socket.on("error", (error: Error) => fail(`raw socket: ${error.message}`));
    socket.write(upgradeRequest(url));
  });
  const batcher = new WriteBatcher((parts) => {
    if (parts.length > 1) socket.cork();
    for (const p of parts) socket.write(p);
    if (parts.length > 1) socket.uncork();
  });
  return {
    send: (frame) => batcher.add(frame as Uint8Array),
    close() {
      socket.destroy();
      return Promise.resolve();
    },
    extensions: "",
    label: "raw TCP (node:net)",
  };
}

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(on: boolean): void;
}

async function openRawDeno(url: URL, sink: Sink): Promise<Peer> {
  const deno = (globalThis as unknown as {
    Deno: { connect(o: { hostname: string; port: number }): Promise<DenoConn> };
  }).Deno;
  const conn = await deno.connect({ hostname: url.hostname, port: Number(url.port) });
  conn.setNoDelay(true);
  let queue: Uint8Array[] = [];
  let writing = false;
  let closed = false;
  const pump = async () => {
    writing = true;
    try {
      while (queue.length > 0) {
        const parts = queue;
        queue = [];
        for (const p of parts) {
          for (let at = 0; at < p.length;) at += await conn.write(p.subarray(at));
        }
      }
    } catch (error) {
      if (!closed) fail(`raw write: ${(error as Error).message}`);
    }
    writing = false;
  };
  const write = (parts: Uint8Array[]) => {
    queue.push(...parts);
    if (!writing) pump();
  };
  write([upgradeRequest(url)]);
  const buffer = new Uint8Array(256 * 1024);
  const head = new HeadReader();
  let rest: Uint8Array | undefined;
  while (rest === undefined) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("raw: connection closed during the handshake");
    rest = head.push(buffer.subarray(0, n));
  }
  const reader = new RawFrameReader(sink);
  if (rest.length > 0) reader.push(rest);
  (async () => {
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        reader.push(buffer.subarray(0, n));
      }
    } catch (error) {
      if (!closed) fail(`raw read: ${(error as Error).message}`);
    }
  })();
  const batcher = new WriteBatcher(write);
  return {
    send: (frame) => batcher.add(frame as Uint8Array),
    close() {
      closed = true;
      conn.close();
      return Promise.resolve();
    },
    extensions: "",
    label: "raw TCP (Deno.connect)",
  };
}

interface BunRawSocket {
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(on: boolean): void;
}

async function openRawBun(url: URL, sink: Sink): Promise<Peer> {
  let receive!: (chunk: Uint8Array) => void;
  const opened = new Promise<void>((resolve, reject) => {
    receive = rawReceiver(sink, resolve, reject);
  });
  // Bytes that did not fit the kernel buffer wait here until `drain`.
  let queue: Uint8Array[] = [];
  const drain = (s: BunRawSocket) => {
    while (queue.length > 0) {
      const p = queue[0];
      const n = s.write(p);
      if (n < p.length) {
        queue[0] = p.subarray(Math.max(0, n));
        return;
      }
      queue.shift();
    }
  };
  const bun = (globalThis as unknown as {
    Bun: {
      connect(o: {
        hostname: string;
        port: number;
        socket: {
          data(s: BunRawSocket, d: Uint8Array): void;
          drain(s: BunRawSocket): void;
          close(): void;
          error(s: BunRawSocket, e: Error): void;
        };
      }): Promise<BunRawSocket>;
    };
  }).Bun;
  const socket = await bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      data: (_s, data) => receive(data),
      drain: (s) => drain(s),
      close: () => sink.closed("socket closed"),
      error: (_s, error) => fail(`raw socket: ${error.message}`),
    },
  });
  socket.setNoDelay?.(true);
  const write = (parts: Uint8Array[]) => {
    if (queue.length > 0) {
      queue.push(...parts);
      return;
    }
    queue = parts.slice();
    drain(socket);
  };
  write([upgradeRequest(url)]);
  await opened;
  const batcher = new WriteBatcher(write);
  return {
    send: (frame) => batcher.add(frame as Uint8Array),
    close() {
      socket.end();
      return Promise.resolve();
    },
    extensions: "",
    label: "raw TCP (Bun.connect)",
  };
}

const openRaw: Opener = (url, sink, compress) => {
  if (compress) throw new Error("the raw client does not compress");
  const u = new URL(url);
  if (g.Deno) return openRawDeno(u, sink);
  if (g.Bun) return openRawBun(u, sink);
  return openRawNode(u, sink);
};

function opener(impl: Impl): Opener {
  switch (impl) {
    case "rom":
      return openRom;
    case "ws":
    case "wsshim":
      return openWs(impl);
    case "native":
      return openNative;
    case "raw":
      return openRaw;
  }
}

// -------------------------------------------------------------------------------------------------
// Workloads.

interface Report {
  [key: string]: unknown;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Times the messages of the measured period: the rate is taken between the first and the last
 * message of the period, so that large messages (a few per second) are not rounded to whole
 * messages, reading the clock every `stride`-th message only (on Deno a clock read is an op).
 */
class RateClock {
  measuring = false;
  /** Messages in the measured period. */
  counted = 0;
  /** Messages between the first and the last clock read. */
  timed = 0;
  #firstAt = 0;
  #lastAt = 0;

  constructor(readonly stride: number) {}

  /** One message arrived: the time if the clock was read for it, else -1. */
  tick(): number {
    if (!this.measuring) return -1;
    let now = -1;
    if (this.counted % this.stride === 0) {
      now = performance.now();
      if (this.counted === 0) this.#firstAt = now;
      this.#lastAt = now;
      this.timed = this.counted;
    }
    this.counted++;
    return now;
  }

  /** Seconds between the first and the last clock read. */
  get span(): number {
    return (this.#lastAt - this.#firstAt) / 1000;
  }
}

/** Warm-up, then the measured period; returns the CPU used meanwhile, in cores. */
async function measureWindow(args: Args, clock: RateClock): Promise<number> {
  await sleep(args.warmup * 1000);
  const t0 = performance.now();
  const c0 = cpuSeconds();
  clock.measuring = true;
  await sleep(args.seconds * 1000);
  clock.measuring = false;
  return (cpuSeconds() - c0) / ((performance.now() - t0) / 1000);
}

/** The measurements every echo and feed sample reports. */
function rateReport(
  args: Args,
  clock: RateClock,
  cpu: number,
  what: { total: number; checked: number; start: number; peer: Peer },
): Report {
  if (clock.timed < 1) {
    fail(`${clock.counted} messages during the ${args.seconds} s measured: measure longer`);
  }
  const rate = clock.timed / clock.span;
  return {
    msgsPerSec: rate,
    mbPerSec: (rate * args.size) / 1e6,
    messages: clock.counted,
    seconds: clock.span,
    cpu,
    cpuUsPerMsg: (cpu / rate) * 1e6,
    total: what.total,
    checked: what.checked,
    elapsed: (performance.now() - what.start) / 1000,
    extensions: what.peer.extensions,
    label: what.peer.label,
  };
}

async function runEcho(args: Args): Promise<Report> {
  const raw = args.impl === "raw";
  const messages = new Messages(args, raw);
  const pingpong = args.workload === "pingpong";
  let sent = 0;
  let received = 0;
  let draining = false;
  let onDrained: () => void = () => {};
  const sentAt = new Float64Array(args.window + 1);
  const rtts: number[] = [];

  const sendNext = () => {
    if (pingpong) sentAt[sent % sentAt.length] = performance.now();
    peer.send(messages.make(sent++));
  };
  // Small pipelined echoes read the clock only every 16th time (a clock read would cost ~5% on
  // Deno); round trips and large messages every time.
  const clock = new RateClock(pingpong || args.size >= 65536 ? 1 : 16);
  const echoed = () => {
    const now = clock.tick();
    if (pingpong && now >= 0) rtts.push(now - sentAt[received % sentAt.length]);
    received++;
    if (draining) {
      if (received === sent) onDrained();
      return;
    }
    sendNext();
  };
  const sink: Sink = {
    message(data) {
      messages.check(data, received);
      echoed();
    },
    raw(opcode, length, head) {
      messages.checkRaw(opcode, length, head, received);
      echoed();
    },
    closed(reason) {
      if (!draining) fail(`connection closed during the run: ${reason}`);
    },
  };
  const peer = await opener(args.impl)(args.url, sink, args.compress);

  const start = performance.now();
  for (let i = 0; i < args.window; i++) sendNext();
  const cpu = await measureWindow(args, clock);
  draining = true;
  if (received < sent) {
    const drained = new Promise<void>((resolve) => (onDrained = resolve));
    if (await withTimeout(drained.then(() => true), 10_000) === undefined) {
      fail(`${sent - received} echoes missing after the run`);
    }
  }
  await peer.close();
  const report = rateReport(args, clock, cpu, {
    total: received,
    checked: messages.checked,
    start,
    peer,
  });
  if (pingpong) {
    const sorted = Float64Array.from(rtts).sort();
    report.p50Us = percentile(sorted, 0.5) * 1000;
    report.p99Us = percentile(sorted, 0.99) * 1000;
  }
  return report;
}

/**
 * The server pushes events (`/feed?size=N` on the echo server) and this client only receives:
 * a `message` listener (or `for await` with `--iterate`) that parses each event, as a feed
 * consumer does. The rate is timed as in `runEcho` ({@linkcode RateClock}), every 16th event.
 */
async function runFeed(args: Args): Promise<Report> {
  if (args.impl === "raw") throw new Error("the raw client has no feed workload");
  if (args.binary) throw new Error("--workload feed pushes text: use --text");
  const size = args.size;
  let received = 0;
  let done = false;
  let checked = 0;
  const clock = new RateClock(16);
  const expected = feedEvents(size);
  const checkEvery = Math.max(1, args.checkEvery);
  const sink: Sink = {
    message(data) {
      if (typeof data !== "string") fail(`event ${received}: binary, text expected`, 2);
      if (data.length !== size) {
        fail(`event ${received}: ${data.length} characters, not ${size}`, 2);
      }
      // What a feed consumer does with every event.
      const event = JSON.parse(data) as { seq: number };
      const seq = received % FEED_RING;
      if (event.seq !== seq) fail(`event ${received}: sequence ${event.seq}, not ${seq}`, 2);
      if (received % checkEvery === 0) {
        checked++;
        if (data !== expected[seq]) fail(`event ${received}: text differs`, 2);
      }
      received++;
      clock.tick();
    },
    raw() {
      fail("raw frames in the feed workload");
    },
    closed(reason) {
      if (!done) fail(`connection closed during the run: ${reason}`);
    },
  };
  const url = new URL(args.url);
  url.pathname = "/feed";
  url.search = `?size=${size}`;
  const start = performance.now();
  const peer = await opener(args.impl)(url.href, sink, args.compress);
  const cpu = await measureWindow(args, clock);
  done = true;
  await peer.close();
  return rateReport(args, clock, cpu, { total: received, checked, start, peer });
}

async function runIdle(args: Args): Promise<Report> {
  const open = opener(args.impl);
  const sink: Sink = { message() {}, raw() {}, closed() {} };
  // Load the implementation and warm it up, so that code and caches are in the baseline.
  for (let i = 0; i < 3; i++) await (await open(args.url, sink, false)).close();
  await sleep(200);
  forceGc();
  const before = process.memoryUsage();
  const peers: Peer[] = [];
  let label = "";
  // Handshakes per second, 50 at a time (connect to open, as an application awaits it).
  const openStarted = performance.now();
  for (let i = 0; i < args.conns; i += 50) {
    const batch = Math.min(50, args.conns - i);
    const opened = await Promise.all(
      Array.from({ length: batch }, () => open(args.url, sink, args.compress)),
    );
    label = opened[0].label;
    peers.push(...opened);
  }
  const openSeconds = (performance.now() - openStarted) / 1000;
  await sleep(500);
  forceGc();
  await sleep(100);
  forceGc();
  const after = process.memoryUsage();
  const n = peers.length;
  const report: Report = {
    conns: n,
    heapPerConn: (after.heapUsed - before.heapUsed) / n,
    rssPerConn: (after.rss - before.rss) / n,
    externalPerConn: (after.external - before.external) / n,
    connectsPerSec: n / openSeconds,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    label,
  };
  await Promise.all(peers.map((p) => withTimeout(p.close(), 2000)));
  return report;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  romMode.module = args.romModule;
  romMode.iterate = args.iterate;
  plainSends.on = args.sendPlain;
  const deadline = (args.warmup + args.seconds + 60) * 1000;
  setTimeout(() => fail(`timed out after ${deadline / 1000} s`), deadline);
  const report = args.workload === "idle"
    ? await runIdle(args)
    : args.workload === "feed"
    ? await runFeed(args)
    : await runEcho(args);
  console.log(JSON.stringify({
    ok: true,
    impl: args.impl,
    runtime: runtimeName(),
    workload: args.workload,
    size: args.size,
    binary: args.binary,
    window: args.window,
    compress: args.compress,
    ...report,
  }));
  process.exit(0);
}

main().catch((error) => fail(String(error?.stack ?? error)));
