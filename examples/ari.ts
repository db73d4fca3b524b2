/**
 * An Asterisk ARI event consumer on RomWebSocket: prints one line per StasisStart and StasisEnd of
 * a Stasis application, reconnects when Asterisk goes away, and stops cleanly on Ctrl-C.
 *
 * ```sh
 * export ARI_URL=ws://127.0.0.1:8088 ARI_APP=demo ARI_USER=asterisk ARI_PASSWORD=secret
 * deno run -A examples/ari.ts
 * bun examples/ari.ts
 * npx esbuild examples/ari.ts --bundle --platform=node --format=esm --outfile=ari.mjs && node ari.mjs
 * ```
 *
 * Events go to standard output, connection news to standard error. The credentials travel in an
 * `Authorization` header, never in the URL. Exit status: 0 after Ctrl-C (SIGINT) or SIGTERM, 1
 * when Asterisk refuses the credentials or the reconnection gives up, 2 for bad settings.
 *
 * @module
 */

import process from "node:process";
import {
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_OPEN,
  RomWebSocket,
} from "../src/rom/mod.ts";

const env = process.env;
const base = (env.ARI_URL || "ws://127.0.0.1:8088").replace(/^http/, "ws").replace(/\/+$/, "");
const app = env.ARI_APP || "demo";
const user = env.ARI_USER;
const password = env.ARI_PASSWORD;
if (!user || !password) {
  console.error("ari: set ARI_USER and ARI_PASSWORD (and ARI_URL, ARI_APP if not the defaults)");
  process.exit(2);
}
const url = `${base}/ari/events?app=${encodeURIComponent(app)}`;

/** Connection news, with the time, on standard error. */
function note(text: string): void {
  console.error(`${new Date().toISOString()} ari: ${text}`);
}

/** One line per ARI event: time, type, channel id and name, caller, and the Stasis arguments. */
function print(json: string): void {
  const event = JSON.parse(json);
  const channel = event.channel ?? {};
  const caller = channel.caller?.number ? ` caller=${channel.caller.number}` : "";
  const args = event.type === "StasisStart" ? ` args=${JSON.stringify(event.args ?? [])}` : "";
  console.log(
    `${event.timestamp} ${event.type} channel=${channel.id} name=${channel.name}${caller}${args}`,
  );
}

const rom = new RomWebSocket({ reconnect: true });
rom.Regex = '"type":"Stasis(Start|End)"';
rom.SetHeader("Authorization", `Basic ${btoa(`${user}:${password}`)}`);

let stopping = false;
/** The client gave up (it is closed for good) although nobody asked it to stop. */
const gaveUp = () => !stopping && rom.client?.readyState === 3;

rom.onExternalEvent = (_source, event, data) => {
  switch (event) {
    case ROM_OPEN.event:
      note(`connected to ${url}`);
      break;
    case ROM_CLOSE_NORMAL.event:
      note("disconnected");
      break;
    case ROM_CLOSE_DROP.event:
    case ROM_FAIL.event: {
      const what = event === ROM_FAIL.event ? "cannot connect" : "connection lost";
      if (gaveUp()) {
        note(`${what}: ${rom.LastError || "closed by the server"}; giving up`);
        process.exit(1);
      }
      if (!stopping) note(`${what}: ${rom.LastError || "closed by the server"}; retrying`);
      break;
    }
    default:
      print(data);
  }
};

async function stop(signal: string): Promise<void> {
  if (stopping) process.exit(130); // a second Ctrl-C: do not wait any longer
  stopping = true;
  note(`${signal}: stopping`);
  await rom.Disconnect(); // closes the connection, or stops a pending reconnection
  await rom.client?.closed;
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

note(`listening to Stasis application "${app}" at ${base}`);
if (!(await rom.Connect(url))) {
  note(`invalid ARI_URL ${JSON.stringify(env.ARI_URL)}: ${rom.LastError}`);
  process.exit(2);
}
