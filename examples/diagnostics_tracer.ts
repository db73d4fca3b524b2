/**
 * Tracing WebSocket connections from the `node:diagnostics_channel` channels the client publishes
 * (`rom-websocket:open`, `:error`, `:reconnect`, `:outage`, `:close`), into a tracer shaped like
 * OpenTelemetry's (`startSpan`, `addEvent`, `setStatus`, `end`), without depending on it: pass
 * `trace.getTracer("rom-websocket")` from `@opentelemetry/api` where that is installed, or the
 * console tracer below. The application's code does not change: the channels see every client.
 *
 * One span per client: it starts at the first open and ends at the close; a drop, each
 * reconnection and the outage it ended are events of that span.
 *
 * ```sh
 * deno run -A examples/diagnostics_tracer.ts    # a local echo server that drops one connection
 * ```
 *
 * @module
 */

import diagnostics from "node:diagnostics_channel";
import {
  type CloseEvent,
  DIAGNOSTICS_CHANNELS,
  type ErrorEvent,
  type OpenEvent,
  type OutageEvent,
  type ReconnectEvent,
  type WebSocketClient,
} from "../mod.ts";

/** Attribute values, as OpenTelemetry accepts them. */
export type Attributes = Record<string, string | number | boolean>;

/** The part of an OpenTelemetry `Span` this example uses. */
export interface Span {
  setAttribute(key: string, value: string | number | boolean): unknown;
  addEvent(name: string, attributes?: Attributes): unknown;
  /** `code`: 1 OK, 2 ERROR (OpenTelemetry's `SpanStatusCode`). */
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** The part of an OpenTelemetry `Tracer` this example uses. */
export interface Tracer {
  startSpan(name: string, options?: { attributes?: Attributes }): Span;
}

const OK = 1;
const ERROR = 2;

/**
 * Subscribes `tracer` to the client channels; returns the function that unsubscribes. Spans of
 * clients still open then are ended.
 */
export function traceWebSockets(tracer: Tracer): () => void {
  const spans = new Map<WebSocketClient, Span>();
  const onOpen = (message: unknown) => {
    const event = message as OpenEvent;
    const client = event.target;
    const span = spans.get(client);
    if (span === undefined) {
      const attributes: Attributes = { "url.full": client.url };
      if (client.protocol) attributes["websocket.protocol"] = client.protocol;
      if (client.extensions) attributes["websocket.extensions"] = client.extensions;
      spans.set(client, tracer.startSpan("websocket.connection", { attributes }));
    } else {
      span.addEvent("websocket.reopened", { "websocket.url": client.url });
    }
  };
  const onError = (message: unknown) => {
    const { error, target } = message as ErrorEvent;
    spans.get(target)?.addEvent("exception", {
      "exception.type": error.name,
      "exception.message": error.message,
      "websocket.error.code": error.code,
    });
  };
  const onReconnect = (message: unknown) => {
    const event = message as ReconnectEvent;
    spans.get(event.target)?.addEvent("websocket.reconnect", {
      "websocket.reconnect.attempt": event.attempt,
      "websocket.reconnect.delay_ms": event.delay,
      "websocket.close.code": event.info.code,
      "websocket.was_open": event.wasOpen,
    });
  };
  const onOutage = (message: unknown) => {
    const { outage, target } = message as OutageEvent;
    spans.get(target)?.addEvent("websocket.outage", {
      "websocket.outage.duration_ms": outage.restoredAt - outage.lostAt,
      "websocket.outage.attempts": outage.attempts,
    });
  };
  const onClose = (message: unknown) => {
    const event = message as CloseEvent;
    const span = spans.get(event.target);
    if (!span) return;
    spans.delete(event.target);
    const stats = event.target.stats;
    span.setAttribute("websocket.close.code", event.code);
    span.setAttribute("websocket.messages.received", stats.messagesIn);
    span.setAttribute("websocket.messages.sent", stats.messagesOut);
    span.setAttribute("websocket.bytes.received", stats.wireBytesIn);
    span.setAttribute("websocket.bytes.sent", stats.wireBytesOut);
    span.setAttribute("websocket.reconnects", stats.reconnects);
    span.setStatus(
      event.error ? { code: ERROR, message: event.error.message } : { code: OK },
    );
    span.end();
  };
  const subscriptions: Array<[string, (message: unknown) => void]> = [
    [DIAGNOSTICS_CHANNELS.open, onOpen],
    [DIAGNOSTICS_CHANNELS.error, onError],
    [DIAGNOSTICS_CHANNELS.reconnect, onReconnect],
    [DIAGNOSTICS_CHANNELS.outage, onOutage],
    [DIAGNOSTICS_CHANNELS.close, onClose],
  ];
  for (const [name, handler] of subscriptions) diagnostics.subscribe(name, handler);
  return () => {
    for (const [name, handler] of subscriptions) diagnostics.unsubscribe(name, handler);
    for (const span of spans.values()) span.end();
    spans.clear();
  };
}

/** A tracer that prints each span when it ends (a stand-in for an OpenTelemetry exporter). */
export function consoleTracer(write: (line: string) => void = console.log): Tracer {
  return {
    startSpan(name, options) {
      const start = Date.now();
      const attributes: Attributes = { ...options?.attributes };
      const events: string[] = [];
      let status = "UNSET";
      return {
        setAttribute: (key, value) => (attributes[key] = value),
        addEvent: (event, eventAttributes) =>
          events.push(
            `+${Date.now() - start} ms ${event} ${JSON.stringify(eventAttributes ?? {})}`,
          ),
        setStatus: ({ code, message }) => (status = code === ERROR ? `ERROR ${message}` : "OK"),
        end: () => {
          write(`span ${name} (${Date.now() - start} ms) ${status} ${JSON.stringify(attributes)}`);
          for (const event of events) write(`  ${event}`);
        },
      };
    },
  };
}

if (import.meta.main && import.meta.url.endsWith(".ts")) {
  const { connect } = await import("../mod.ts");
  const { startEchoServer } = await import("../src/cli/echo_server.ts");
  const stop = traceWebSockets(consoleTracer());
  // Two local echo servers: the first goes away after a message, the reconnection finds the second.
  const first = await startEchoServer();
  const second = await startEchoServer();
  const ws = await connect((attempt) => (attempt === 1 ? first.url : second.url), {
    reconnect: { initialDelay: 50 },
  });
  await ws.send("traced");
  ws.addEventListener("outage", () => void ws.close(1000, "done"));
  await first.close(); // a drop: the error, reconnect, open and outage events follow
  await ws.closed;
  stop();
  await second.close();
}
