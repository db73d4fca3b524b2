/**
 * A local Slack Socket Mode peer, following Slack's documented protocol (api.slack.com/apis/
 * socket-mode), since Slack itself cannot be reached from the tests:
 *
 * - `POST /api/apps.connections.open` with an app-level token (`Authorization: Bearer xapp-...`)
 *   answers `{"ok": true, "url": "ws://.../link/?ticket=...&app_id=..."}`; a wrong token gets
 *   `{"ok": false, "error": "invalid_auth"}`. Each URL carries a single-use ticket: an upgrade
 *   with an unknown or used ticket is refused.
 * - On connect the peer sends `hello` (`num_connections`, `debug_info`, `connection_info`).
 * - {@linkcode SlackPeer.dispatch} wraps a payload in an envelope (`envelope_id`, `type`,
 *   `payload`, `accepts_response_payload`, `retry_attempt`, `retry_reason`) and sends it to the
 *   newest connection not being refreshed. An envelope is acknowledged by a message
 *   `{"envelope_id": "..."}`; one not acknowledged within `ackTimeout`, or whose connection closed
 *   first, is delivered again (`retry_attempt` + 1), as Slack retries.
 * - {@linkcode SlackPeer.refresh} sends `{"type": "disconnect", "reason": "refresh_requested"}`
 *   (or `warning`) and closes that connection itself `closeAfter` ms later if the app has not.
 *
 * Run it alone with `deno run -A tests/_util/feeds/slack.ts`: it prints its API base URL and
 * the app token, and dispatches an event every second.
 *
 * @module
 */

import { type Peer, type PeerConnection, startPeer } from "./peer.ts";

/** The app-level token the peer accepts unless told otherwise. */
export const SLACK_APP_TOKEN = "xapp-1-A0LOCAL-1-local";

/** Options of {@linkcode startSlackPeer}. */
export interface SlackPeerOptions {
  appToken?: string;
  /** Milliseconds an envelope may wait for its acknowledgement before it is sent again. Default 3,000. */
  ackTimeout?: number;
  /** Milliseconds after a `disconnect` message before the peer closes that connection. Default 10,000. */
  closeAfter?: number;
}

/** One envelope, as the peer tracks it. */
export interface SlackDelivery {
  readonly envelope_id: string;
  readonly type: string;
  readonly payload: unknown;
  /** Connections (indexes) it was sent to, in order. */
  readonly sentTo: number[];
  /** Connection (index) whose acknowledgement arrived first, if any. */
  ackedOn: number | undefined;
}

/** A running Slack peer. */
export interface SlackPeer {
  readonly peer: Peer;
  /** Base of the Web API (`.../api`), where `apps.connections.open` lives. */
  readonly apiBase: string;
  readonly appToken: string;
  /** Tickets issued by `apps.connections.open`. */
  readonly issued: number;
  /** Every envelope dispatched, by id. */
  readonly deliveries: ReadonlyMap<string, SlackDelivery>;
  /** Sends an envelope; returns its id. */
  dispatch(payload: unknown, type?: string): string;
  /** Asks `connection` (default: the newest open one) to go away. */
  refresh(connection?: PeerConnection, reason?: "refresh_requested" | "warning"): void;
  /** Envelopes not acknowledged yet. */
  readonly unacked: number;
  close(): Promise<void>;
}

/** Starts the peer on a free port. */
export async function startSlackPeer(options: SlackPeerOptions = {}): Promise<SlackPeer> {
  const appToken = options.appToken ?? SLACK_APP_TOKEN;
  const ackTimeout = options.ackTimeout ?? 3000;
  const closeAfter = options.closeAfter ?? 10_000;
  const tickets = new Set<string>();
  const deliveries = new Map<string, SlackDelivery>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const waiting: SlackDelivery[] = [];
  let issued = 0;
  let envelopes = 0;

  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const target = () =>
    peer.openConnections.filter((c) => c.state.hello && !c.state.refreshing).at(-1);
  const deliver = (d: SlackDelivery, retry: number) => {
    if (d.ackedOn !== undefined) return;
    const connection = target();
    if (!connection) return void waiting.push(d);
    d.sentTo.push(connection.index);
    connection.send({
      envelope_id: d.envelope_id,
      payload: d.payload,
      type: d.type,
      accepts_response_payload: false,
      retry_attempt: retry,
      retry_reason: retry === 0 ? "" : "timeout",
    });
    const sent = d.sentTo.length; // retried unless delivered again meanwhile
    later(() => d.sentTo.length === sent && deliver(d, retry + 1), ackTimeout);
  };
  const flushWaiting = () => {
    for (const d of waiting.splice(0)) deliver(d, d.sentTo.length);
  };

  const peer = await startPeer({
    http(request) {
      if (request.method !== "POST" || request.url.pathname !== "/api/apps.connections.open") {
        return undefined;
      }
      if (request.headers["authorization"] !== `Bearer ${appToken}`) {
        return { status: 200, json: { ok: false, error: "invalid_auth" } };
      }
      const ticket = crypto.randomUUID();
      tickets.add(ticket);
      issued++;
      return {
        status: 200,
        json: { ok: true, url: peer.url(`/link/?ticket=${ticket}&app_id=A0LOCAL`) },
      };
    },
    upgrade(url) {
      if (url.pathname !== "/link/") return 404;
      const ticket = url.searchParams.get("ticket") ?? "";
      return tickets.delete(ticket) ? undefined : 401; // single use
    },
    connection(connection) {
      connection.state.hello = true;
      connection.send({
        type: "hello",
        num_connections: peer.openConnections.length,
        debug_info: { host: "applink-local", build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: "A0LOCAL" },
      });
      flushWaiting();
    },
    message(connection, message) {
      const d = deliveries.get(String(message.envelope_id));
      if (d && d.ackedOn === undefined) d.ackedOn = connection.index;
    },
    closed(connection) {
      // What was sent on it and not acknowledged goes out again on another connection.
      for (const d of deliveries.values()) {
        if (d.ackedOn === undefined && d.sentTo.at(-1) === connection.index) {
          deliver(d, d.sentTo.length);
        }
      }
    },
  });

  return {
    peer,
    apiBase: peer.httpUrl("/api"),
    appToken,
    get issued() {
      return issued;
    },
    deliveries,
    dispatch(payload, type = "events_api") {
      const envelope_id = `env-${++envelopes}-${crypto.randomUUID().slice(0, 8)}`;
      const d: SlackDelivery = { envelope_id, type, payload, sentTo: [], ackedOn: undefined };
      deliveries.set(envelope_id, d);
      deliver(d, 0);
      return envelope_id;
    },
    refresh(connection = peer.openConnections.at(-1), reason = "refresh_requested") {
      if (!connection) return;
      connection.state.refreshing = true;
      connection.send({ type: "disconnect", reason, debug_info: { host: "applink-local" } });
      later(() => connection.close(1000, "refreshed"), closeAfter);
    },
    get unacked() {
      return [...deliveries.values()].filter((d) => d.ackedOn === undefined).length;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await peer.close();
    },
  };
}

if (import.meta.main && import.meta.url.endsWith(".ts")) {
  const slack = await startSlackPeer();
  console.log(`SLACK_API_URL=${slack.apiBase} SLACK_APP_TOKEN=${slack.appToken}`);
  let n = 0;
  setInterval(() => slack.dispatch({ event: { type: "message", text: `hello ${++n}` } }), 1000);
  setInterval(() => slack.refresh(), 7000);
}
