/**
 * The `rom-ws` command line: `main()` and `runCli()`. The executable is `bin.ts`, which runs it;
 * `args.ts` parses the options (and holds `--help`), `format.ts` prints the events,
 * `line_editor.ts` is the interactive prompt, `commands.ts` the slash commands.
 *
 * One session: connect, then take input from one source (the `-x` messages, the prompt when
 * standard input is a terminal, or the lines of standard input), until rom-ws closes the
 * connection or the server or the network ends it. The events are printed in the ROM-WebSocket
 * strings (`--format rom`, the default) or another format. Exit status: 0 when rom-ws closed the
 * connection, 1 when it could not be opened or the server or the network ended it, 2 for bad
 * usage (the usage text lists them).
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { WebSocketClient } from "../client/mod.ts";
import type { CloseInfo, WebSocketError } from "../core/errors.ts";
import { compilePcre } from "../rom/pcre.ts";
import { VERSION } from "../version.ts";
import { type CliArgs, parseArgs, toClientOptions, USAGE, UsageError } from "./args.ts";
import { runLine } from "./commands.ts";
import { startEchoServer } from "./echo_server.ts";
import { Formatter, type Line, palette } from "./format.ts";
import { Prompt } from "./line_editor.ts";

/** Seconds `-x` waits for answers after its last message, unless `--wait` says otherwise. */
const EXECUTE_WAIT = 2;

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  let args: CliArgs | "help" | "version";
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(error.message);
  }
  if (args === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (args === "version") {
    process.stdout.write(VERSION + "\n");
    return 0;
  }
  let regex: RegExp | undefined;
  let options;
  try {
    regex = args.regex ? compilePcre(args.regex) : undefined;
    options = toClientOptions(args, (path) => readFileSync(path, "utf8"));
  } catch (error) {
    process.stderr.write(`rom-ws: ${(error as Error).message}\n`);
    return 2;
  }
  const server = args.url === undefined ? await startEchoServer() : undefined;
  try {
    return await session(args, options, regex, server?.url);
  } finally {
    await server?.close();
  }
}

function usageError(message: string): number {
  process.stderr.write(`rom-ws: ${message}\n\n${USAGE}\n`);
  return 2;
}

type Options = ReturnType<typeof toClientOptions>;

/** One connection, from the attempt to the end; resolves with the exit status. */
async function session(
  args: CliArgs,
  options: Options,
  regex: RegExp | undefined,
  demoUrl: string | undefined,
): Promise<number> {
  const { stdin, stdout, stderr, env } = process;
  const url = args.url ?? demoUrl!;
  const interactive = args.url !== undefined && args.execute.length === 0 &&
    stdin.isTTY === true && stdout.isTTY === true;
  const formatter = new Formatter(
    args.format,
    palette(args.color, stdout.isTTY === true, env.NO_COLOR),
    palette(args.color, stderr.isTTY === true, env.NO_COLOR),
  );
  let prompt: Prompt | undefined;
  const print = (line: Line) => {
    const stream = line.stream === "out" ? stdout : stderr;
    if (prompt) prompt.print(stream, line.text);
    else stream.write(line.text + "\n");
  };
  const show = (line: Line) => {
    if (args.listen) print(line);
  };

  let client: WebSocketClient;
  try {
    client = new WebSocketClient(url, options);
  } catch (error) {
    show(formatter.fail((error as Error).message));
    stderr.write(`rom-ws: cannot connect to ${url}: ${(error as Error).message}\n`);
    return 1;
  }

  let closedByUs = false;
  let lastError: WebSocketError | undefined;
  let received = 0;
  client.addEventListener("error", (event) => (lastError = event.error));
  client.addEventListener("open", () => {
    show(
      formatter.open({ url: client.url, protocol: client.protocol, extensions: client.extensions }),
    );
  });
  client.addEventListener("message", (event) => {
    received++;
    if (regex && typeof event.data === "string" && !regex.test(event.data)) return;
    show(formatter.message(event.data));
  });
  if (args.showPingPong) {
    client.addEventListener("ping", (event) => show(formatter.control("ping", event.data)));
    client.addEventListener("pong", (event) => show(formatter.control("pong", event.data)));
  }
  client.addEventListener("reconnect", (event) => {
    const why = event.info.error?.message ?? describeClose(event.info);
    show(
      event.wasOpen
        ? formatter.closed(false, event.info.code, event.info.reason, why)
        : formatter.fail(why),
    );
    print(formatter.note(`reconnecting in ${event.delay} ms (attempt ${event.attempt})`, "warn"));
  });
  const ended = new Promise<CloseInfo>((resolve) => {
    client.addEventListener("close", (event) => {
      show(formatter.closed(closedByUs, event.code, event.reason, event.error?.message ?? ""));
      resolve(event);
    });
  });

  try {
    await client.opened;
  } catch (error) {
    const why = (error as Error).message;
    show(formatter.fail(why));
    stderr.write(`rom-ws: cannot connect to ${url}: ${why}\n`);
    return 1;
  }

  const close = async (code: number, reason: string): Promise<void> => {
    closedByUs = true;
    try {
      await client.close(code, reason);
    } catch (error) {
      closedByUs = false; // refused (a bad code or reason): still open
      throw error;
    }
  };
  const context = { client, formatter, print, close };
  const input = args.execute.length > 0 || demoUrl !== undefined
    ? execute(args, demoUrl !== undefined, context, () => received)
    : interactive
    ? interact(context, (p) => (prompt = p))
    : pipe(args, context);
  const finished = await Promise.race([input.then(() => "input" as const), ended]);
  if (finished === "input" && !closedByUs && client.readyState !== WebSocketClient.CLOSED) {
    await close(1000, "").catch(() => {});
  }
  const info = await ended;
  prompt?.close();
  prompt = undefined;
  if (!closedByUs) {
    const why = info.error?.message ?? lastError?.message ?? describeClose(info);
    stderr.write(`rom-ws: connection ${info.error ? "dropped" : "closed by the server"}: ${why}\n`);
    return 1;
  }
  return 0;
}

function describeClose(info: CloseInfo): string {
  return `code ${info.code}${info.reason ? ` ${JSON.stringify(info.reason)}` : ""}`;
}

type Context = Parameters<typeof runLine>[1];

/** `-x` (and the demo): runs each message in order, then waits for answers. */
async function execute(
  args: CliArgs,
  demo: boolean,
  context: Context,
  received: () => number,
): Promise<void> {
  const messages = demo ? ["Привет мир!"] : args.execute;
  for (const message of messages) {
    if (await runLine(message, context) === "quit") return;
  }
  if (demo) {
    // The demo waits for its echo (bounded), so that it shows before the close.
    const deadline = Date.now() + args.timeout * 1000;
    while (received() < 1 && context.client.readyState === WebSocketClient.OPEN) {
      if (Date.now() > deadline) break;
      await sleep(5);
    }
    return;
  }
  await sleep((args.wait ?? EXECUTE_WAIT) * 1000);
}

/** Standard input is a terminal: the prompt, until /quit, /close, Ctrl-D or Ctrl-C. */
function interact(context: Context, started: (prompt: Prompt) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let busy: Promise<unknown> = Promise.resolve();
    const prompt = new Prompt(process.stdin, process.stdout, {
      onLine: (line) => {
        if (line === "") return;
        // One line at a time, in order (a /ping waits for its pong before the next line runs).
        busy = busy.then(() => runLine(line, context)).then((outcome) => {
          if (outcome === "quit") resolve();
        });
      },
      onEnd: () => busy.then(() => resolve()),
    });
    started(prompt);
  });
}

/** Standard input is not a terminal: each line is sent as a text message, as it is. */
async function pipe(args: CliArgs, context: Context): Promise<void> {
  const { client, formatter, print } = context;
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) {
      if (client.readyState === WebSocketClient.CLOSED) break;
      try {
        await client.send(line);
      } catch (error) {
        print(formatter.note(`not sent: ${(error as Error).message}`, "error"));
      }
    }
  } catch {
    // no readable standard input: nothing to send
  } finally {
    lines.close();
  }
  if (args.wait) await sleep(args.wait * 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the CLI with `argv` and exits the process with its status. */
export function runCli(argv: string[]): void {
  main(argv).then((code) => process.exit(code), (error) => {
    process.stderr.write(`rom-ws: ${error?.message ?? error}\n`);
    process.exit(1);
  });
}
