/**
 * Micro-benchmarks (mitata) of the client's hot paths, with a throughput table per runtime:
 * masking, frame parsing, frame encoding, UTF-8 validation and inflate, each next to the obvious
 * alternative (a naive byte loop, `TextDecoder` with `fatal`, `node:zlib`).
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/bench/micro.ts          # this runtime
 * node_modules/.bin/bun scripts/bench/micro.ts
 * node_modules/.bin/deno run -A scripts/bench/micro.ts --all    # Node 20/22/24, Deno and Bun,
 *                                                               # also writes results/micro.md
 * ```
 *
 * Options: `--filter REGEX` (benchmark names), `--mitata` (also print mitata's own output).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as buffer from "node:buffer";
import process from "node:process";
import * as zlib from "node:zlib";
import { bench, do_not_optimize, group, run } from "mitata";
import { Opcode } from "../../src/core/constants.ts";
import { acceptFor } from "../../src/core/handshake.ts";
import { Inflater } from "../../src/core/inflate.ts";
import { applyMask } from "../../src/core/mask.ts";
import { ClientProtocol } from "../../src/core/protocol.ts";
import { decodeUtf8, Utf8Validator } from "../../src/core/utf8.ts";
import { jsonText, randomBytes } from "./data.ts";

/** Per benchmark: how much work one iteration does, to turn time into throughput. */
interface Unit {
  group: string;
  amount: number;
  unit: "GB/s" | "M frames/s" | "MB/s";
}

const units = new Map<string, Unit>();

function add(groupName: string, name: string, unit: Unit["unit"], amount: number, fn: () => void) {
  const full = `${groupName} | ${name}`;
  units.set(full, { group: groupName, amount, unit });
  bench(full, fn);
}

function sizeText(n: number): string {
  return n >= 1048576 ? `${n / 1048576} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

/** Text of exactly `length` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
function multibyteBytes(length: number): Uint8Array {
  const unit = new TextEncoder().encode("Привет, мир! こんにちは 🌍 héllo ");
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += unit.length) out.set(unit.subarray(0, length - i), i);
  // Cut at a character boundary: drop a trailing partial sequence by padding with ASCII.
  let end = length;
  while (end > 0 && (out[end - 1] & 0xc0) === 0x80) end--;
  if (end > 0 && out[end - 1] >= 0xc0) end--;
  out.fill(0x20, end);
  return out;
}

// -------------------------------------------------------------------------------------------------
// Masking.

function naiveMask(data: Uint8Array, key: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) data[i] ^= key[(i - start) & 3];
}

{
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  group("mask", () => {
    for (const size of [125, 1024, 65536, 1048576]) {
      // The payload sits where encodeFrame puts it: after a 2/4/10-byte header and the key.
      const at = (size < 126 ? 2 : size < 65536 ? 4 : 10) + 4;
      const frame = randomBytes(at + size);
      add("mask", `applyMask ${sizeText(size)}`, "GB/s", size, () => {
        applyMask(frame, key, 0, at, at + size);
      });
      add("mask", `naive byte loop ${sizeText(size)}`, "GB/s", size, () => {
        naiveMask(frame, key, at, at + size);
      });
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Frame parsing and encoding through ClientProtocol.

function serverFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65536) {
    frame[1] = 126;
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 127;
    new DataView(frame.buffer).setUint32(6, n);
  }
  frame.set(payload, header);
  return frame;
}

/** A ClientProtocol in the OPEN state (its handshake answered by hand). */
function openProtocol(): ClientProtocol {
  const protocol = new ClientProtocol({ host: "127.0.0.1", path: "/" });
  protocol.sendRequest();
  protocol.takeWrites();
  const response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
    `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(protocol.key)}\r\n\r\n`;
  protocol.receiveData(new TextEncoder().encode(response));
  if (protocol.takeEvents()[0]?.type !== "open") throw new Error("handshake failed");
  return protocol;
}

function manyFrames(count: number, opcode: number, payload: Uint8Array): Uint8Array {
  const one = serverFrame(opcode, payload);
  const all = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) all.set(one, i * one.length);
  return all;
}

{
  const FRAMES = 1000;
  const protocol = openProtocol();
  group("parse", () => {
    const cases: Array<[string, number, Uint8Array]> = [
      ["binary 16 B", Opcode.BINARY, randomBytes(16)],
      ["text 16 B", Opcode.TEXT, new TextEncoder().encode(jsonText(16))],
      ["binary 1 KiB", Opcode.BINARY, randomBytes(1024)],
      ["text 1 KiB", Opcode.TEXT, new TextEncoder().encode(jsonText(1024))],
    ];
    for (const [name, opcode, payload] of cases) {
      const chunk = manyFrames(FRAMES, opcode, payload);
      add("parse", `receiveData ${FRAMES} × ${name}`, "M frames/s", FRAMES, () => {
        protocol.receiveData(chunk);
        do_not_optimize(protocol.takeEvents());
      });
    }
  });
  const sender = openProtocol();
  group("encode", () => {
    for (const size of [16, 1024, 65536]) {
      const payload = randomBytes(size);
      add("encode", `sendBinary ${sizeText(size)}`, "M frames/s", 1, () => {
        sender.sendBinary(payload);
        do_not_optimize(sender.takeWrites());
      });
    }
    const text = jsonText(1024);
    add("encode", "sendText 1 KiB string", "M frames/s", 1, () => {
      sender.sendText(text);
      do_not_optimize(sender.takeWrites());
    });
  });
}

// -------------------------------------------------------------------------------------------------
// UTF-8 validation.

{
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const isUtf8 = (buffer as { isUtf8?: (b: Uint8Array) => boolean }).isUtf8;
  const validator = new Utf8Validator();
  group("utf8", () => {
    for (const size of [1024, 65536, 1048576]) {
      const inputs: Array<[string, Uint8Array]> = [
        ["ASCII", new TextEncoder().encode(jsonText(size))],
        ["multibyte", multibyteBytes(size)],
      ];
      for (const [kind, bytes] of inputs) {
        const label = `${kind} ${sizeText(size)}`;
        add("utf8", `Utf8Validator.push ${label}`, "GB/s", size, () => {
          validator.reset();
          if (!validator.push(bytes) || !validator.complete) throw new Error("invalid");
        });
        add("utf8", `decodeUtf8 (ours) ${label}`, "GB/s", size, () => {
          const text = decodeUtf8(bytes);
          if (text === undefined) throw new Error("invalid");
          do_not_optimize(text);
        });
        add("utf8", `TextDecoder fatal decode ${label}`, "GB/s", size, () => {
          do_not_optimize(fatal.decode(bytes));
        });
        if (isUtf8) {
          add("utf8", `node:buffer isUtf8 ${label}`, "GB/s", size, () => {
            if (!isUtf8(bytes)) throw new Error("invalid");
          });
        }
      }
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Inflate.

{
  const TAIL = [0x00, 0x00, 0xff, 0xff];
  group("inflate", () => {
    for (const size of [1024, 65536, 1048576]) {
      const inputs: Array<[string, Uint8Array]> = [
        ["JSON", new TextEncoder().encode(jsonText(size))],
        ["random", randomBytes(size)],
      ];
      for (const [kind, plain] of inputs) {
        // A permessage-deflate message: raw deflate ending with a sync flush (00 00 ff ff).
        const compressed = new Uint8Array(
          zlib.deflateRawSync(plain, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
        );
        if (!TAIL.every((b, i) => compressed[compressed.length - 4 + i] === b)) {
          throw new Error("deflateRawSync did not end with a sync flush");
        }
        const inflater = new Inflater(15, false);
        const check = inflater.inflate(compressed, size * 2);
        if (!Buffer.from(check).equals(plain)) throw new Error("Inflater output differs");
        const label = `${kind} ${sizeText(size)}`;
        add("inflate", `Inflater.inflate ${label}`, "MB/s", size, () => {
          do_not_optimize(inflater.inflate(compressed, size * 2));
        });
        add("inflate", `zlib.inflateRawSync ${label}`, "MB/s", size, () => {
          do_not_optimize(
            zlib.inflateRawSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
          );
        });
      }
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Running and reporting.

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  return `Node ${process.versions.node}`;
}

function formatTime(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

function formatThroughput(amount: number, ns: number, unit: Unit["unit"]): string {
  const perSecond = amount / (ns / 1e9);
  const value = unit === "GB/s" ? perSecond / 1e9 : perSecond / 1e6;
  return `${
    value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)
  } ${unit}`;
}

async function runHere(argv: string[]): Promise<void> {
  const i = argv.indexOf("--filter");
  const filter = i >= 0 ? new RegExp(argv[i + 1]) : undefined;
  const { benchmarks } = await run({
    format: argv.includes("--mitata") ? "mitata" : "quiet",
    filter,
    colors: false,
  });
  const lines = [
    `### ${runtimeName()}`,
    "",
    "| group | benchmark | time / iteration (avg) | throughput |",
    "| --- | --- | ---: | ---: |",
  ];
  for (const trial of benchmarks) {
    for (const r of trial.runs) {
      const u = units.get(r.name);
      if (!u || !r.stats) continue;
      const [, name] = r.name.split(" | ");
      lines.push(
        `| ${u.group} | ${name} | ${formatTime(r.stats.avg)} | ${
          formatThroughput(u.amount, r.stats.avg, u.unit)
        } |`,
      );
    }
  }
  console.log(lines.join("\n") + "\n");
}

/** Deno only: runs this file on every runtime and writes `results/micro.md`. */
async function runAll(argv: string[]): Promise<void> {
  const deno = (globalThis as unknown as { Deno: typeof Deno }).Deno;
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname);
  const self = decodeURIComponent(new URL(import.meta.url).pathname);
  const tmp = await deno.makeTempDir({ prefix: "rom-micro-" });
  const bundle = `${tmp}/micro.mjs`;
  const build = await new deno.Command(`${root}node_modules/.bin/esbuild`, {
    args: [
      self,
      "--bundle",
      "--platform=node",
      "--format=esm",
      `--outfile=${bundle}`,
      "--external:bun:jsc",
      "--log-level=warning",
    ],
    stderr: "inherit",
  }).output();
  if (!build.success) throw new Error("esbuild failed");
  const rest = argv.filter((a) => a !== "--all");
  const commands: string[][] = [
    ["node", bundle],
    [`${root}node_modules/node22/bin/node`, bundle],
    [`${root}node_modules/node24/bin/node`, bundle],
    [`${root}node_modules/.bin/deno`, "run", "-A", self],
    [`${root}node_modules/.bin/bun`, self],
  ];
  const tables: string[] = [];
  for (const cmd of commands) {
    const out = await new deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...rest],
      cwd: root,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    console.log(text);
    tables.push(text.trim());
  }
  await deno.remove(tmp, { recursive: true });
  const header =
    "# Micro-benchmarks (mitata)\n\nGenerated by `deno run -A scripts/bench/micro.ts " +
    `--all\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Averages per ` +
    "iteration; throughput is payload bytes (inflate: decompressed bytes) or frames per " +
    "second. The machine is shared and noisy: compare rows within one table.\n\n";
  const path = `${root}scripts/bench/results/micro.md`;
  await deno.mkdir(`${root}scripts/bench/results`, { recursive: true });
  await deno.writeTextFile(path, header + tables.join("\n\n") + "\n");
  await new deno.Command(deno.execPath(), {
    args: ["fmt", "--quiet", `--config=${root}deno.json`, path],
  }).output();
  console.error(`wrote ${path}`);
}

const argv = process.argv.slice(2);
if (argv.includes("--all")) await runAll(argv);
else await runHere(argv);
