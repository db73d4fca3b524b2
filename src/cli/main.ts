/**
 * The `rom-ws` command line, built on {@linkcode RomWebSocket}: `main()` and `runCli()`. The
 * executable is `bin.ts`, which runs it.
 *
 * ```
 * rom-ws [url] [--header K:V]... [--protocol P]... [--regex R] [--timeout S]
 *        [--format rom|plain|json] [--no-listen]
 * ```
 *
 * It prints the events (the ROM strings with `--format rom`), sends each line of standard input as
 * a text message, and disconnects at the end of the input. With no URL it starts an embedded echo
 * server on a free loopback port, connects to it and sends "Привет мир!".
 *
 * Exit status: 0 after a clean close, 1 when the connection failed or dropped, 2 for bad usage.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { ROM_CLOSE_DROP, ROM_CLOSE_NORMAL, ROM_FAIL, ROM_OPEN, RomWebSocket } from "../rom/mod.ts";
import { VERSION } from "../version.ts";
import { startEchoServer } from "./echo_server.ts";

const USAGE = `usage: rom-ws [url] [options]

Connects to a WebSocket server, prints its events and sends each input line as a message.
Without a url, starts an embedded echo server and sends "Привет мир!" to it.

options:
  --header K:V        add a request header (repeatable), e.g. --header "Authorization: Basic ..."
  --protocol P        offer a subprotocol (repeatable)
  --regex R           deliver only messages matching this PCRE pattern
  --timeout S         seconds to wait for the connection (default 10)
  --format F          rom (default): the ROM-WebSocket event strings; plain: messages only;
                      json: one JSON object per event
  --no-listen         raise no events (send only)
  --help, --version`;

interface Args {
  url?: string;
  headers: Array<[string, string]>;
  protocols: string[];
  regex?: string;
  timeout: number;
  format: "rom" | "plain" | "json";
  listen: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args | "help" | "version" {
  const args: Args = { headers: [], protocols: [], timeout: 10, format: "rom", listen: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--help":
      case "-h":
        return "help";
      case "--version":
        return "version";
      case "--header":
      case "-H": {
        const h = value();
        const colon = h.indexOf(":");
        if (colon <= 0) {
          throw new UsageError(`--header wants "Name: value", got ${JSON.stringify(h)}`);
        }
        args.headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
        break;
      }
      case "--protocol":
        args.protocols.push(value());
        break;
      case "--regex":
        args.regex = value();
        break;
      case "--timeout": {
        const t = Number(value());
        if (!Number.isFinite(t) || t <= 0) {
          throw new UsageError("--timeout wants a number of seconds > 0");
        }
        args.timeout = t;
        break;
      }
      case "--format": {
        const f = value();
        if (f !== "rom" && f !== "plain" && f !== "json") {
          throw new UsageError("--format is rom, plain or json");
        }
        args.format = f;
        break;
      }
      case "--no-listen":
        args.listen = false;
        break;
      default:
        if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
        if (args.url !== undefined) throw new UsageError("only one url");
        args.url = a;
    }
  }
  return args;
}

function printer(format: Args["format"]): (source: string, event: string, data: string) => void {
  switch (format) {
    case "plain":
      return (_source, event, data) => {
        if (event.startsWith('{"Event": "Message"')) console.log(data);
        else console.error(event);
      };
    case "json":
      return (source, event, data) =>
        console.log(JSON.stringify({ source, event: JSON.parse(event), data }));
    default:
      return (source, event, data) => console.log(`${source} ${event} ${data}`);
  }
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  let args: Args | "help" | "version";
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`rom-ws: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  if (args === "version") {
    console.log(VERSION);
    return 0;
  }

  const demo = args.url === undefined;
  const server = demo ? await startEchoServer() : undefined;
  const url = args.url ?? server!.url;
  const rom = new RomWebSocket({ headers: args.headers, protocols: args.protocols });
  const print = printer(args.format);
  let outcome: "open" | "fail" | "normal" | "drop" | undefined;
  let received = 0;
  const done = new Promise<void>((resolve) => {
    rom.onExternalEvent = (source, event, data) => {
      if (event === ROM_OPEN.event) outcome = "open";
      else if (event === ROM_FAIL.event) outcome = "fail";
      else if (event === ROM_CLOSE_NORMAL.event) outcome = "normal";
      else if (event === ROM_CLOSE_DROP.event) outcome = "drop";
      else received++;
      if (args.listen) print(source, event, data);
      if (outcome === "fail" || outcome === "normal" || outcome === "drop") resolve();
    };
  });
  try {
    rom.Regex = args.regex ?? "";
  } catch (error) {
    console.error(`rom-ws: ${(error as Error).message}`);
    await server?.close();
    return 2;
  }
  rom.Timeout = args.timeout;
  // Events drive the output; Listen=false only silences them (the connection still reports).
  const connected = await rom.Connect(url);
  if (!connected) {
    await done;
    console.error(`rom-ws: cannot connect to ${url}: ${rom.LastError || "failed"}`);
    await server?.close();
    return /Invalid URL|unsupported URL scheme|no host|fragment/i.test(rom.LastError) ? 2 : 1;
  }

  let sent = 0;
  const send = async (line: string) => {
    if (await rom.Send(line)) sent++;
  };
  if (demo) await send("Привет мир!");
  const lines = createInterface({ input: process.stdin, terminal: false });
  const reading = (async () => {
    for await (const line of lines) {
      if (!rom.Connected) break;
      await send(line);
    }
  })().catch(() => {}); // no readable stdin: nothing to send
  await Promise.race([reading, done]);
  lines.close();
  if (demo) {
    // Wait for the echoes of what was sent (bounded), so the demo shows them before closing.
    const deadline = Date.now() + args.timeout * 1000;
    while (received < sent && rom.Connected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  if (rom.Connected) await rom.Disconnect();
  await done;
  await server?.close();
  if (outcome === "drop") {
    console.error(`rom-ws: connection dropped${rom.LastError ? `: ${rom.LastError}` : ""}`);
    return 1;
  }
  return 0;
}

/** Runs the CLI with `argv` and exits the process with its status. */
export function runCli(argv: string[]): void {
  main(argv).then((code) => process.exit(code), (error) => {
    console.error(`rom-ws: ${error?.message ?? error}`);
    process.exit(1);
  });
}
