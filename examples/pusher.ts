/**
 * Pusher Channels (pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol):
 * subscribe to public channels and receive their events, across reconnections.
 *
 * What it shows: `onOpen` subscribes on every open (so every reconnection resubscribes before any
 * event is read), `idleTimeout` as the deadline of Pusher's own heartbeat, and
 * `reconnect.shouldReconnect` reading Pusher's close codes.
 *
 * The protocol facts it follows (protocol 7):
 * - URL `wss://ws-<cluster>.pusher.com/app/<key>?protocol=7&client=...&version=...`.
 * - The server's first message is `pusher:connection_established`; its `data` is a JSON string
 *   with `socket_id` and `activity_timeout` (seconds).
 * - `{"event": "pusher:subscribe", "data": {"channel": "..."}}` subscribes; channel events come as
 *   `{"event", "channel", "data"}`, `data` usually a JSON string.
 * - After `activity_timeout` without a message the client sends `pusher:ping`; without a
 *   `pusher:pong` within the pong timeout (30 s in pusher-js) the connection is dead. So
 *   `idleTimeout` = activity timeout + pong timeout. A `pusher:ping` from the server is answered
 *   with `pusher:pong`.
 * - Close codes: 4000–4099 do not reconnect (the same parameters will fail again), 4100–4199
 *   reconnect after 1 s or more, 4200–4299 reconnect at once.
 *
 * ```sh
 * deno run -A examples/pusher.ts                                      # a local scripted peer
 * PUSHER_KEY=... PUSHER_CLUSTER=eu PUSHER_CHANNELS=a,b deno run -A examples/pusher.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { type CloseInfo, isTransient, WebSocketClient } from "../mod.ts";

export interface PusherOptions {
  url: string | URL;
  channels: readonly string[];
  onEvent: (channel: string, event: string, data: unknown) => void;
  /** Longest silence (ms) before we ping; the server's `activity_timeout` may be shorter. */
  activityTimeout?: number;
  /** How long a `pusher:pong` may take (ms). Default 30,000. */
  pongTimeout?: number;
  log?: (text: string) => void;
}

/** `socketId`: of the current connection (for private channel auth). */
export interface Pusher {
  readonly client: WebSocketClient;
  readonly socketId: string | undefined;
  stop(): Promise<CloseInfo>;
}

const json = (text: unknown) => {
  try {
    return typeof text === "string" ? JSON.parse(text) : text;
  } catch {
    return text; // Pusher allows raw strings as event data
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function runPusher(options: PusherOptions): Pusher {
  const { url, channels, onEvent, log = () => {} } = options;
  const activityTimeout = options.activityTimeout ?? 120_000;
  const pongTimeout = options.pongTimeout ?? 30_000;
  let activity = activityTimeout;
  let socketId: string | undefined;
  let notBefore = 0; // 4100–4199: when the next attempt may start
  let quiet: ReturnType<typeof setTimeout> | undefined;

  const send = (event: string, data: unknown = {}) =>
    client.send(JSON.stringify({ event, data })).catch(() => {});

  const client = new WebSocketClient(async () => {
    // 4100–4199: wait here, since the policy's delay cannot be chosen per close code.
    if (notBefore > Date.now()) await sleep(notBefore - Date.now());
    return url;
  }, {
    pingInterval: 0, // Pusher's own pusher:ping instead of WebSocket pings
    idleTimeout: activityTimeout + pongTimeout,
    reconnect: {
      initialDelay: 100,
      shouldReconnect(info) {
        const code = info.received?.code ?? 0;
        if (code >= 4000 && code <= 4099) return false;
        if (code >= 4100 && code <= 4199) notBefore = Date.now() + 1000;
        return (code >= 4100 && code <= 4299) || isTransient(info);
      },
    },
    // Runs on every open, before any message is read: (re)subscribe.
    onOpen: async () => {
      await Promise.all(channels.map((channel) => send("pusher:subscribe", { channel })));
    },
  });

  /** After `activity` ms without a message: ping (idleTimeout catches a missing pong). */
  const rearm = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => send("pusher:ping"), activity);
  };
  client.addEventListener("open", rearm);
  client.addEventListener("close", () => clearTimeout(quiet));
  client.addEventListener("reconnect", (e) => {
    clearTimeout(quiet);
    log(`closed ${e.info.code} ${e.info.reason || e.info.error?.code || ""}; reconnecting`);
  });
  client.addEventListener("message", ({ data }) => {
    rearm();
    const message = JSON.parse(String(data));
    const payload = json(message.data);
    switch (message.event) {
      case "pusher:connection_established":
        socketId = payload.socket_id;
        activity = Math.min(activityTimeout, payload.activity_timeout * 1000);
        return log(`connected, socket_id ${socketId}`);
      case "pusher:ping":
        return void send("pusher:pong");
      case "pusher:error":
        return log(`pusher:error ${payload?.code}: ${payload?.message}`);
      case "pusher:pong":
      case "pusher_internal:subscription_succeeded":
        return;
      default:
        if (message.channel) onEvent(message.channel, message.event, payload);
    }
  });

  return {
    client,
    get socketId() {
      return socketId;
    },
    stop: () => client.close(),
  };
}

// Run as a script (the tests import runPusher only).
if (import.meta.main && import.meta.url.endsWith(".ts")) {
  const say = (text: string) => console.error(`${new Date().toISOString()} pusher: ${text}`);
  const { PUSHER_KEY: key, PUSHER_CLUSTER: cluster = "mt1" } = process.env;
  const channels = (process.env.PUSHER_CHANNELS ?? "demo").split(",");
  const local = key ? undefined : await (await import("../tests/_util/feeds/pusher.ts"))
    .startPusherPeer();
  const url = local?.url ??
    `wss://ws-${cluster}.pusher.com/app/${key}?protocol=7&client=rom-websocket&version=0.1.0`;
  const pusher = runPusher({
    url,
    channels,
    onEvent: (channel, event, data) => console.log(channel, event, JSON.stringify(data)),
    log: say,
  });
  await pusher.client.opened;
  if (local) {
    for (let i = 1; i <= 4; i++) {
      await sleep(200);
      local.trigger("demo", "tick", { i });
      if (i === 2) local.kick(4200, "Generic reconnect immediately");
    }
    await sleep(300);
    await pusher.stop();
    await local.close();
  } else {
    process.on("SIGINT", () => void pusher.stop().then(() => process.exit(0)));
  }
}
