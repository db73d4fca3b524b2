/**
 * One table of behaviour scenarios that both clients run, so the two cannot drift: the client of
 * the runtime under test (`tests/client/browser_parity_test.ts`, on Deno, Bun and Node.js) and the
 * browser build in headless Chromium (`tests/browser/chromium_test.ts`; ARCHITECTURE.md §8). Each
 * scenario gets the library (`Lib`: the root entry or `src/browser/mod.ts`) and an `Env` (the URLs
 * of the scenario server, `tests/_util/scenario_server.ts`, and its restart) and throws on any
 * difference from the expected behaviour. Where a browser cannot do something, the scenario says what each build does.
 *
 * It imports only the contract strings and the waits of `async.ts`: the file is bundled into the
 * test page as it is.
 *
 * @module
 */

import { delay, waitFor, withTimeout as within } from "./async.ts";
import { CLOSE_DROP, CLOSE_NORMAL, FAIL, MESSAGE, OPEN, SOURCE } from "./rom_contract.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
type ErrorClass = new (...args: Any[]) => Error;

/** What a scenario needs of a client (both builds' `WebSocketClient` have it). */
export interface Client {
  readonly readyState: number;
  readonly url: string;
  readonly bufferedAmount: number;
  readonly closeInfo: CloseInfoLike | undefined;
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseInfoLike>;
  send(data: string | Uint8Array, options?: { binary?: boolean }): Promise<void>;
  close(code?: number, reason?: string): Promise<CloseInfoLike>;
  ping(): Promise<number>;
  terminate(): void;
  addEventListener(type: string, listener: (event: Any) => void): void;
  [Symbol.asyncIterator](): AsyncIterator<string | Uint8Array>;
}

/** How a connection ended, as both builds report it. */
export interface CloseInfoLike {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly received?: { code: number; reason: string };
  readonly sent?: { code: number; reason: string };
  readonly error?: Error & { code: string };
}

/** What a scenario needs of a `RomWebSocket`. */
export interface Rom {
  Timeout: number;
  Listen: boolean;
  Regex: string;
  Таймаут: number;
  РежимПрослушивания: boolean;
  РегулярноеВыражение: string;
  readonly Connected: boolean;
  readonly Подключено: boolean;
  readonly Version: string;
  readonly LastError: string;
  readonly client: Client | undefined;
  onExternalEvent: ((source: string, event: string, data: string) => void) | null;
  ВнешнееСобытие: ((source: string, event: string, data: string) => void) | null;
  Connect(uri: string): Promise<boolean>;
  Подключиться(uri: string): Promise<boolean>;
  Send(text: string): Promise<boolean>;
  Отправить(text: string): Promise<boolean>;
  Disconnect(): Promise<boolean>;
  Отключиться(): Promise<boolean>;
  SetHeader(name: string, value: string): boolean;
}

/** The library under test: the root entry (server) or the browser build. */
export interface Lib {
  connect(
    url: string | ((attempt: number) => string),
    options?: Record<string, unknown>,
  ): Promise<Client>;
  WebSocketClient: new (url: string, options?: Record<string, unknown>) => Client;
  RomWebSocket: new (options?: Record<string, unknown>) => Rom;
  VERSION: string;
  ArgumentError: ErrorClass;
  InvalidStateError: ErrorClass;
  NetworkError: ErrorClass;
  TimeoutError: ErrorClass;
  ConnectionClosedError: ErrorClass;
  PcreError: ErrorClass;
  WebSocketError: ErrorClass;
}

/** Where a scenario runs. */
export interface Env {
  /** "server": the client of Deno, Bun or Node.js; "browser": the browser build in Chromium. */
  readonly kind: "server" | "browser";
  /** A URL of the scenario server. */
  url(path?: string): string;
  /** A `ws://` URL of a port where nothing listens. */
  readonly refusedUrl: string;
  /** Drops every connection of the server and listens again on the same port after a pause. */
  restart(): Promise<void>;
  /** Registers a cleanup that runs when the scenario ends, passed or failed. */
  defer(cleanup: () => unknown): void;
}

/** One scenario of the table. */
export interface Scenario {
  readonly name: string;
  run(lib: Lib, env: Env): Promise<void>;
}

/** Safety-net deadline of one step (never a judgement of speed). */
const STEP = 4000;

// -----------------------------------------------------------------------------------------------
// Small assertions (node:assert is not in a browser).

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function same(actual: unknown, expected: unknown, label: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${label}: expected ${e}, got ${a}`);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  return `${error.name}${code ? ` ${code}` : ""}: ${error.message}`;
}

/** Asserts that `error` is an instance of `cls` with `code`. */
function isError(error: unknown, cls: ErrorClass, code: string | undefined, label: string): void {
  check(error instanceof cls, `${label}: expected a ${cls.name}, got ${describeError(error)}`);
  if (code !== undefined) {
    same((error as { code?: string }).code, code, `${label}: code (${describeError(error)})`);
  }
}

async function rejects(
  promise: Promise<unknown>,
  cls: ErrorClass,
  code: string | undefined,
  label: string,
): Promise<Error> {
  let outcome: { ok: true } | { ok: false; error: unknown };
  try {
    await within(promise, STEP, label);
    outcome = { ok: true };
  } catch (error) {
    outcome = { ok: false, error };
  }
  check(!outcome.ok, `${label}: resolved, expected a ${cls.name} ${code ?? ""}`);
  isError(outcome.error, cls, code, label);
  return outcome.error as Error;
}

function throws(fn: () => unknown, cls: ErrorClass, code: string, label: string): void {
  try {
    fn();
  } catch (error) {
    isError(error, cls, code, label);
    return;
  }
  throw new Error(`${label}: did not throw`);
}

/** Connects and terminates the client when the scenario ends. */
async function open(lib: Lib, env: Env, url: string, options?: Record<string, unknown>) {
  const client = await within(lib.connect(url, options), STEP, `connect(${url})`);
  env.defer(() => client.terminate());
  return client;
}

/** The next `n` messages of `client`, by async iteration. */
async function take(client: Client, n: number): Promise<Array<string | Uint8Array>> {
  const got: Array<string | Uint8Array> = [];
  if (n === 0) return got;
  const iterator = client[Symbol.asyncIterator]();
  while (got.length < n) {
    const r = await within(iterator.next(), STEP, `message ${got.length + 1} of ${n}`);
    if (r.done) throw new Error(`iteration ended after ${got.length} of ${n} messages`);
    got.push(r.value);
  }
  await iterator.return?.();
  return got;
}

/** A RomWebSocket with a recorder of its external events, released when the scenario ends. */
function rom(lib: Lib, env: Env, options?: Record<string, unknown>) {
  const component = new lib.RomWebSocket(options);
  const events: Array<{ source: string; event: string; data: string }> = [];
  component.onExternalEvent = (source, event, data) => events.push({ source, event, data });
  env.defer(() => component.client?.terminate());
  const names = () => events.map((e) => e.event);
  return {
    rom: component,
    events,
    names,
    /** Waits until `count` events with this `event` string were raised. */
    wait: (event: string, count = 1, ms = STEP) =>
      waitFor(
        () => events.filter((e) => e.event === event).length >= count,
        ms,
        `${count} × ${event}; got ${JSON.stringify(names())}`,
      ),
  };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// -----------------------------------------------------------------------------------------------
// The table.

/** Every scenario, run in order by each side. */
export const scenarios: readonly Scenario[] = [
  {
    name: "echo: text as string, binary as Uint8Array, by async iteration; a clean close",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/echo"));
      same(ws.readyState, 1, "readyState once connect() resolved");
      same(ws.url, env.url("/echo"), "url");
      await ws.send("Привет мир!");
      await ws.send(new Uint8Array([0, 1, 2, 255]));
      await ws.send("as binary", { binary: true });
      const [text, binary, encoded] = await take(ws, 3);
      same(text, "Привет мир!", "text echo");
      check(binary instanceof Uint8Array, `binary echo is a Uint8Array: ${binary}`);
      same(Array.from(binary), [0, 1, 2, 255], "binary echo");
      check(encoded instanceof Uint8Array, "a string sent with binary: true comes back binary");
      same(new TextDecoder().decode(encoded), "as binary", "binary: true echo");
      const info = await within(ws.close(1000, "done"), STEP, "close()");
      same([info.code, info.wasClean, info.error], [1000, true, undefined], "close info");
      same(info.sent, { code: 1000, reason: "done" }, "the close frame sent");
      same(ws.readyState, 3, "readyState after close()");
    },
  },
  {
    name: "messages that arrive before the first listener wait for it",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/send?m=one&m=two"));
      await delay(100); // both have arrived by now; no listener yet
      const got: unknown[] = [];
      ws.addEventListener("message", (event) => got.push(event.data));
      await waitFor(() => got.length >= 2, STEP, `two messages; got ${JSON.stringify(got)}`);
      same(got, ["one", "two"], "queued messages, in order");
    },
  },
  {
    name: "send waits for the buffered bytes to drain (4 MiB echoed intact)",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/echo"));
      const big = new Uint8Array(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 11)) & 0xff;
      const echoed = take(ws, 1);
      await within(ws.send(big), 10_000, "send of 4 MiB");
      check(
        ws.bufferedAmount <= 64 * 1024,
        `bufferedAmount under the high-water mark once send resolved: ${ws.bufferedAmount}`,
      );
      const [back] = await within(echoed, 10_000, "echo of 4 MiB");
      check(back instanceof Uint8Array && bytesEqual(back, big), "the 4 MiB came back intact");
    },
  },
  {
    name: "the server's close frame: close event with its code and reason; iteration throws",
    async run(lib, env) {
      const ws = await within(
        lib.connect(env.url("/close/4001")),
        STEP,
        "connect to /close/4001",
      );
      env.defer(() => ws.terminate());
      const closes: CloseInfoLike[] = [];
      ws.addEventListener("close", (event) => closes.push(event));
      const iterator = ws[Symbol.asyncIterator]();
      await rejects(iterator.next(), lib.ConnectionClosedError, "CONNECTION_CLOSED", "iteration");
      const info = await within(ws.closed, STEP, "closed");
      same([info.code, info.reason, info.wasClean], [4001, "bye", true], "close info");
      same(info.received, { code: 4001, reason: "bye" }, "the close frame received");
      await waitFor(() => closes.length === 1, STEP, "one close event");
      same(closes[0].code, 4001, "close event code");
      await rejects(ws.send("late"), lib.InvalidStateError, "NOT_OPEN", "send after the close");
    },
  },
  {
    name: "close(): codes a page may not send are refused on both sides (1001, 1011)",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/echo"));
      await rejects(ws.close(1001), lib.ArgumentError, "INVALID_CLOSE_CODE", "close(1001)");
      await rejects(ws.close(1011), lib.ArgumentError, "INVALID_CLOSE_CODE", "close(1011)");
      same(ws.readyState, 1, "still open after the refused closes");
      const info = await within(ws.close(4000, "app"), STEP, "close(4000)");
      same([info.code, info.wasClean], [4000, true], "close(4000) info");
    },
  },
  {
    name: "closeTimeout: a server that never answers the close frame (CLOSE_TIMEOUT)",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/deaf"), { closeTimeout: 300 });
      const info = await within(ws.close(1000, "bye"), STEP, "close() bounded by closeTimeout");
      isError(info.error, lib.TimeoutError, "CLOSE_TIMEOUT", "closeInfo.error");
      same([info.wasClean, info.received], [false, undefined], "no close frame came back");
      same(info.sent, { code: 1000, reason: "bye" }, "the close frame sent");
      same(ws.readyState, 3, "readyState");
    },
  },
  {
    name: "terminate() settles at once (1006, not clean); later sends reject",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/echo"));
      const closes: CloseInfoLike[] = [];
      ws.addEventListener("close", (event) => closes.push(event));
      ws.terminate();
      const info = await within(ws.closed, STEP, "closed after terminate()");
      same([info.code, info.wasClean, info.error], [1006, false, undefined], "close info");
      same(ws.readyState, 3, "readyState");
      same(closes.length, 1, "one close event");
      await rejects(ws.send("late"), lib.InvalidStateError, "NOT_OPEN", "send after terminate()");
      ws.terminate(); // a second call does nothing
    },
  },
  {
    name: "signal: aborting an open connection closes it with an AbortError",
    async run(lib, env) {
      const controller = new AbortController();
      const ws = await open(lib, env, env.url("/echo"), { signal: controller.signal });
      controller.abort(new Error("page left"));
      const info = await within(ws.closed, STEP, "closed after abort");
      isError(info.error, lib.WebSocketError, "ABORTED", "closeInfo.error");
      check(info.sent !== undefined, "a close frame was sent");
      await rejects(
        lib.connect(env.url("/echo"), { signal: controller.signal }),
        lib.WebSocketError,
        "ABORTED",
        "connect() with an aborted signal",
      );
    },
  },
  {
    name: "a refused port: connect() rejects with a NetworkError",
    async run(lib, env) {
      await rejects(lib.connect(env.refusedUrl), lib.NetworkError, undefined, "connect()");
      const client = new lib.WebSocketClient(env.refusedUrl);
      const info = await within(client.closed, STEP, "closed");
      isError(info.error, lib.NetworkError, undefined, "closeInfo.error");
      same(client.readyState, 3, "readyState");
    },
  },
  {
    name: "openTimeout: a server that never answers the handshake",
    async run(lib, env) {
      const error = await rejects(
        lib.connect(env.url("/hang"), { openTimeout: 300 }),
        lib.TimeoutError,
        "OPEN_TIMEOUT",
        "connect(/hang)",
      );
      check(/300 ms/.test(error.message), `the message names the timeout: ${error.message}`);
    },
  },
  {
    name: "idleTimeout: a silent server is taken for dead (IDLE_TIMEOUT)",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/silent"), { idleTimeout: 300 });
      const errors: Error[] = [];
      ws.addEventListener("error", (event) => errors.push(event.error));
      const info = await within(ws.closed, STEP, "closed after the idle timeout");
      isError(info.error, lib.TimeoutError, "IDLE_TIMEOUT", "closeInfo.error");
      same(errors.length, 1, "one error event");
      isError(errors[0], lib.TimeoutError, "IDLE_TIMEOUT", "error event");
    },
  },
  {
    name: "onOpen runs before the open event and before any message of the connection",
    async run(lib, env) {
      const order: string[] = [];
      const client = new lib.WebSocketClient(env.url("/send?m=first"), {
        onOpen: async () => {
          await delay(100);
          order.push("onOpen");
        },
      });
      env.defer(() => client.terminate());
      client.addEventListener("open", () => order.push("open"));
      client.addEventListener("message", (event) => order.push(`message ${event.data}`));
      await within(client.opened, STEP, "opened");
      await waitFor(() => order.length >= 3, STEP, `three steps; got ${order}`);
      same(order, ["onOpen", "open", "message first"], "order");
    },
  },
  {
    name: "outbox: sends made while connecting leave once open, in order",
    async run(lib, env) {
      const client = new lib.WebSocketClient(env.url("/echo"), { outbox: true });
      env.defer(() => client.terminate());
      same(client.readyState, 0, "connecting");
      const sent = [client.send("a"), client.send("b")];
      await within(Promise.all(sent), STEP, "held sends resolved");
      same(await take(client, 2), ["a", "b"], "echoes");
      const plain = new lib.WebSocketClient(env.url("/echo"));
      env.defer(() => plain.terminate());
      await rejects(plain.send("x"), lib.InvalidStateError, "NOT_OPEN", "send while connecting");
    },
  },
  {
    name: "reconnection after the server restarts: the outage report, then messages again",
    async run(lib, env) {
      const ws = await open(lib, env, env.url("/echo"), {
        reconnect: { initialDelay: 50, maxDelay: 200 },
      });
      const reconnects: Array<{ wasOpen: boolean; attempt: number }> = [];
      const outages: Array<Record<string, Any>> = [];
      const opens: Array<Record<string, Any> | undefined> = [];
      ws.addEventListener(
        "reconnect",
        (e) => reconnects.push({ wasOpen: e.wasOpen, attempt: e.attempt }),
      );
      ws.addEventListener("outage", (e) => outages.push(e.outage));
      ws.addEventListener("open", (e) => opens.push(e.outage));
      await ws.send("before");
      same(await take(ws, 1), ["before"], "echo before the restart");
      const echoedAt = Date.now();
      await within(env.restart(), STEP, "server restart");
      await waitFor(() => outages.length === 1, 10_000, "the outage event");
      const outage = outages[0];
      check(outage.lostAt <= outage.restoredAt, `lostAt <= restoredAt: ${JSON.stringify(outage)}`);
      check(outage.attempts >= 1, `attempts >= 1: ${outage.attempts}`);
      check(
        typeof outage.lastMessageAt === "number" && outage.lastMessageAt <= echoedAt &&
          outage.lastMessageAt <= outage.lostAt,
        `lastMessageAt is the echo's: ${JSON.stringify(outage)}`,
      );
      same([outage.cause.code, outage.cause.wasClean], [1006, false], "cause: dropped, no frame");
      isError(outage.cause.error, lib.NetworkError, undefined, "cause.error");
      same(reconnects[0]?.wasOpen, true, "the first reconnect event follows an open connection");
      same(opens.length, 1, "one open event after the first (connect() consumed none)");
      same(JSON.stringify(opens[0]), JSON.stringify(outage), "the open event carries the outage");
      same(ws.readyState, 1, "open again");
      await ws.send("after");
      same(await take(ws, 1), ["after"], "echo after the restart");
    },
  },
  {
    name: "across a reconnection: the url function is asked again, the outbox holds sends",
    async run(lib, env) {
      const asked: number[] = [];
      const url = (attempt: number) => {
        asked.push(attempt);
        return env.url(`/echo?attempt=${attempt}`);
      };
      const ws = await within(
        lib.connect(url, {
          reconnect: { initialDelay: 50, maxDelay: 200 },
          outbox: true,
        }),
        STEP,
        "connect(url function)",
      );
      env.defer(() => ws.terminate());
      same(ws.url, env.url("/echo?attempt=1"), "the first attempt's URL");
      const held: Array<Promise<void>> = [];
      ws.addEventListener("reconnect", () => {
        // Sent while the client waits to reconnect: held, then written once open again.
        if (held.length === 0) held.push(ws.send("held"));
      });
      let outages = 0;
      ws.addEventListener("outage", () => outages++);
      await within(env.restart(), STEP, "server restart");
      await waitFor(() => outages === 1, 10_000, "the outage");
      await within(held[0], STEP, "the held send");
      same(await take(ws, 1), ["held"], "the held message, echoed by the new connection");
      check(asked.length >= 2 && asked[0] === 1, `the url function per attempt: ${asked}`);
      same(ws.url, env.url(`/echo?attempt=${asked[asked.length - 1]}`), "the last attempt's URL");
    },
  },
  {
    name: "ROM: Open, Message and Close Normal, byte for byte (Timeout = 5, Russian aliases)",
    async run(lib, env) {
      const { rom: r, events, wait } = rom(lib, env);
      same(r.Version, lib.VERSION, "Version");
      same([r.Timeout, r.Listen, r.Regex], [0, true, ""], "defaults");
      r.Таймаут = 5;
      check(await within(r.Подключиться(env.url("/echo")), STEP, "Connect"), r.LastError);
      check(r.Connected && r.Подключено, "Connected");
      same(events.map((e) => e.event), [OPEN.event], "Open raised by the time Connect resolved");
      check(await r.Отправить("Привет мир!"), "Send");
      await wait(MESSAGE);
      check(await within(r.Отключиться(), STEP, "Disconnect"), "Disconnect resolved true");
      await wait(CLOSE_NORMAL.event);
      same(events, [
        { source: SOURCE, ...OPEN },
        { source: SOURCE, event: MESSAGE, data: "Привет мир!" },
        { source: SOURCE, ...CLOSE_NORMAL },
      ], "the external events");
      same(r.Connected, false, "Connected after Disconnect");
      same(await r.Send("late"), false, "Send when not connected");
      same(await r.Disconnect(), false, "Disconnect when not connected");
    },
  },
  {
    name: "ROM: a close by the server raises Close Drop",
    async run(lib, env) {
      const { rom: r, events, wait } = rom(lib, env);
      r.Timeout = 5;
      check(await within(r.Connect(env.url("/close/1000")), STEP, "Connect"), r.LastError);
      await wait(CLOSE_DROP.event);
      same(events, [{ source: SOURCE, ...OPEN }, { source: SOURCE, ...CLOSE_DROP }], "events");
    },
  },
  {
    name: "ROM: Regex (PCRE spellings) and Listen",
    async run(lib, env) {
      const { rom: r, events, wait } = rom(lib, env);
      r.Regex = "(?i)^привет";
      same(r.РегулярноеВыражение, "(?i)^привет", "the Russian alias reads the same pattern");
      throws(() => (r.Regex = "(?>a)"), lib.PcreError, "INVALID_REGEX", "an atomic group");
      same(r.Regex, "(?i)^привет", "a refused pattern keeps the previous one");
      r.Timeout = 5;
      check(await within(r.Connect(env.url("/echo")), STEP, "Connect"), r.LastError);
      const echoed: string[] = [];
      r.client!.addEventListener("message", (e) => echoed.push(String(e.data)));
      await r.Send("skip me");
      await r.Send("ПРИВЕТ мир");
      await wait(MESSAGE);
      r.Listen = false;
      await r.Send("привет, не слышно");
      await waitFor(() => echoed.length === 3, STEP, "the third echo, while not listening");
      r.РежимПрослушивания = true;
      await r.Send("привет снова");
      await wait(MESSAGE, 2);
      same(
        events.filter((e) => e.event === MESSAGE).map((e) => e.data),
        ["ПРИВЕТ мир", "привет снова"],
        "only matching messages, only while listening",
      );
      r.Regex = "";
      await r.Send("anything");
      await wait(MESSAGE, 3);
    },
  },
  {
    name: "ROM: Timeout = 0 resolves at once; Timeout > 0 waits, and false once it passed",
    async run(lib, env) {
      const { rom: r, events, wait } = rom(lib, env);
      same(await r.Connect(env.url("/echo")), true, "Connect with Timeout 0");
      same(r.Connected, false, "not open yet when Connect resolved");
      await wait(OPEN.event);
      check(r.Connected, "Connected after the Open event");
      await r.Disconnect();
      await wait(CLOSE_NORMAL.event);

      const slow = rom(lib, env);
      slow.rom.Timeout = 0.3;
      same(await within(slow.rom.Connect(env.url("/hang")), STEP, "Connect(/hang)"), false, "hang");
      await slow.wait(FAIL.event);
      same(slow.events, [{ source: SOURCE, ...FAIL }], "Fail, byte for byte");
      check(/300/.test(slow.rom.LastError), `LastError names the timeout: ${slow.rom.LastError}`);

      const quiet = rom(lib, env);
      quiet.rom.Listen = false;
      quiet.rom.Timeout = 5;
      check(await within(quiet.rom.Connect(env.url("/echo")), STEP, "Connect"), "quiet Connect");
      check(await quiet.rom.Send("Привет мир!"), "quiet Send");
      check(await quiet.rom.Disconnect(), "quiet Disconnect");
      same(quiet.events, [], "Listen = false raises nothing");
      same(events.length, 2, "the first component raised only its own events");
    },
  },
  {
    name: "ROM: a refused port raises Fail (Timeout = 0 and Timeout > 0)",
    async run(lib, env) {
      const { rom: r, events, wait } = rom(lib, env);
      same(await r.Connect(env.refusedUrl), true, "Timeout 0: the attempt started");
      await wait(FAIL.event);
      same(events, [{ source: SOURCE, ...FAIL }], "Fail, byte for byte");
      check(r.LastError !== "", "LastError says why");
      r.Timeout = 2;
      same(await within(r.Connect(env.refusedUrl), STEP, "Connect"), false, "Timeout 2: false");
      await wait(FAIL.event, 2);
      same(r.Connected, false, "not connected");
    },
  },
  {
    name: "ROM: with reconnect, a restart raises Close Drop, then Open again",
    async run(lib, env) {
      const { rom: r, events, names, wait } = rom(lib, env, {
        reconnect: { initialDelay: 50, maxDelay: 200 },
      });
      r.Timeout = 5;
      check(await within(r.Connect(env.url("/echo")), STEP, "Connect"), r.LastError);
      await within(env.restart(), STEP, "server restart");
      await wait(OPEN.event, 2, 10_000);
      const list = names();
      same(list[0], OPEN.event, "first Open");
      same(list[1], CLOSE_DROP.event, "then Close Drop");
      same(list[list.length - 1], OPEN.event, "Open again");
      for (const e of list.slice(2, -1)) same(e, FAIL.event, "failed attempts between raise Fail");
      check(events.every((e) => e.source === SOURCE), "source");
      check(await r.Send("after"), "Send after the reconnection");
      await wait(MESSAGE);
    },
  },
  {
    name: "what a browser cannot do: refused there with UNSUPPORTED_IN_BROWSER, done here",
    async run(lib, env) {
      const browser = env.kind === "browser";
      const unsupported = (promise: Promise<unknown>, label: string) =>
        rejects(promise, lib.ArgumentError, "UNSUPPORTED_IN_BROWSER", label);
      const url = env.url("/headers");
      if (browser) {
        await unsupported(lib.connect(url, { headers: { "X-Token": "t" } }), "headers");
        await unsupported(lib.connect(url, { headers: () => ({}) }), "a headers function");
        await unsupported(lib.connect(url, { proxy: "http://127.0.0.1:3128" }), "proxy");
        await unsupported(lib.connect(url, { tls: { rejectUnauthorized: false } }), "tls");
        await unsupported(lib.connect(url, { connector: () => {} }), "connector");
        await unsupported(lib.connect(url, { pingInterval: 1000 }), "pingInterval");
        await unsupported(lib.connect(url, { compression: false }), "compression: false");
        await unsupported(lib.connect(url, { maxMessageSize: 1024 }), "maxMessageSize");
        await unsupported(
          lib.connect(url.replace("ws://", "ws://user:secret@")),
          "user and password in the URL",
        );
        throws(
          () => new lib.WebSocketClient(url, { proxy: "http://p" }),
          lib.ArgumentError,
          "UNSUPPORTED_IN_BROWSER",
          "the constructor throws before any attempt",
        );
      } else {
        const ws = await open(lib, env, url, { headers: { "X-Token": "t" } });
        const [headers] = await take(ws, 1);
        same(JSON.parse(String(headers))["x-token"], "t", "the header reached the server");
        await ws.close();
      }
      const ws = await open(lib, env, env.url("/echo"), { pingInterval: 0 });
      if (browser) await unsupported(ws.ping(), "ping()");
      else check(typeof (await within(ws.ping(), STEP, "ping()")) === "number", "ping() rtt");
      same(ws.readyState, 1, "the connection goes on");

      const { rom: r, events, wait } = rom(lib, env);
      same(r.SetHeader("Authorization", "Basic dTpw"), true, "SetHeader");
      r.Timeout = 5;
      const connected = await within(r.Connect(url), STEP, "Connect with a header");
      if (browser) {
        same(connected, false, "Connect with a header: false in a browser");
        same(events, [{ source: SOURCE, ...FAIL }], "Fail");
        check(/UNSUPPORTED|not supported in a browser/.test(r.LastError), r.LastError);
      } else {
        same(connected, true, "Connect with a header");
        await wait(MESSAGE);
        same(JSON.parse(events[1].data).authorization, "Basic dTpw", "the header arrived");
      }
    },
  },
];
