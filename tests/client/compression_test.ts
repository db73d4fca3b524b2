/**
 * permessage-deflate (RFC 7692) end to end against the echo servers that support it (`ws`, and
 * `Bun.serve` on Bun; `Deno.serve` has no compression): negotiation, exact round trips of
 * compressible and incompressible data up to 16 MiB, ordering across many messages (context
 * takeover), tuned parameters, `compression: false`, and a decompression bomb refused with 1009.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { type ServerKind, serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  assertBytes,
  largeText,
  LONG,
  LONG_DEADLINE,
  nextMessage,
  open,
  pattern,
  record,
  STEP,
  textOfBytes,
} from "../_util/client.ts";

const kinds = serverKinds().filter((k): k is Exclude<ServerKind, "deno"> => k !== "deno");

/** `n` bytes that compress well (a short repeating text). */
function compressible(n: number): Uint8Array {
  const unit = new TextEncoder().encode("ROM-WebSocket compresses this line. ");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = unit[i % unit.length];
  return out;
}

for (const kind of kinds) {
  describe(`permessage-deflate against the ${kind} server`, () => {
    it(
      "is negotiated by default and round-trips every size, compressible or not, exactly",
      LONG,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"));
        assert.match(client.extensions, /^permessage-deflate/);
        const connection = await server.connection(0);
        assert.match(connection.headers["sec-websocket-extensions"] ?? "", /permessage-deflate/);
        const messages = client[Symbol.asyncIterator]();
        const sizes = [0, 1, 125, 1023, 1024, 65536, 1 << 20, 16 << 20];
        for (const size of sizes) {
          // Incompressible data up to 1 MiB (16 MiB of it would only time zlib).
          const datas = size > 1 << 20 ? [compressible(size)] : [compressible(size), pattern(size)];
          for (const data of datas) {
            await withTimeout(client.send(data), STEP, `send ${size} bytes`);
            assertBytes(await nextMessage(messages, `echo of ${size}`), data, `${size} bytes`);
          }
          const text = size > 1 << 20 ? largeText(size) : textOfBytes(size);
          await withTimeout(client.send(text), STEP, `send ${size} text bytes`);
          assert.ok(await nextMessage(messages, `text echo of ${size}`) === text, `text ${size}`);
        }
        const info = await withTimeout(client.close(), STEP, "close");
        assert.equal(info.wasClean, true);
        assert.equal(connection.dropped, 0);
      }, LONG_DEADLINE),
    );

    it(
      "keeps hundreds of pipelined compressed messages in order (context takeover)",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), {
          compression: { threshold: 0 },
        });
        const messages = client[Symbol.asyncIterator]();
        const sends: Promise<void>[] = [];
        const expected: string[] = [];
        for (let i = 0; i < 300; i++) {
          const text = `message ${i}: ` + "repeat ".repeat(i % 40) + "é".repeat(i % 7);
          expected.push(text);
          sends.push(client.send(text));
        }
        await withTimeout(Promise.all(sends), STEP, "sends");
        for (let i = 0; i < expected.length; i++) {
          assert.equal(await nextMessage(messages, `message ${i}`), expected[i]);
        }
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "works with fragmentation and with no context takeover and small windows",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), {
          fragmentSize: 512,
          compression: {
            threshold: 0,
            clientNoContextTakeover: true,
            serverNoContextTakeover: true,
            clientMaxWindowBits: 9,
          },
        });
        assert.match(client.extensions, /permessage-deflate/);
        const messages = client[Symbol.asyncIterator]();
        for (const data of [compressible(10_000), pattern(5000, 3), compressible(10_000)]) {
          await client.send(data);
          assertBytes(await nextMessage(messages, "echo"), data, "fragmented compressed");
        }
        await client.send(textOfBytes(3000));
        assert.equal(await nextMessage(messages, "text"), textOfBytes(3000));
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "without context takeover at the full window: every message size around the window steps",
      guarded(async (scope) => {
        // One-shot deflate picks a window just above each message's size (9 to 15 bits).
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), {
          compression: { threshold: 0, clientNoContextTakeover: true },
        });
        assert.match(client.extensions, /client_no_context_takeover/);
        const messages = client[Symbol.asyncIterator]();
        for (const size of [1, 100, 511, 512, 513, 1023, 1025, 16384, 16385, 40000, 70000]) {
          for (const data of [compressible(size), pattern(size, size)]) {
            await client.send(data);
            assertBytes(await nextMessage(messages, `${size} B`), data, `${size} B`);
          }
        }
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "without context takeover: bursts mixing compressed, uncompressed, text and binary keep order",
      guarded(async (scope) => {
        // The first compressed message waits for the deflater to load; later ones are compressed
        // in the sending task, and must not overtake messages still waiting (SendQueue).
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), {
          compression: { clientNoContextTakeover: true, serverNoContextTakeover: true },
        });
        assert.match(client.extensions, /client_no_context_takeover/);
        const messages = client[Symbol.asyncIterator]();
        const expected: Array<string | Uint8Array> = [];
        for (let burst = 0; burst < 5; burst++) {
          const sends: Promise<void>[] = [];
          for (let i = 0; i < 60; i++) {
            const n = burst * 60 + i;
            // Below the default threshold (uncompressed) every third message.
            const size = n % 3 === 0 ? 10 : 200 + n * 13;
            const data = n % 2 === 0 ? `${n}:` + "é-json-".repeat(size >> 3) : compressible(size);
            expected.push(data);
            sends.push(client.send(data));
          }
          await withTimeout(Promise.all(sends), STEP, `burst ${burst}`);
        }
        for (let i = 0; i < expected.length; i++) {
          const got = await nextMessage(messages, `message ${i}`);
          if (typeof expected[i] === "string") assert.equal(got, expected[i], `message ${i}`);
          else assertBytes(got, expected[i] as Uint8Array, `message ${i}`);
        }
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "compression: false offers no extension",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), { compression: false });
        const connection = await server.connection(0);
        assert.equal(connection.headers["sec-websocket-extensions"], undefined);
        assert.equal(client.extensions, "");
        await client.send(compressible(4096));
        assertBytes(
          await nextMessage(client[Symbol.asyncIterator](), "echo"),
          compressible(4096),
          "uncompressed",
        );
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "a compressed message inflating past maxMessageSize is refused with 1009",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { compression: true }));
        const client = await open(scope, server.url("/echo"), { maxMessageSize: 1 << 20 });
        const events = record(client);
        // 4 MiB of one byte compresses to a few KiB: the server's echo is a small frame that
        // inflates to four times the limit.
        await client.send(new Uint8Array(4 << 20));
        const event = await withTimeout(events.close, STEP, "close event");
        assert.ok(event.error instanceof ProtocolError, String(event.error));
        assert.equal(event.error.code, "MESSAGE_TOO_BIG");
        assert.equal(event.sent?.code, 1009);
        const seen = await withTimeout(server.connection(0).then((c) => c.closed), STEP, "server");
        assert.equal(seen.code, 1009);
      }),
    );
  });
}
