/**
 * An Asterisk ARI feed that lives through Asterisk restarts, on `WebSocketClient`: it reconnects,
 * subscribes again and rebuilds its state in `onOpen` (awaited before any event of the new
 * connection is delivered), and reports each outage: ARI does not replay events, so whatever
 * happened between the last event received and the reconnection is lost and must be read back.
 *
 * ```sh
 * export ARI_URL=http://127.0.0.1:8088 ARI_APP=demo ARI_USER=asterisk ARI_PASSWORD=secret
 * export ARI_SUBSCRIBE=endpoint:PJSIP,bridge:conference   # optional extra event sources
 * deno run -A examples/ari_feed.ts
 * bun examples/ari_feed.ts
 * ```
 *
 * Events go to standard output, connection news and outage reports to standard error; the
 * credentials travel in an `Authorization` header. Ctrl-C (SIGINT) or SIGTERM stop it (status 0).
 *
 * @module
 */

import process from "node:process";
import { type OpenInfo, type Outage, WebSocketClient } from "../mod.ts";

const env = process.env;
const base = (env.ARI_URL || "http://127.0.0.1:8088").replace(/^ws/, "http").replace(/\/+$/, "");
const app = env.ARI_APP || "demo";
const sources = (env.ARI_SUBSCRIBE ?? "").split(",").map((s) => s.trim()).filter(Boolean);
if (!env.ARI_USER || !env.ARI_PASSWORD) {
  console.error("ari_feed: set ARI_USER and ARI_PASSWORD (and ARI_URL, ARI_APP, ARI_SUBSCRIBE)");
  process.exit(2);
}
const authorization = `Basic ${btoa(`${env.ARI_USER}:${env.ARI_PASSWORD}`)}`;

const note = (text: string) => console.error(`${new Date().toISOString()} ari_feed: ${text}`);
const time = (ms: number | undefined) => ms === undefined ? "(none)" : new Date(ms).toISOString();

/** Calls the ARI REST API (`path` relative to /ari). */
async function ari(method: string, path: string): Promise<unknown> {
  const res = await fetch(`${base}/ari${path}`, { method, headers: { authorization } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /ari${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

interface Channel {
  id: string;
  name: string;
  state: string;
}

/** The application's state: the channels of the app, kept up to date by the events. */
const channels = new Map<string, Channel>();

/** Reads the state back from Asterisk: what the events would have told, had none been missed. */
async function resync(): Promise<void> {
  const all = await ari("GET", "/channels") as Channel[];
  const subscribed = await ari("GET", `/applications/${app}`) as { channel_ids: string[] };
  channels.clear();
  for (const c of all) if (subscribed.channel_ids.includes(c.id)) channels.set(c.id, c);
  note(`resynced: ${channels.size} channel(s) in ${app} ${[...channels.keys()].join(" ")}`);
}

/** What was lost: every event Asterisk sent between the last one received and the reconnection. */
function report(outage: Outage): void {
  const cause = outage.cause.error?.message ?? `close code ${outage.cause.code}`;
  note(
    `outage: lost at ${time(outage.lostAt)} (${cause}), restored at ${time(outage.restoredAt)} ` +
      `after ${outage.attempts} attempt(s), ${outage.restoredAt - outage.lostAt} ms down; ` +
      `events from ${time(outage.lastMessageAt)} to ${time(outage.restoredAt)} may be missing`,
  );
}

/** Every open: subscribe (a restarted Asterisk forgot the subscriptions), then resync. */
async function onOpen(_client: WebSocketClient, info: OpenInfo): Promise<void> {
  note(`connected to ${info.url}${info.outage ? " again" : ""}`);
  if (info.outage) report(info.outage);
  for (const source of sources) {
    const query = new URLSearchParams({ eventSource: source });
    await ari("POST", `/applications/${app}/subscription?${query}`);
    note(`subscribed to ${source}`);
  }
  await resync(); // events of this connection wait until it is done: none is applied too early
}

const client = new WebSocketClient(
  `${base.replace(/^http/, "ws")}/ari/events?app=${encodeURIComponent(app)}`,
  { headers: { Authorization: authorization }, reconnect: { maxDelay: 5000 }, onOpen },
);
client.addEventListener("message", ({ data }) => {
  const event = JSON.parse(data as string);
  const channel: Channel | undefined = event.channel;
  if (channel && (event.type === "StasisStart" || channels.has(channel.id))) {
    if (event.type === "StasisEnd" || event.type === "ChannelDestroyed") {
      channels.delete(channel.id);
    } else channels.set(channel.id, channel);
  }
  const about = channel ? ` channel=${channel.id} name=${channel.name}` : "";
  console.log(`${event.timestamp} ${event.type}${about} (${channels.size} channel(s))`);
});
client.addEventListener("error", ({ error }) => note(`error: ${error.message}`));
client.addEventListener("reconnect", ({ info, wasOpen, attempt, delay }) => {
  const why = wasOpen ? "connection lost" : info.error?.message ?? `close code ${info.code}`;
  note(`${why}; attempt ${attempt} in ${delay} ms`);
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    note(`${signal}: stopping`);
    void client.close(); // also ends a wait between attempts
  });
}
note(`feed of Stasis application "${app}" at ${base}`);
const end = await client.closed; // resolves once, when it is over for good
note(`closed: ${end.error?.message ?? `code ${end.code}`}`);
process.exit(stopping ? 0 : 1);
