/**
 * The Pushbullet realtime event stream (docs.pushbullet.com, "Realtime Event Stream"): learn of
 * new pushes as they happen, and receive ephemerals (mirrored notifications, clipboard).
 *
 * What it shows: `idleTimeout` on a feed with its own heartbeat (no WebSocket pings), and the
 * `outage` event to catch up on what was missed while the stream was down.
 *
 * The protocol facts it follows:
 * - URL `wss://stream.pushbullet.com/websocket/<access_token>`.
 * - `{"type": "nop"}` arrives every 30 seconds; none for longer means the stream is dead. So
 *   `idleTimeout` is a bit above the heartbeat (1.5 times it).
 * - `{"type": "tickle", "subtype": "push"}` says pushes changed: ask
 *   `GET https://api.pushbullet.com/v2/pushes?modified_after=<latest modified>` (header
 *   `Access-Token`) for them; `"device"` likewise for devices. The stream carries no pushes, so
 *   a tickle sent while the stream was down is lost: resync after every reconnection.
 * - `{"type": "push", "push": {...}}` carries an ephemeral whole (`mirror`, `dismissal`, `clip`).
 *
 * ```sh
 * deno run -A examples/pushbullet.ts                               # against a local scripted peer
 * PUSHBULLET_TOKEN=o.xxxx deno run -A examples/pushbullet.ts       # against Pushbullet
 * ```
 *
 * @module
 */

import process from "node:process";
import { type CloseInfo, WebSocketClient } from "../mod.ts";

export interface PushbulletOptions {
  url: string | URL;
  /** Something changed (`"push"` or `"device"`): fetch it. Also called after every outage. */
  onTickle: (subtype: string) => void | Promise<void>;
  /** An ephemeral (`push.type`: "mirror", "dismissal", "clip", ...). */
  onEphemeral?: (push: Record<string, unknown>) => void;
  /** Milliseconds between the server's nops. Default 30,000. */
  heartbeatInterval?: number;
  log?: (text: string) => void;
}

export interface PushbulletStream {
  readonly client: WebSocketClient;
  stop(): Promise<CloseInfo>;
}

export function runPushbullet(options: PushbulletOptions): PushbulletStream {
  const { url, onTickle, onEphemeral = () => {}, log = () => {} } = options;
  const heartbeat = options.heartbeatInterval ?? 30_000;
  const tickle = (subtype: string) =>
    Promise.resolve(subtype).then(onTickle).catch((e) => log(`onTickle failed: ${e}`));

  const client = new WebSocketClient(url, {
    pingInterval: 0, // the nops are the heartbeat
    idleTimeout: heartbeat * 1.5, // no nop for that long: reconnect
    reconnect: true, // a refused token (401) is not retried
  });
  client.addEventListener("message", ({ data }) => {
    const message = JSON.parse(String(data));
    if (message.type === "tickle") void tickle(message.subtype);
    else if (message.type === "push") onEphemeral(message.push);
    // "nop": nothing to do, its arrival is what keeps idleTimeout from firing
  });
  client.addEventListener("reconnect", (e) => log(`lost (${e.info.error?.code ?? e.info.code})`));
  // Tickles sent while the stream was down are lost: fetch what changed since.
  client.addEventListener("outage", ({ outage }) => {
    log(`back after ${outage.restoredAt - outage.lostAt} ms; resyncing`);
    void tickle("push");
    void tickle("device");
  });
  return { client, stop: () => client.close() };
}

/** `GET /v2/pushes?modified_after=...`: the pushes modified after `after` (newest first). */
export async function fetchPushes(
  token: string,
  after: number,
  apiBase = "https://api.pushbullet.com",
): Promise<Array<{ iden: string; modified: number; title?: string; body?: string }>> {
  const response = await fetch(`${apiBase}/v2/pushes?modified_after=${after}`, {
    headers: { "Access-Token": token },
  });
  if (!response.ok) throw new Error(`GET /v2/pushes: ${response.status}`);
  return (await response.json()).pushes;
}

// Run as a script (the tests import runPushbullet only).
if (import.meta.main && import.meta.url.endsWith(".ts")) {
  const say = (text: string) => console.error(`${new Date().toISOString()} pushbullet: ${text}`);
  let token = process.env.PUSHBULLET_TOKEN;
  let url = `wss://stream.pushbullet.com/websocket/${token}`;
  let api: string | undefined;
  const local = token ? undefined : await (await import("../tests/_util/feeds/pushbullet.ts"))
    .startPushbulletPeer({ nopInterval: 1000 });
  if (local) [token, url, api] = [local.token, local.streamUrl, local.apiBase];
  let latest = Date.now() / 1000; // only pushes from now on
  const stream = runPushbullet({
    url,
    heartbeatInterval: local ? 1000 : 30_000,
    onTickle: async (subtype) => {
      if (subtype !== "push") return;
      for (const push of (await fetchPushes(token!, latest, api)).reverse()) {
        latest = Math.max(latest, push.modified);
        console.log(`push ${push.iden}: ${push.title ?? ""} ${push.body ?? ""}`);
      }
    },
    onEphemeral: (push) => console.log(`ephemeral ${push.type}: ${JSON.stringify(push)}`),
    log: say,
  });
  await stream.client.opened;
  say("streaming");
  if (local) {
    local.push({ title: "hello", body: "from the local peer" });
    local.ephemeral({ type: "clip", body: "copied text" });
    await new Promise((r) => setTimeout(r, 500));
    await stream.stop();
    await local.close();
  } else {
    process.on("SIGINT", () => void stream.stop().then(() => process.exit(0)));
  }
}
