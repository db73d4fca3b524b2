/**
 * How `rom-ws` prints what happens, per `--format`: each event becomes one line for standard
 * output or standard error. `rom` and `json` print the ROM-WebSocket event strings exactly (and are
 * never coloured); `plain` prints message texts alone; `pretty` is for people: JSON messages
 * indented, connection events in words, colours on a terminal.
 *
 * @module
 */

import { base64 } from "../core/bytes.ts";
import {
  ROM_BINARY_MESSAGE_EVENT,
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  ROM_SOURCE,
  type RomEvent,
} from "../rom/contract.ts";
import type { Format } from "./args.ts";

/** One line to print, and where. */
export interface Line {
  readonly stream: "out" | "err";
  readonly text: string;
}

/** `event` strings of pings and pongs with `--show-ping-pong` (a CLI extension of the contract). */
export const PING_EVENT = '{"Event": "Ping"}';
/** See {@linkcode PING_EVENT}. */
export const PONG_EVENT = '{"Event": "Pong"}';

/** ANSI colours, or none. */
export interface Palette {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
}

const plainPalette: Palette = {
  green: (t) => t,
  red: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
  dim: (t) => t,
};

const sgr = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const ansiPalette: Palette = {
  green: sgr(32),
  red: sgr(31),
  yellow: sgr(33),
  cyan: sgr(36),
  dim: sgr(2),
};

/**
 * Colours when asked for, on a terminal, and without `NO_COLOR` (https://no-color.org: any
 * non-empty value turns them off).
 */
export function palette(
  wanted: boolean,
  isTerminal: boolean,
  noColor: string | undefined,
): Palette {
  return wanted && isTerminal && !noColor ? ansiPalette : plainPalette;
}

/** Bytes as hex pairs: `01 02 ff`. */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    s += (i > 0 ? " " : "") + bytes[i].toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * Parses hex bytes (`01 02 ff`, `0102ff`, `0x01,0x02`); undefined when it is not hex. Separators
 * between bytes may be spaces, commas or colons.
 */
export function parseHex(text: string): Uint8Array | undefined {
  const digits = text.replace(/0x/gi, "").replace(/[\s,:]+/g, "");
  if (digits.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(digits)) return undefined;
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** What `pretty` says about the open connection. */
export interface OpenDetails {
  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
}

/** Turns events into lines for one `--format`. */
export class Formatter {
  readonly #format: Format;
  /** Colours of what goes to standard output (`out`) and to standard error (`#paint`). */
  readonly #out: Palette;
  readonly #paint: Palette;

  /** `out`, `err`: the colours of each stream (see {@linkcode palette}). */
  constructor(format: Format, out: Palette, err: Palette) {
    this.#format = format;
    // rom and json are read by programs: exactly the strings, never escape codes.
    const machine = format === "rom" || format === "json";
    this.#out = machine ? plainPalette : out;
    this.#paint = err;
  }

  #rom(event: RomEvent, stream: "out" | "err" = "out"): Line {
    switch (this.#format) {
      case "rom":
        return { stream, text: `${ROM_SOURCE} ${event.event} ${event.data}` };
      case "json":
        return {
          stream,
          text: JSON.stringify({
            source: ROM_SOURCE,
            event: JSON.parse(event.event),
            data: event.data,
          }),
        };
      default:
        return { stream: "err", text: event.event };
    }
  }

  /** The connection opened. */
  open(details: OpenDetails): Line {
    if (this.#format !== "pretty") return this.#rom(ROM_OPEN);
    const extras = [
      details.protocol && `subprotocol ${details.protocol}`,
      details.extensions && details.extensions,
    ].filter(Boolean).join(", ");
    return {
      stream: "err",
      text: this.#paint.green(`connected to ${details.url}${extras ? ` (${extras})` : ""}`),
    };
  }

  /** The connection could not be opened (`why` for pretty). */
  fail(why: string): Line {
    if (this.#format !== "pretty") return this.#rom(ROM_FAIL);
    return { stream: "err", text: this.#paint.red(`could not connect: ${why}`) };
  }

  /** The connection ended: closed by us (`byUs`), or by the server or the network. */
  closed(byUs: boolean, code: number, reason: string, why: string): Line {
    if (this.#format !== "pretty") return this.#rom(byUs ? ROM_CLOSE_NORMAL : ROM_CLOSE_DROP);
    const how = `${code}${reason ? ` ${JSON.stringify(reason)}` : ""}`;
    if (byUs) return { stream: "err", text: this.#paint.green(`closed (${how})`) };
    return {
      stream: "err",
      text: this.#paint.red(`closed by the server or the network (${how})${why ? `: ${why}` : ""}`),
    };
  }

  /** A message arrived. */
  message(data: string | Uint8Array): Line {
    const binary = typeof data !== "string";
    switch (this.#format) {
      case "rom":
      case "json":
        return this.#rom({
          event: binary ? ROM_BINARY_MESSAGE_EVENT : ROM_MESSAGE_EVENT,
          data: binary ? base64(data) : data,
        });
      case "plain":
        return { stream: "out", text: binary ? hex(data) : data };
      default:
        return {
          stream: "out",
          text: binary
            ? this.#out.cyan(`< [binary, ${data.length} bytes] `) + hex(data)
            : this.#out.cyan("< ") + indentJson(data),
        };
    }
  }

  /** A ping or a pong arrived (`--show-ping-pong`). */
  control(kind: "ping" | "pong", data: Uint8Array): Line {
    if (this.#format === "rom" || this.#format === "json") {
      return this.#rom({ event: kind === "ping" ? PING_EVENT : PONG_EVENT, data: hex(data) });
    }
    return { stream: "err", text: this.#paint.dim(`${kind}${data.length ? ` ${hex(data)}` : ""}`) };
  }

  /** A note for the person at the terminal (command results, reconnections): standard error. */
  note(text: string, tone: "info" | "warn" | "error" = "info"): Line {
    const p = this.#paint;
    return {
      stream: "err",
      text: tone === "error" ? p.red(text) : tone === "warn" ? p.yellow(text) : text,
    };
  }
}

/** A text that is a JSON object or array, indented by two spaces; any other text as it is. */
export function indentJson(text: string): string {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
