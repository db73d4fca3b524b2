/**
 * The client has one read path, push (`Socket.listen`, ARCHITECTURE.md §2): sockets that push
 * natively (the Node.js and Bun adapters) and pull-only sockets given the push contract by
 * `withPushReading` (the Deno adapter, a minimal user connector with `read` only) behave alike.
 * Each is run against the same echo server: messages of several sizes, a burst the application
 * reads only later (reading is held, then resumed, nothing lost or reordered), and a close from
 * the server.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Connector, type Socket, WebSocketClient } from "../../mod.ts";
import { defaultConnector } from "../../src/adapters/detect.ts";
import { delay, guarded, waitFor, withTimeout } from "../_util/async.ts";
import { startEchoServer } from "../_util/servers.ts";
import { nextMessage, open, pattern, record, STEP } from "../_util/client.ts";

/** The runtime's connector with its sockets reduced to the required members (pull only). */
const pullOnly: Connector = async (options) => {
  const socket = await (await defaultConnector())(options);
  const minimal: Socket = {
    read: () => socket.read(),
    write: (data) => socket.write(data),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    closeWrite: () => socket.closeWrite(),
    close: () => socket.close(),
    closed: socket.closed,
  };
  return minimal;
};

/** The runtime's connector, recording whether the client reads by push and when it holds. */
function recordingPush(): { connector: Connector; listened: () => boolean; holds: () => number } {
  let listened = false;
  let holds = 0;
  const connector: Connector = async (options) => {
    const socket = await (await defaultConnector())(options);
    if (!socket.listen) return socket; // Deno's adapter reads by pull only
    const listen = socket.listen.bind(socket);
    socket.listen = (sink) => {
      listened = true;
      listen({
        data: (chunk) => {
          const more = sink.data(chunk);
          if (!more) holds++;
          return more;
        },
        end: () => sink.end(),
        error: (error) => sink.error(error),
      });
    };
    return socket;
  };
  return { connector, listened: () => listened, holds: () => holds };
}

const runtimeHasPush = (globalThis as { Deno?: unknown }).Deno === undefined;

for (const mode of ["push", "pull"] as const) {
  describe(`reading by ${mode}`, () => {
    const setup = () => {
      if (mode === "pull") return { connector: pullOnly, check: () => {}, holds: () => -1 };
      const { connector, listened, holds } = recordingPush();
      return {
        connector,
        holds,
        check: () => assert.equal(listened(), runtimeHasPush, "push reading used where offered"),
      };
    };

    it(
      "echoes text and binary messages of 0 B to 200 KiB",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer("ws"));
        const { connector, check } = setup();
        const client = await open(scope, server.url("/"), { connector });
        const messages = client[Symbol.asyncIterator]();
        for (const size of [0, 1, 125, 126, 65535, 65536, 200 * 1024]) {
          const bytes = pattern(size, size);
          await client.send(bytes);
          assert.deepEqual(await nextMessage(messages, `${size} B binary`), bytes);
          const text = "é".repeat(size >>> 1);
          await client.send(text);
          assert.equal(await nextMessage(messages, `${size} B text`), text);
        }
        assert.equal((await withTimeout(client.close(), STEP, "close")).wasClean, true);
        check();
      }),
    );

    it(
      "holds reading while the application lags, then delivers every message in order",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer("ws"));
        const { connector, check, holds } = setup();
        const client = await open(scope, server.url("/"), { connector, maxQueue: 8 });
        const count = 300;
        for (let i = 0; i < count; i++) client.send(`message ${i} ${"x".repeat(1000)}`);
        // The echoes arrive while nobody reads: past maxQueue the client stops taking them from
        // the socket (push: the sink holds, which this waits for; pull: no read is pending).
        if (mode === "push" && runtimeHasPush) await waitFor(() => holds() > 0, STEP, "held");
        else await delay(200);
        const seen: string[] = [];
        for await (const message of client) {
          seen.push((message as string).split(" ", 2).join(" "));
          if (seen.length === count) break;
        }
        assert.deepEqual(seen, Array.from({ length: count }, (_, i) => `message ${i}`));
        check();
      }),
    );

    it(
      "reports the server's close code and reason",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer("ws"));
        const { connector } = setup();
        const client = new WebSocketClient(server.url("/close/4001"), { connector });
        scope.defer(() => client.terminate());
        const events = record(client);
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.equal(info.code, 4001);
        assert.equal(info.wasClean, true);
        assert.equal((await withTimeout(events.close, STEP, "close event")).code, 4001);
      }),
    );
  });
}
