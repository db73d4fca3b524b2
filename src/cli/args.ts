/**
 * The `rom-ws` command line: its options, their checks, the usage text (`--help`), and the client
 * options they make. Pure: the files named by `--ca`, `--cert` and `--key` are read through the
 * function `main.ts` passes.
 *
 * @module
 */

import type { TlsOptions } from "../adapters/socket.ts";
import type { ClientOptions } from "../client/mod.ts";
import { base64 } from "../core/bytes.ts";

/** The output formats of `--format`. */
export type Format = "rom" | "plain" | "json" | "pretty";

const FORMATS: readonly Format[] = ["rom", "plain", "json", "pretty"];

/** What the command line asks for. */
export interface CliArgs {
  /** The server; undefined starts the embedded echo server (the demo). */
  url?: string;
  /** `-x`: messages (or slash commands) to run once connected, then exit. */
  execute: string[];
  /** `--wait`: seconds to wait for answers after the last `-x` message (or the end of input). */
  wait: number | undefined;
  headers: Array<[string, string]>;
  protocols: string[];
  /** `--auth user:pass`, as given. */
  auth?: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure: boolean;
  /** A URL, `false` for `--no-proxy`, undefined for the default. */
  proxy?: string | false;
  compression: boolean;
  reconnect: boolean;
  showPingPong: boolean;
  regex?: string;
  /** `--timeout`: seconds to wait for the connection. */
  timeout: number;
  format: Format;
  listen: boolean;
  /** `--no-color`; colours are also off off a terminal and with `NO_COLOR`. */
  color: boolean;
}

/** A command line that cannot be run: exit status 2, with this message and the usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `--help`. */
export const USAGE = `usage: rom-ws [url] [options]

Connects to a WebSocket server and prints what arrives. On a terminal it is interactive: type a
line to send it, or a slash command. Otherwise each line of standard input is sent as a text
message, and the end of the input closes the connection. Without a url, it starts an embedded echo
server and sends "Привет мир!" to it.

options:
  -x, --execute MSG    once connected, send MSG (or run a slash command), then wait and exit;
                       repeatable, in order
  -w, --wait S         seconds to wait for answers after the last -x message (default 2) or
                       after the end of standard input (default 0)
  -H, --header "K: V"  add a request header (repeatable)
  -p, --protocol P     offer a subprotocol (repeatable)
      --auth USER:PASS send "Authorization: Basic ..." with these credentials
      --ca FILE        trust the CA certificates in this PEM file (wss://)
      --cert FILE      client certificate chain (PEM), with --key, for mutual TLS
      --key FILE       client private key (PEM)
  -k, --insecure       do not verify the server's certificate (unsafe)
      --proxy URL      tunnel through this proxy (http://, https://, socks5://, socks5h://)
      --no-proxy       use no proxy, whatever the environment says
      --no-compression do not offer permessage-deflate
      --reconnect      reconnect after a drop (with backoff) until closed
      --show-ping-pong print the pings and pongs that arrive
      --regex R        print only the text messages that match this PCRE pattern
      --timeout S      seconds to wait for the connection (default 10)
      --format F       rom (default): the ROM-WebSocket event strings, on stdout;
                       plain: message texts on stdout, the rest on stderr;
                       json: one JSON object per event, on stdout;
                       pretty: like plain, JSON messages indented, events in words
      --no-listen      print no events (send only)
      --no-color       no colours (they are used only on a terminal, and never with NO_COLOR)
  -h, --help           this text
  -V, --version        the library version

slash commands (interactive, and in -x):
  /ping [text]         send a ping and print the round-trip time
  /close [code] [reason]  close with this code (default 1000) and reason, then exit
  /binary HEX          send a binary message ("01 02 ff" or "0102ff")
  /stats               print the connection's counters
  /quit                close (1000) and exit; so do Ctrl-D and Ctrl-C
  /help                list the commands
  //text               send "/text"

Ctrl-C (SIGINT) closes the connection (1000) and exits like /quit; a second one, or one while
connecting, exits at once.

exit status:
  0    the connection was closed by rom-ws (end of input, -x done, /close, /quit, Ctrl-D,
       Ctrl-C), or --help, --version
  1    the connection could not be opened (bad URL, refused, DNS, TLS, handshake, timeout), or
       the server closed or dropped it
  2    bad usage: unknown option, missing or bad value, unreadable --ca/--cert/--key file,
       a --regex that cannot be translated
  130  interrupted while connecting, or a second Ctrl-C`;

/** Parses `argv` (without the runtime and script). @throws {UsageError} for bad usage. */
export function parseArgs(argv: readonly string[]): CliArgs | "help" | "version" {
  const args: CliArgs = {
    execute: [],
    wait: undefined,
    headers: [],
    protocols: [],
    insecure: false,
    compression: true,
    reconnect: false,
    showPingPong: false,
    timeout: 10,
    format: "rom",
    listen: true,
    color: true,
  };
  let proxySet = false;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    if (eq > 2) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const seconds = (name: string, allowZero: boolean): number => {
      const text = value();
      const s = Number(text);
      if (text.trim() === "" || !Number.isFinite(s) || s < 0 || (!allowZero && s === 0)) {
        throw new UsageError(`${name} wants a number of seconds ${allowZero ? ">= 0" : "> 0"}`);
      }
      return s;
    };
    switch (a) {
      case "--help":
      case "-h":
        return "help";
      case "--version":
      case "-V":
        return "version";
      case "--execute":
      case "-x":
        args.execute.push(value());
        break;
      case "--wait":
      case "-w":
        args.wait = seconds("--wait", true);
        break;
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
      case "-p":
        args.protocols.push(value());
        break;
      case "--auth": {
        const auth = value();
        if (!auth.includes(":")) throw new UsageError(`--auth wants "user:password"`);
        args.auth = auth;
        break;
      }
      case "--ca":
        args.ca = value();
        break;
      case "--cert":
        args.cert = value();
        break;
      case "--key":
        args.key = value();
        break;
      case "--insecure":
      case "-k":
        args.insecure = true;
        break;
      case "--proxy":
        if (proxySet) throw new UsageError("one of --proxy and --no-proxy, once");
        proxySet = true;
        args.proxy = value();
        break;
      case "--no-proxy":
        if (proxySet) throw new UsageError("one of --proxy and --no-proxy, once");
        proxySet = true;
        args.proxy = false;
        break;
      case "--no-compression":
        args.compression = false;
        break;
      case "--reconnect":
        args.reconnect = true;
        break;
      case "--show-ping-pong":
        args.showPingPong = true;
        break;
      case "--regex":
        args.regex = value();
        break;
      case "--timeout":
        args.timeout = seconds("--timeout", false);
        break;
      case "--format": {
        const f = value() as Format;
        if (!FORMATS.includes(f)) throw new UsageError("--format is rom, plain, json or pretty");
        args.format = f;
        break;
      }
      case "--no-listen":
        args.listen = false;
        break;
      case "--no-color":
        args.color = false;
        break;
      default:
        if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
        if (args.url !== undefined) throw new UsageError("only one url");
        args.url = a;
    }
    if (inline !== undefined && !TAKES_VALUE.has(a)) {
      throw new UsageError(`${a} takes no value`);
    }
  }
  if ((args.cert === undefined) !== (args.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  return args;
}

const TAKES_VALUE = new Set([
  "--execute",
  "--wait",
  "--header",
  "--protocol",
  "--auth",
  "--ca",
  "--cert",
  "--key",
  "--proxy",
  "--regex",
  "--timeout",
  "--format",
]);

/** Reads a file named on the command line (`--ca`, `--cert`, `--key`) as text. */
export type ReadFile = (path: string) => string;

/**
 * The client options the command line asks for. Files are read with `readFile`.
 *
 * @throws {UsageError} a file that cannot be read.
 */
export function toClientOptions(args: CliArgs, readFile: ReadFile): ClientOptions {
  const read = (flag: string, path: string) => {
    try {
      return readFile(path);
    } catch (error) {
      throw new UsageError(`cannot read the ${flag} file ${path}: ${(error as Error).message}`);
    }
  };
  const headers: Array<[string, string]> = [...args.headers];
  if (args.auth !== undefined) {
    headers.push(["Authorization", `Basic ${base64(new TextEncoder().encode(args.auth))}`]);
  }
  const options: ClientOptions = {
    headers,
    protocols: args.protocols,
    openTimeout: Math.round(args.timeout * 1000),
    compression: args.compression,
    reconnect: args.reconnect,
  };
  const tls: TlsOptions = {};
  if (args.ca !== undefined) tls.ca = read("--ca", args.ca);
  if (args.cert !== undefined) tls.cert = read("--cert", args.cert);
  if (args.key !== undefined) tls.key = read("--key", args.key);
  if (args.insecure) tls.rejectUnauthorized = false;
  if (Object.keys(tls).length > 0) options.tls = tls;
  // A URL, or `false`: no proxy, whatever the environment says (without either, the client reads
  // the proxy environment variables).
  if (args.proxy !== undefined) options.proxy = args.proxy;
  return options;
}
