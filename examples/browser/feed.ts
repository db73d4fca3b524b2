/**
 * The example page's script: a feed shown through `RomWebSocket`, the 1C contract, in a browser.
 * Every external event becomes a line; the badge shows the connection. The feed URL and the
 * `Regex` come from the page's query (`?feed=ws://...&regex=...`); by default the page reads the
 * feed of `serve.ts`, which serves this page, and keeps the events that concern channels.
 *
 * Run: `deno run -A examples/browser/serve.ts` (or `bun examples/browser/serve.ts`), then open
 * the URL it prints.
 */

import {
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  RomWebSocket,
} from "../../src/browser/mod.ts";

const query = new URLSearchParams(location.search);
const feedUrl = query.get("feed") ?? `ws://${location.host}/feed`;
const regex = query.get("regex") ?? '"type":"(StasisStart|ChannelStateChange|StasisEnd)"';

const status = document.getElementById("status")!;
const feed = document.getElementById("feed")!;
document.getElementById("meta")!.textContent = `${feedUrl} · Regex ${regex}`;

function line(text: string, kind: "message" | "connection"): void {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  feed.append(item);
  while (feed.children.length > 40) feed.firstElementChild!.remove();
}

function show(text: string, state: "open" | "closed" | ""): void {
  status.textContent = text;
  status.className = state;
}

const rom = new RomWebSocket({ reconnect: { initialDelay: 500, maxDelay: 5000 } });
rom.Regex = regex;
rom.ВнешнееСобытие = (_source, event, data) => {
  if (event === ROM_MESSAGE_EVENT) return line(data, "message");
  line(`${event} ${data}`, "connection");
  if (event === ROM_OPEN.event) show("Open", "open");
  else if (event === ROM_CLOSE_DROP.event) show("Dropped, reconnecting", "closed");
  else if (event === ROM_CLOSE_NORMAL.event) show("Closed", "closed");
  else if (event === ROM_FAIL.event) show(`Failed: ${rom.LastError}`, "closed");
};
await rom.Подключиться(feedUrl);
