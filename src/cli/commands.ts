/**
 * What `rom-ws` does with a line typed at the prompt or given with `-x`: a slash command
 * (`/ping`, `/close`, `/binary`, `/stats`, `/quit`, `/help`), or a text message to send.
 *
 * @module
 */

import type { WebSocketClient } from "../client/mod.ts";
import { type Formatter, type Line, parseHex } from "./format.ts";

/** What a command needs from the session. */
export interface CommandContext {
  readonly client: WebSocketClient;
  readonly formatter: Formatter;
  print(line: Line): void;
  /** Closes the connection from our side (the Close event says Normal); resolves once closed. */
  close(code: number, reason: string): Promise<void>;
}

/** The commands, for `/help`. */
export const COMMANDS_HELP = `/ping [text]            send a ping, print the round-trip time
/close [code] [reason]  close with this code (default 1000) and reason, then exit
/binary HEX             send a binary message ("01 02 ff" or "0102ff")
/stats                  print the connection's counters
/quit                   close (1000) and exit
/help                   this list
//text                  send "/text"`;

/**
 * Runs one line: resolves `"quit"` when the session is over (closed from our side). Failures are
 * printed, never thrown: the prompt goes on.
 */
export async function runLine(line: string, context: CommandContext): Promise<"quit" | void> {
  const { client, formatter, print } = context;
  if (!line.startsWith("/") || line.startsWith("//")) {
    const text = line.startsWith("//") ? line.slice(1) : line;
    try {
      await client.send(text);
    } catch (error) {
      print(formatter.note(`not sent: ${(error as Error).message}`, "error"));
    }
    return;
  }
  const match = /^\/(\S*)\s*([\s\S]*)$/.exec(line)!;
  const name = match[1];
  const rest = match[2];
  switch (name) {
    case "ping": {
      try {
        const rtt = await client.ping(rest === "" ? undefined : rest);
        print(formatter.note(`pong: round trip ${rtt.toFixed(2)} ms`));
      } catch (error) {
        print(formatter.note(`ping failed: ${(error as Error).message}`, "error"));
      }
      return;
    }
    case "close": {
      const parts = /^(\S*)\s*([\s\S]*)$/.exec(rest)!;
      const code = parts[1] === "" ? 1000 : Number(parts[1]);
      if (!Number.isInteger(code)) {
        print(formatter.note(`/close wants a numeric code, got ${parts[1]}`, "error"));
        return;
      }
      try {
        await context.close(code, parts[2]);
      } catch (error) {
        print(formatter.note(`cannot close: ${(error as Error).message}`, "error"));
        return;
      }
      return "quit";
    }
    case "binary": {
      const bytes = parseHex(rest);
      if (bytes === undefined || bytes.length === 0) {
        print(formatter.note(`/binary wants hex bytes, e.g. /binary 01 02 ff`, "error"));
        return;
      }
      try {
        await client.send(bytes);
      } catch (error) {
        print(formatter.note(`not sent: ${(error as Error).message}`, "error"));
      }
      return;
    }
    case "stats": {
      const s = client.stats;
      const since = s.connectedSince === undefined
        ? "not connected"
        : `connected since ${new Date(s.connectedSince).toISOString()}`;
      print(formatter.note(
        `messages in ${s.messagesIn}, out ${s.messagesOut}; ` +
          `bytes in ${s.bytesIn} (wire ${s.wireBytesIn}), out ${s.bytesOut} (wire ${s.wireBytesOut}); ` +
          `reconnects ${s.reconnects}; last rtt ${
            s.lastRtt === undefined ? "-" : `${s.lastRtt.toFixed(2)} ms`
          }; ${since}`,
      ));
      return;
    }
    case "quit":
    case "exit":
      await context.close(1000, "").catch(() => {});
      return "quit";
    case "help":
      print(formatter.note(COMMANDS_HELP));
      return;
    default:
      print(
        formatter.note(
          `unknown command /${name} (/help lists them; //text sends "/text")`,
          "error",
        ),
      );
  }
}
