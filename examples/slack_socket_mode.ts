/**
 * Slack Socket Mode (api.slack.com/apis/socket-mode): receive Events API, interactivity and slash
 * command envelopes over a WebSocket instead of a public HTTP endpoint.
 *
 * What it shows: a `url` function (`apps.connections.open` is called before every attempt, since
 * each URL is a single-use ticket), and a handover without loss: on `disconnect` the next
 * connection is opened first and the old one closed only once the new one said `hello`.
 *
 * The protocol facts it follows:
 * - `POST apps.connections.open` with an app-level token (`xapp-...`) returns
 *   `{"ok": true, "url": "wss://..."}`; `ok: false` (e.g. `invalid_auth`) will not get better.
 * - The first message of a connection is `{"type": "hello", ...}`.
 * - Every envelope is acknowledged within 3 seconds by sending `{"envelope_id": "..."}`, or
 *   Slack sends it again (`retry_attempt` > 0); so acknowledge first, then handle.
 * - `{"type": "disconnect", "reason": "warning"}` (about 10 s ahead) and then `"refresh_requested"`
 *   announce that Slack will close this connection: open another, then close this one.
 *   `"link_disabled"`: Socket Mode was turned off for the app; stop.
 *
 * ```sh
 * deno run -A examples/slack_socket_mode.ts            # against a local scripted peer
 * SLACK_APP_TOKEN=xapp-... deno run -A examples/slack_socket_mode.ts   # against Slack
 * ```
 *
 * @module
 */

import process from "node:process";
import { isTransient, WebSocketClient } from "../mod.ts";

/** An envelope as Slack sends it (`type`: "events_api", "interactive", "slash_commands"). */
export interface SlackEnvelope {
  envelope_id: string;
  type: string;
  payload: unknown;
  retry_attempt: number;
  retry_reason: string;
}

/** A Web API answer with `ok: false`: the same call will fail again. */
export class SlackApiError extends Error {}

/** `apps.connections.open`: a fresh Socket Mode URL. */
export async function appsConnectionsOpen(
  appToken: string,
  apiBase = "https://slack.com/api",
): Promise<string> {
  const response = await fetch(`${apiBase}/apps.connections.open`, {
    method: "POST",
    headers: { Authorization: `Bearer ${appToken}` },
  });
  const body = await response.json();
  if (!body.ok) throw new SlackApiError(`apps.connections.open: ${body.error}`);
  return body.url;
}

export interface SlackSocketModeOptions {
  openConnection: () => Promise<string | URL>; // a fresh URL per connection
  onEvent: (envelope: SlackEnvelope) => void | Promise<void>; // once acknowledged
  log?: (text: string) => void;
}

/** `ready`: the first `hello`; `connections`: how many said `hello`; `stop`: close all. */
export interface SlackSocketMode {
  readonly ready: Promise<void>;
  readonly connections: number;
  stop(): Promise<void>;
}

export function runSlackSocketMode(options: SlackSocketModeOptions): SlackSocketMode {
  const { openConnection, onEvent, log = () => {} } = options;
  const clients = new Map<WebSocketClient, Promise<void>>(); // client -> its hello
  let current: WebSocketClient;
  let stopped = false;
  let hellos = 0;

  const open = (): WebSocketClient => {
    let hello!: () => void;
    const client: WebSocketClient = new WebSocketClient(() => openConnection(), {
      // Drops are retried with a fresh ticket, by the current connection only.
      reconnect: {
        shouldReconnect: (info) =>
          !stopped && client === current && !(info.error?.cause instanceof SlackApiError) &&
          isTransient(info),
      },
    });
    clients.set(client, new Promise((resolve) => (hello = resolve)));
    client.closed.then(() => clients.delete(client));
    client.addEventListener("message", ({ data }) => {
      const message = JSON.parse(String(data));
      if (message.type === "hello") {
        hellos++;
        hello();
      } else if (message.type === "disconnect") {
        if (message.reason === "link_disabled") void stop();
        else void handover(client, message.reason);
      } else if (message.envelope_id) {
        // Acknowledge first: a slow handler must not make Slack send it again.
        client.send(JSON.stringify({ envelope_id: message.envelope_id })).catch(() => {});
        Promise.resolve(message).then(onEvent).catch((e) => log(`onEvent failed: ${e}`));
      }
    });
    client.addEventListener("reconnect", (e) => log(`lost (${e.info.code}); reconnecting`));
    return client;
  };

  const leaving = new WeakSet<WebSocketClient>();
  /** Opens the next connection, waits for its hello, then closes `old`. */
  const handover = async (old: WebSocketClient, reason: string) => {
    if (leaving.has(old) || stopped) return; // "warning" then "refresh_requested": once
    leaving.add(old);
    log(`disconnect (${reason}): opening the next connection first`);
    const next = current = open();
    await Promise.race([clients.get(next), next.closed]);
    await old.close(1000, "refreshed");
  };

  const stop = async () => {
    stopped = true;
    await Promise.all([...clients.keys()].map((c) => c.close()));
  };

  current = open();
  return {
    ready: clients.get(current)!,
    get connections() {
      return hellos;
    },
    stop,
  };
}

// Run as a script (the tests import runSlackSocketMode only).
if (import.meta.main && import.meta.url.endsWith(".ts")) {
  const say = (text: string) => console.error(`${new Date().toISOString()} slack: ${text}`);
  let token = process.env.SLACK_APP_TOKEN;
  let api: string | undefined;
  let local: import("../tests/_util/feeds/slack.ts").SlackPeer | undefined;
  if (!token) {
    local = await (await import("../tests/_util/feeds/slack.ts")).startSlackPeer();
    [token, api] = [local.appToken, local.apiBase];
    say(`no SLACK_APP_TOKEN: using a local peer at ${api}`);
  }
  const app = runSlackSocketMode({
    openConnection: () => appsConnectionsOpen(token!, api),
    onEvent: (e) => console.log(JSON.stringify(e.payload)),
    log: say,
  });
  await app.ready;
  say("connected");
  if (local) {
    for (let i = 1; i <= 6; i++) {
      local.dispatch({ event: { type: "message", text: `event ${i}` } });
      if (i === 3) local.refresh();
      await new Promise((r) => setTimeout(r, 200));
    }
    say(`${app.connections} connections, ${local.unacked} envelopes unacknowledged`);
    await app.stop();
    await local.close();
  } else {
    process.on("SIGINT", () => void app.stop().then(() => process.exit(0)));
  }
}
