/**
 * How `connect()` fails, each with its typed error: refused port, refused handshake (401 with a
 * body), wrong accept, open timeout against a server that never answers, and aborts (before,
 * during and after opening).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AbortError,
  ArgumentError,
  type ClientOptions,
  connect,
  type Connector,
  HandshakeError,
  NetworkError,
  TimeoutError,
  WebSocketClient,
} from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { acceptKey, Op, startHostileServer } from "../_util/hostile.ts";
import { closedPort } from "../_util/servers.ts";
import { open, record, rejectsWith, STEP, track } from "../_util/client.ts";

describe("connect() failures", () => {
  it(
    "a port nobody listens on: NetworkError CONNECTION_REFUSED",
    guarded(async () => {
      const port = await closedPort();
      const error = await rejectsWith(
        connect(`ws://127.0.0.1:${port}/`),
        NetworkError,
        "CONNECTION_REFUSED",
        "connect to a closed port",
      );
      assert.equal(error.name, "NetworkError");
    }),
  );

  it(
    "a refused handshake (401 with a body): HandshakeError with status, headers and body",
    guarded(async (scope) => {
      const body = "Unauthorized: bad credentials. Плохой пароль.";
      const bytes = new TextEncoder().encode(body);
      const server = scope.use(
        await startHostileServer({
          handshake: () =>
            "HTTP/1.1 401 Unauthorized\r\n" +
            'WWW-Authenticate: Basic realm="ari"\r\n' +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            `Content-Length: ${bytes.length}\r\n` +
            "X-Repeated: a\r\nX-Repeated: b\r\n\r\n" +
            body, // written as UTF-8: Content-Length counts its bytes
        }),
      );
      const error = await rejectsWith(
        connect(server.url("/ari/events")),
        HandshakeError,
        "UNEXPECTED_STATUS",
        "401 response",
      );
      assert.equal(error.status, 401);
      assert.equal(error.headers["www-authenticate"], 'Basic realm="ari"');
      assert.equal(error.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(error.headers["x-repeated"], "a, b");
      assert.equal(error.bodyText, body);
      assert.match(error.message, /401/);
    }),
  );

  it(
    "a 101 with a wrong Sec-WebSocket-Accept: HandshakeError INVALID_ACCEPT",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          handshake: (request) =>
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${acceptKey(request.key + "x")}\r\n\r\n`,
        }),
      );
      const error = await rejectsWith(
        connect(server.url("/")),
        HandshakeError,
        "INVALID_ACCEPT",
        "wrong accept",
      );
      assert.equal(error.status, 101);
    }),
  );

  it(
    "a 101 without Sec-WebSocket-Accept: HandshakeError INVALID_ACCEPT",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          handshake: () =>
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        }),
      );
      await rejectsWith(connect(server.url("/")), HandshakeError, "INVALID_ACCEPT", "no accept");
    }),
  );

  it(
    "a server that accepts TCP and never answers: TimeoutError OPEN_TIMEOUT, socket closed",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = track(scope, new WebSocketClient(server.url("/"), { openTimeout: 200 }));
      const error = await rejectsWith(
        client.opened,
        TimeoutError,
        "OPEN_TIMEOUT",
        "open timeout",
      );
      assert.match(error.message, /200/);
      const connection = await server.connection(0);
      await withTimeout(connection.clientGone, STEP, "the client closes the TCP connection");
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.equal(info.error, error);
      assert.equal(info.wasClean, false);
      assert.equal(client.readyState, WebSocketClient.CLOSED);
    }),
  );

  it(
    "connect() with openTimeout rejects the same way",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      await rejectsWith(
        connect(server.url("/"), { openTimeout: 100 }),
        TimeoutError,
        "OPEN_TIMEOUT",
        "connect() open timeout",
      );
      await withTimeout((await server.connection(0)).clientGone, STEP, "client gone");
    }),
  );

  it(
    "an AbortSignal fired during the handshake: AbortError with the reason as cause",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const controller = new AbortController();
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), { signal: controller.signal }),
      );
      const connection = await server.connection(0);
      await withTimeout(connection.request, STEP, "request received");
      const reason = new Error("user gave up");
      controller.abort(reason);
      const error = await rejectsWith(client.opened, AbortError, "ABORTED", "aborted connect");
      assert.equal(error.cause, reason);
      await withTimeout(connection.clientGone, STEP, "the client closes the TCP connection");
    }),
  );

  it(
    "connect() with an already aborted signal rejects with AbortError and opens no socket",
    guarded(async () => {
      let opened = 0;
      const connector: Connector = () => {
        opened++;
        return Promise.reject(new Error("must not be called"));
      };
      await rejectsWith(
        connect("ws://127.0.0.1:1/", { signal: AbortSignal.abort(), connector }),
        AbortError,
        "ABORTED",
        "pre-aborted",
      );
      assert.equal(opened, 0);
    }),
  );

  it(
    "an AbortSignal fired once open closes the connection with 1001",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const controller = new AbortController();
      const client = await open(scope, server.url("/"), { signal: controller.signal });
      const events = record(client);
      controller.abort();
      const connection = await server.connection(0);
      const frame = await withTimeout(connection.closeFrame, STEP, "close frame");
      assert.equal(frame.opcode, Op.CLOSE);
      assert.equal(frame.closeCode, 1001);
      const event = await withTimeout(events.close, STEP, "close event");
      assert.equal(event.sent?.code, 1001);
      assert.ok(event.error instanceof AbortError, String(event.error));
    }),
  );

  const badOptions: Array<[string, ClientOptions, string]> = [
    ["a header value with CRLF", { headers: { "X-Evil": "a\r\nInjected: 1" } }, "INVALID_HEADER"],
    ["a header name with a space", { headers: { "Bad Name": "x" } }, "INVALID_HEADER"],
    ["Sec-WebSocket-Key set by hand", { headers: { "Sec-WebSocket-Key": "x" } }, "INVALID_HEADER"],
    ["a subprotocol with a space", { protocols: ["bad proto"] }, "INVALID_SUBPROTOCOL"],
    ["a duplicate subprotocol", { protocols: ["a", "a"] }, "INVALID_SUBPROTOCOL"],
    ["a negative openTimeout", { openTimeout: -1 }, "INVALID_OPTION"],
    ["a NaN pingInterval", { pingInterval: NaN }, "INVALID_OPTION"],
    ["maxMessageSize 0", { maxMessageSize: 0 }, "INVALID_OPTION"],
  ];
  for (const [name, options, code] of badOptions) {
    it(
      `${name}: ArgumentError ${code} before any socket is opened`,
      guarded(async () => {
        let opened = 0;
        const connector: Connector = () => {
          opened++;
          return Promise.reject(new Error("must not be called"));
        };
        await rejectsWith(
          connect("ws://127.0.0.1:1/", { ...options, connector }),
          ArgumentError,
          code,
          name,
        );
        assert.equal(opened, 0);
      }),
    );
  }
});
