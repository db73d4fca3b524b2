/**
 * The `node:diagnostics_channel` channels of src/client/diagnostics.ts, on every runtime (Deno,
 * Bun and Node.js all have the module): `rom-websocket:open`, `:error`, `:reconnect`, `:outage`
 * and `:close` carry the event objects the listeners get, in the same order, with `target` the
 * client; unsubscribing stops them; examples/diagnostics_tracer.ts turns them into spans. (A subscriber that throws is the module's business: Node.js
 * rethrows it as an uncaught exception on the next tick, by design.)
 */

import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { describe, it } from "node:test";
import { DIAGNOSTICS_CHANNELS, WebSocketClient } from "../../mod.ts";
import { deferred, guarded, withTimeout } from "../_util/async.ts";
import { open, STEP, track } from "../_util/client.ts";
import { startEchoServer } from "../_util/servers.ts";
import { commandFor, run } from "../_util/subprocess.ts";
import {
  type Attributes,
  type Tracer,
  traceWebSockets,
} from "../../examples/diagnostics_tracer.ts";

type Seen = { channel: string; event: { type: string; target: unknown; outage?: unknown } };

/** Subscribes to every channel; returns what arrives and the unsubscribe function. */
function subscribeAll(): { seen: Seen[]; unsubscribe: () => void } {
  const seen: Seen[] = [];
  const handlers = Object.values(DIAGNOSTICS_CHANNELS).map((name) => {
    const handler = (message: unknown) => seen.push({ channel: name, event: message as never });
    diagnostics.subscribe(name, handler);
    return [name, handler] as const;
  });
  return {
    seen,
    unsubscribe: () => {
      for (const [name, handler] of handlers) diagnostics.unsubscribe(name, handler);
    },
  };
}

describe("diagnostics channels", () => {
  it("names: rom-websocket:<event> for open, close, error, reconnect and outage", () => {
    assert.deepEqual(DIAGNOSTICS_CHANNELS, {
      open: "rom-websocket:open",
      close: "rom-websocket:close",
      error: "rom-websocket:error",
      reconnect: "rom-websocket:reconnect",
      outage: "rom-websocket:outage",
    });
  });

  it(
    "a drop and a reconnection: open, error, reconnect, open (with outage), outage, ..., close",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { seen, unsubscribe } = subscribeAll();
      scope.defer(unsubscribe);
      const client = track(
        scope,
        new WebSocketClient(server.url("/drop"), {
          pingInterval: 0,
          reconnect: { initialDelay: 10, maxDelay: 20 },
        }),
      );
      const listened: string[] = [];
      const second = deferred<void>();
      for (const type of ["open", "error", "reconnect", "outage", "close"] as const) {
        client.addEventListener(type, () => {
          listened.push(type);
          if (type === "outage") second.resolve();
        });
      }
      await withTimeout(second.promise, STEP, "a reconnection");
      await client.close();
      const mine = seen.filter((s) => s.event.target === client);
      assert.deepEqual(
        mine.map((s) => s.channel),
        listened.map((type) => `rom-websocket:${type}`),
        "the channels see what the listeners see, in the same order",
      );
      assert.deepEqual(listened.slice(0, 5), ["open", "error", "reconnect", "open", "outage"]);
      assert.equal(listened.at(-1), "close");
      for (const { channel, event } of mine) assert.equal(`rom-websocket:${event.type}`, channel);
      assert.equal(mine[0].event.outage, undefined, "the first open ends no outage");
      assert.ok(mine[3].event.outage, "the open of the reconnection carries the outage");
    }),
  );

  it(
    "after unsubscribing nothing arrives (the client publishes only to subscribers)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const { seen, unsubscribe } = subscribeAll();
      unsubscribe();
      const client = await open(scope, server.url("/"), { pingInterval: 0 });
      const closed = deferred<number>();
      client.addEventListener("close", (event) => closed.resolve(event.code));
      await client.close();
      assert.equal(await withTimeout(closed.promise, STEP, "close listener"), 1000);
      assert.deepEqual(seen.filter((s) => s.event.target === client), []);
    }),
  );
});

describe("examples/diagnostics_tracer.ts", () => {
  it(
    "one span per client: started at the open, the drop, reconnection and outage as events, " +
      "ended at the close with the counters",
    guarded(async (scope) => {
      const first = scope.use(await startEchoServer("ws"));
      const second = scope.use(await startEchoServer("ws"));
      type Recorded = {
        name: string;
        attributes: Attributes;
        events: string[];
        status?: number;
        ended: boolean;
      };
      const spans: Recorded[] = [];
      const tracer: Tracer = {
        startSpan(name, options) {
          const span: Recorded = {
            name,
            attributes: { ...options?.attributes },
            events: [],
            ended: false,
          };
          spans.push(span);
          return {
            setAttribute: (key, value) => (span.attributes[key] = value),
            addEvent: (event) => span.events.push(event),
            setStatus: ({ code }) => (span.status = code),
            end: () => (span.ended = true),
          };
        },
      };
      const stop = traceWebSockets(tracer);
      scope.defer(stop);
      const client = track(
        scope,
        new WebSocketClient((attempt) => (attempt === 1 ? first.url("/a") : second.url("/b")), {
          pingInterval: 0,
          reconnect: { initialDelay: 10, maxDelay: 20 },
        }),
      );
      await withTimeout(client.opened, STEP, "open");
      const outage = deferred<void>();
      client.addEventListener("outage", () => outage.resolve());
      await first.close(); // drops the connection
      await withTimeout(outage.promise, STEP, "the reconnection");
      await client.close();
      const mine = spans.filter((s) => s.attributes["url.full"] === first.url("/a"));
      assert.equal(mine.length, 1, "one span for the client, across the reconnection");
      const [span] = mine;
      assert.equal(span.name, "websocket.connection");
      assert.deepEqual(span.events, [
        "exception",
        "websocket.reconnect",
        "websocket.reopened",
        "websocket.outage",
      ]);
      assert.equal(span.status, 1, "OK: closed by the application");
      assert.equal(span.attributes["websocket.close.code"], 1000);
      assert.equal(span.attributes["websocket.reconnects"], 1);
      assert.ok(span.ended);
    }),
  );
});

describe("diagnostics channels without process.getBuiltinModule", () => {
  it(
    "loading still works, and the channels come through the dynamic import()",
    { timeout: 30_000 },
    guarded(async () => {
      const [command, args] = commandFor(
        "tests/fixtures/diagnostics_import_fallback.ts",
        "diagnostics-fallback/run.mjs",
      );
      const r = await run(command, args, { timeout: 20_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual(r.stdout.trim().split("\n"), [
        "getBuiltinModule: undefined",
        "rom-websocket:open",
        "rom-websocket:close",
        "done",
      ]);
    }, 25_000),
  );
});
