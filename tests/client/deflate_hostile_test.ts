/**
 * permessage-deflate (RFC 7692) against crafted and real peers: a compression bomb that would
 * inflate to 4 GiB, compressed fragmented messages with control frames in between, every `ws`
 * server parameter (context takeover on and off, window bits 9 to 15), and a server that does not
 * negotiate the extension (Deno.serve), where plain frames still work.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { connect, type DeflateOptions, ProtocolError } from "../../mod.ts";
import { guarded, waitFor, withTimeout } from "../_util/async.ts";
import { frame, Op, startHostileServer } from "../_util/hostile.ts";
import { runtimeName, startEchoServer } from "../_util/servers.ts";
import { LONG, LONG_DEADLINE, nextMessage, open, record, STEP } from "../_util/client.ts";

/** The extension line a server sends to accept our default offer. */
const ACCEPT_DEFLATE: ReadonlyArray<readonly [string, string]> = [
  ["Sec-WebSocket-Extensions", "permessage-deflate"],
];

/**
 * A raw DEFLATE stream of one dynamic block that inflates to `1 + 258 * matches` bytes of "a":
 * the literal "a", then `matches` copies of (length 258, distance 1). The codes are chosen so that
 * each copy is two zero bits (length code 285 is "0", distance code 0 is "0"): the block body is
 * mostly zero bytes, about 1,000 times smaller than its output, which is what real bombs do.
 * Ends with the empty stored block of a sync flush, minus the 00 00 ff ff tail (RFC 7692 §7.2.1).
 */
function bomb(matches: number): Uint8Array {
  const out = new Uint8Array(64 + Math.ceil((matches * 2) / 8));
  let bit = 0;
  const put = (value: number, count: number) => {
    for (let i = 0; i < count; i++, bit++) if ((value >> i) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  // Huffman codes are written most significant bit first.
  const huffman = (code: number, length: number) => {
    for (let i = length - 1; i >= 0; i--, bit++) {
      if ((code >> i) & 1) out[bit >> 3] |= 1 << (bit & 7);
    }
  };
  put(0, 1); // BFINAL = 0
  put(2, 2); // dynamic Huffman
  put(286 - 257, 5); // HLIT: 286 literal/length codes, 0..285
  put(0, 5); // HDIST: one distance code
  put(18 - 4, 4); // HCLEN: code length codes up to index 17 of the order
  // Code-length code: symbols 0, 1, 2 (lengths), 18 (runs of zeros) with 2 bits each.
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
  const clen: Record<number, number> = { 0: 2, 1: 2, 2: 2, 18: 2 };
  for (const s of order) put(clen[s] ?? 0, 3);
  // Canonical 2-bit codes in symbol order: 0 -> 00, 1 -> 01, 2 -> 10, 18 -> 11.
  const code: Record<number, number> = { 0: 0, 1: 1, 2: 2, 18: 3 };
  const lengths = new Array(286 + 1).fill(0);
  lengths[97] = 2; // "a"
  lengths[256] = 2; // end of block
  lengths[285] = 1; // length 258
  lengths[286] = 1; // the single distance code (distance 1)
  for (let i = 0; i < lengths.length;) {
    if (lengths[i] === 0) {
      let run = 0;
      while (i + run < lengths.length && lengths[i + run] === 0 && run < 138) run++;
      if (run >= 11) {
        huffman(code[18], 2);
        put(run - 11, 7);
        i += run;
        continue;
      }
      huffman(code[0], 2);
      i++;
      continue;
    }
    huffman(code[lengths[i]], 2);
    i++;
  }
  // Literal/length code: 285 -> "0", 97 -> "10", 256 -> "11"; distance code 0 -> "0".
  huffman(0b10, 2); // "a"
  bit += matches * 2; // (285, distance 0) pairs: zero bits, already zero in `out`
  huffman(0b11, 2); // end of block
  put(0, 3); // sync flush: empty stored block header, then pad to the byte
  const bytes = Math.ceil(bit / 8);
  return out.subarray(0, bytes);
}

describe("permessage-deflate against crafted peers", () => {
  it(
    "a 4 MiB message that would inflate to 4 GiB fails with 1009 at the limit, memory bounded",
    LONG,
    guarded(async (scope) => {
      // The bomb is a genuine DEFLATE stream: zlib inflates a small one to exactly its size.
      const small = bomb(1000);
      const inflated = inflateRawSync(
        new Uint8Array([...small, 0x00, 0x00, 0xff, 0xff]),
        { finishFlush: 2 },
      );
      assert.equal(inflated.length, 1 + 258 * 1000);
      assert.ok(inflated.every((b: number) => b === 0x61));
      const payload = bomb(Math.ceil((4 * 1024 ** 3) / 258));
      assert.ok(payload.length < 5 * 1024 * 1024, `the bomb is ${payload.length} bytes`);
      const server = scope.use(
        await startHostileServer({
          extraHeaders: ACCEPT_DEFLATE,
          afterHandshake: frame(Op.BINARY, payload, { rsv: 4 }),
          onClientClose: "reply-and-end",
        }),
      );
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      scope.defer(() => clearInterval(sampler));
      const client = await open(scope, server.url("/"), { maxMessageSize: 64 * 1024 * 1024 });
      const events = record(client);
      const info = await withTimeout(client.closed, LONG_DEADLINE - 2000, "close after the bomb");
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.ok(info.error instanceof ProtocolError, String(info.error));
      assert.equal(info.error.code, "MESSAGE_TOO_BIG");
      assert.equal(info.sent?.code, 1009);
      const connection = await server.connection(0);
      const close = connection.frames.find((f) => f.opcode === Op.CLOSE);
      assert.equal(close?.closeCode, 1009, "the client sent 1009");
      assert.equal(events.messages.length, 0, "nothing was delivered");
      // Unbounded, the message would need 4 GiB; at the limit it needs 64 MiB (plus the 4 MiB
      // frame and the runtime's own growth).
      const grown = (peak - before) / 1024 / 1024;
      assert.ok(grown < 512, `memory grew by ${grown.toFixed(0)} MiB`);
    }, LONG_DEADLINE),
  );

  it(
    "a compressed message in fragments with pings between them: delivered, pings answered",
    guarded(async (scope) => {
      const text = "Привет мир! ".repeat(400);
      const raw = deflateRawSync(new TextEncoder().encode(text), { finishFlush: 2 });
      const compressed = raw.subarray(0, raw.length - 4); // RFC 7692 §7.2.1: drop 00 00 ff ff
      const third = Math.ceil(compressed.length / 3);
      const server = scope.use(
        await startHostileServer({
          extraHeaders: ACCEPT_DEFLATE,
          afterHandshake: [
            // RSV1 on the first fragment only (§6.1), control frames never compressed.
            frame(Op.TEXT, compressed.subarray(0, third), { rsv: 4, fin: false }),
            frame(Op.PING, "p1"),
            frame(Op.CONTINUATION, compressed.subarray(third, 2 * third), { fin: false }),
            frame(Op.PONG, "unsolicited"),
            frame(Op.PING, "p2"),
            frame(Op.CONTINUATION, compressed.subarray(2 * third)),
          ],
          onClientClose: "reply-and-end",
        }),
      );
      const client = await open(scope, server.url("/"));
      assert.match(client.extensions, /permessage-deflate/);
      const messages = client[Symbol.asyncIterator]();
      assert.equal(await nextMessage(messages, "the reassembled message"), text);
      const connection = await server.connection(0);
      await waitFor(
        () => connection.frames.filter((f) => f.opcode === Op.PONG).length === 2,
        STEP,
        "two pongs",
      );
      const pongs = connection.frames.filter((f) => f.opcode === Op.PONG);
      assert.deepEqual(pongs.map((f) => new TextDecoder().decode(f.payload)), ["p1", "p2"]);
      assert.ok(pongs.every((f) => f.rsv === 0), "control frames are never compressed");
      assert.equal((await withTimeout(client.close(), STEP, "close")).wasClean, true);
    }),
  );

  it(
    "threshold: Infinity inflates what the server compressed and sends every message plain",
    guarded(async (scope) => {
      const incoming = "incoming ".repeat(500);
      const raw = deflateRawSync(new TextEncoder().encode(incoming), { finishFlush: 2 });
      const server = scope.use(
        await startHostileServer({
          extraHeaders: ACCEPT_DEFLATE,
          afterHandshake: frame(Op.TEXT, raw.subarray(0, raw.length - 4), { rsv: 4 }),
          onClientClose: "reply-and-end",
        }),
      );
      const outgoing = "outgoing ".repeat(8000); // 72 KB: far over the default threshold
      const sent: Record<string, { rsv: number; text: string }> = {};
      const runs: Array<[string, DeflateOptions]> = [
        ["plain", { threshold: Infinity }],
        ["default", {}],
      ];
      for (const [name, compression] of runs) {
        const client = await open(scope, server.url("/"), { compression });
        assert.match(client.extensions, /permessage-deflate/, name);
        assert.equal(await nextMessage(client[Symbol.asyncIterator](), name), incoming, name);
        await withTimeout(client.send(outgoing), STEP, `${name} send`);
        const connection = await server.connection(name === "plain" ? 0 : 1);
        // The message's frames: the text frame and its continuations, up to the final one.
        const message = () => {
          const start = connection.frames.findIndex((f) => f.opcode === Op.TEXT);
          const end = connection.frames.findIndex((f, i) => i >= start && f.fin);
          return start < 0 || end < 0 ? undefined : connection.frames.slice(start, end + 1);
        };
        await waitFor(() => message() !== undefined, STEP, `${name}: the text message`);
        const frames = message()!.filter((f) => f.opcode === Op.TEXT || f.opcode === 0);
        const length = frames.reduce((n, f) => n + f.payload.length, 0);
        const payload = new Uint8Array(length + 4);
        let at = 0;
        for (const f of frames) {
          payload.set(f.payload, at);
          at += f.payload.length;
        }
        payload.set([0, 0, 0xff, 0xff], length); // RFC 7692 §7.2.2
        sent[name] = {
          rsv: frames[0].rsv,
          text: new TextDecoder().decode(
            frames[0].rsv === 0
              ? payload.subarray(0, length)
              : inflateRawSync(payload, { finishFlush: 2 }),
          ),
        };
        assert.equal((await withTimeout(client.close(), STEP, `${name} close`)).wasClean, true);
      }
      assert.deepEqual(sent.plain, { rsv: 0, text: outgoing }, "RSV1 clear, the payload as is");
      assert.deepEqual(sent.default, { rsv: 4, text: outgoing }, "RSV1 set, deflated");
    }),
  );

  it(
    "RSV1 on a continuation frame fails with 1002",
    guarded(async (scope) => {
      const raw = deflateRawSync(new TextEncoder().encode("x".repeat(100)), { finishFlush: 2 });
      const compressed = raw.subarray(0, raw.length - 4);
      const server = scope.use(
        await startHostileServer({
          extraHeaders: ACCEPT_DEFLATE,
          afterHandshake: [
            frame(Op.TEXT, compressed.subarray(0, 2), { rsv: 4, fin: false }),
            frame(Op.CONTINUATION, compressed.subarray(2), { rsv: 4 }),
          ],
          onClientClose: "reply-and-end",
        }),
      );
      const client = await open(scope, server.url("/"));
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.ok(info.error instanceof ProtocolError);
      assert.equal(info.error.code, "RESERVED_BITS");
      assert.equal(info.sent?.code, 1002);
    }),
  );
});

describe("permessage-deflate against ws with each server setting", () => {
  const settings: Array<[string, Record<string, unknown>]> = [
    ["context takeover both ways", {}],
    ["serverNoContextTakeover", { serverNoContextTakeover: true }],
    ["clientNoContextTakeover", { clientNoContextTakeover: true }],
    ["both no context takeover", { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ];
  for (const bits of [9, 10, 11, 12, 13, 14, 15]) {
    settings.push([`window bits ${bits}`, {
      serverMaxWindowBits: bits,
      clientMaxWindowBits: bits,
    }]);
  }
  for (const [label, perMessageDeflate] of settings) {
    it(
      `${label}: negotiated as the server says, messages round-trip exactly`,
      guarded(async (scope) => {
        const server = scope.use(
          await startEchoServer("ws", { compression: true, deflateOptions: perMessageDeflate }),
        );
        const client = await open(scope, server.url("/echo"), { compression: { threshold: 0 } });
        const header = client.extensions;
        assert.match(header, /^permessage-deflate/);
        for (const [key, value] of Object.entries(perMessageDeflate)) {
          const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          assert.ok(
            header.includes(value === true ? name : `${name}=${value}`),
            `${header} lacks ${name}`,
          );
        }
        const messages = client[Symbol.asyncIterator]();
        const samples = [
          "",
          "short",
          'repetitive JSON {"type":"StasisStart"} '.repeat(300),
          "Привет мир! ".repeat(2000),
        ];
        for (const sample of samples) client.send(sample).catch(() => {});
        for (const sample of samples) assert.equal(await nextMessage(messages, label), sample);
        const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 251);
        await client.send(bytes);
        assert.deepEqual(await nextMessage(messages, "binary"), bytes);
        assert.equal((await withTimeout(client.close(), STEP, "close")).wasClean, true);
      }),
    );
  }
});

describe("a server without permessage-deflate", () => {
  // Deno.serve has no permessage-deflate at all; elsewhere a ws server with it turned off.
  const kind = runtimeName() === "deno" ? "deno" : "ws";
  it(
    `${kind === "deno" ? "Deno.serve" : "ws without compression"} negotiates no extension: ` +
      "plain frames work with compression on",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer(kind));
      const client = await connect(server.url("/echo"), { compression: true });
      scope.defer(() => client.terminate());
      assert.equal(client.extensions, "");
      const messages = client[Symbol.asyncIterator]();
      await client.send("x".repeat(5000));
      assert.equal(await nextMessage(messages, "echo"), "x".repeat(5000));
      await client.send(new Uint8Array(3000).fill(7));
      assert.deepEqual(await nextMessage(messages, "binary echo"), new Uint8Array(3000).fill(7));
      assert.equal((await withTimeout(client.close(), STEP, "close")).wasClean, true);
    }),
  );
});
