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
 * usage, 130 when interrupted while connecting (the usage text lists them).
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { type ClientOptions, WebSocketClient } from "../client/mod.ts";
import type { CloseInfo, WebSocketError } from "../core/errors.ts";
import { compilePcre } from "../rom/pcre.ts";
import { VERSION } from "../version.ts";
import { type CliArgs, parseArgs, toClientOptions, USAGE, UsageError } from "./args.ts";
import { type CommandContext, runLine } from "./commands.ts";
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
  let options: ClientOptions;
  try {
    regex = args.regex ? compilePcre(args.regex) : undefined;
    options = toClientOptions(args, (path) => readFileSync(path, "utf8"));
  } catch (error) {
    process.stderr.write(`rom-ws: ${(error as Error).message}\n`);
    return 2;
  }
  const server = args.url === undefined ? await startEchoServer() : undefined;
  try {
    return await new Session(args, { options, regex, demoUrl: server?.url }).run();
  } finally {
    await server?.close();
  }
}

function usageError(message: string): number {
  process.stderr.write(`rom-ws: ${message}\n\n${USAGE}\n`);
  return 2;
}

/** One connection, from the attempt to the end: `run()` resolves with the exit status. */
class Session {
  readonly #args: CliArgs;
  readonly #options: ClientOptions;
  readonly #regex: RegExp | undefined;
  readonly #url: string;
  /** No url was given: the embedded echo server. */
  readonly #demo: boolean;
  readonly #interactive: boolean;
  readonly #formatter: Formatter;
  #prompt: Prompt | undefined;
  /** rom-ws closed the connection (the Close event says Normal, the exit status is 0). */
  #closedByUs = false;
  #lastError: WebSocketError | undefined;
  #received = 0;

  constructor(
    args: CliArgs,
    setup: { options: ClientOptions; regex: RegExp | undefined; demoUrl: string | undefined },
  ) {
    const { stdin, stdout, stderr, env } = process;
    this.#args = args;
    this.#options = setup.options;
    this.#regex = setup.regex;
    this.#url = args.url ?? setup.demoUrl!;
    this.#demo = args.url === undefined;
    this.#interactive = !this.#demo && args.execute.length === 0 && stdin.isTTY === true &&
      stdout.isTTY === true;
    this.#formatter = new Formatter(
      args.format,
      palette(args.color, stdout.isTTY === true, env.NO_COLOR),
      palette(args.color, stderr.isTTY === true, env.NO_COLOR),
    );
  }

  /** Prints a line (above the prompt, when there is one). */
  readonly print = (line: Line): void => {
    const stream = line.stream === "out" ? process.stdout : process.stderr;
    if (this.#prompt) this.#prompt.print(stream, line.text);
    else stream.write(line.text + "\n");
  };

  /** Prints an event, unless `--no-listen`. */
  #show(line: Line): void {
    if (this.#args.listen) this.print(line);
  }

  /** Connects, takes the input, and ends; resolves with the exit status. */
  async run(): Promise<number> {
    // A SIGINT (Ctrl-C off the prompt, or `kill -INT`) ends the input like /quit, or abandons the
    // attempt to connect (exit 130, as shells report it); a second one leaves at once.
    let interrupted!: () => void;
    const interrupt = new Promise<"interrupt">((resolve) => {
      interrupted = () => resolve("interrupt");
    });
    let signals = 0;
    // One listener for both: Deno calls a listener added during a signal's dispatch for it too.
    const onSignal = () => {
      if (++signals > 1) process.exit(130);
      interrupted();
    };
    process.on("SIGINT", onSignal);
    try {
      return await this.#session(interrupt);
    } finally {
      process.off("SIGINT", onSignal);
      this.#prompt?.close(); // the terminal back in cooked mode before anything else is printed
      this.#prompt = undefined;
    }
  }

  async #session(interrupt: Promise<"interrupt">): Promise<number> {
    const formatter = this.#formatter;
    const url = this.#url;
    let client: WebSocketClient;
    try {
      client = new WebSocketClient(url, this.#options);
    } catch (error) {
      return this.#cannotConnect((error as Error).message);
    }
    const ended = this.#listen(client);
    try {
      if (await Promise.race([client.opened, interrupt]) === "interrupt") {
        client.terminate();
        await client.closed;
        process.stderr.write("rom-ws: interrupted while connecting\n");
        return 130;
      }
    } catch (error) {
      return this.#cannotConnect((error as Error).message);
    }

    const context: CommandContext = {
      client,
      formatter,
      print: this.print,
      close: async (code, reason) => {
        this.#closedByUs = true;
        try {
          await client.close(code, reason);
        } catch (error) {
          this.#closedByUs = false; // refused (a bad code or reason): still open
          throw error;
        }
      },
    };
    const args = this.#args;
    const input = args.execute.length > 0 || this.#demo
      ? execute(args, this.#demo, context, () => this.#received)
      : this.#interactive
      ? interact(context, (prompt) => (this.#prompt = prompt))
      : pipe(args, context);
    const finished = await Promise.race([input.then(() => "input" as const), interrupt, ended]);
    const over = finished !== "input" && finished !== "interrupt"; // the connection ended first
    if (!over && !this.#closedByUs && client.readyState !== WebSocketClient.CLOSED) {
      await context.close(1000, "").catch(() => {});
    }
    const info = await ended;
    this.#prompt?.close();
    this.#prompt = undefined;
    if (!this.#closedByUs) {
      const why = info.error?.message ?? this.#lastError?.message ?? describeClose(info);
      const how = info.error ? "dropped" : "closed by the server";
      process.stderr.write(`rom-ws: connection ${how}: ${why}\n`);
      return 1;
    }
    return 0;
  }

  #cannotConnect(why: string): number {
    this.#show(this.#formatter.fail(why));
    process.stderr.write(`rom-ws: cannot connect to ${this.#url}: ${why}\n`);
    return 1;
  }

  /** Prints the client's events; resolves with how it ended, once it has (after an open). */
  #listen(client: WebSocketClient): Promise<CloseInfo> {
    const formatter = this.#formatter;
    client.addEventListener("error", (event) => (this.#lastError = event.error));
    client.addEventListener("open", () => {
      const { url, protocol, extensions } = client;
      this.#show(formatter.open({ url, protocol, extensions }));
    });
    client.addEventListener("message", (event) => {
      this.#received++;
      const regex = this.#regex;
      if (regex && typeof event.data === "string" && !regex.test(event.data)) return;
      this.#show(formatter.message(event.data));
    });
    if (this.#args.showPingPong) {
      client.addEventListener("ping", (event) => this.#show(formatter.control("ping", event.data)));
      client.addEventListener("pong", (event) => this.#show(formatter.control("pong", event.data)));
    }
    client.addEventListener("reconnect", (event) => {
      const { info } = event;
      const why = info.error?.message ?? describeClose(info);
      this.#show(
        event.wasOpen ? formatter.closed(false, info.code, info.reason, why) : formatter.fail(why),
      );
      this.print(
        formatter.note(`reconnecting in ${event.delay} ms (attempt ${event.attempt})`, "warn"),
      );
    });
    return new Promise<CloseInfo>((resolve) => {
      client.addEventListener("close", (event) => {
        const why = event.error?.message ?? "";
        this.#show(formatter.closed(this.#closedByUs, event.code, event.reason, why));
        resolve(event);
      });
    });
  }
}

function describeClose(info: CloseInfo): string {
  return `code ${info.code}${info.reason ? ` ${JSON.stringify(info.reason)}` : ""}`;
}

/**
 * `-x` (and the demo): runs each message in order, then waits for answers. The demo (no url, no
 * `-x`) sends "Привет мир!" and waits for its echo only.
 */
async function execute(
  args: CliArgs,
  demo: boolean,
  context: CommandContext,
  received: () => number,
): Promise<void> {
  const echoOnly = demo && args.execute.length === 0;
  const messages = echoOnly ? ["Привет мир!"] : args.execute;
  for (const message of messages) {
    if (await runLine(message, context) === "quit") return;
  }
  if (echoOnly) {
    // The demo waits for its echo (bounded), so that it shows before the close.
    const deadline = performance.now() + args.timeout * 1000;
    while (received() < 1 && context.client.readyState === WebSocketClient.OPEN) {
      if (performance.now() > deadline) break;
      await sleep(5);
    }
    return;
  }
  await sleep((args.wait ?? EXECUTE_WAIT) * 1000);
}

/** Standard input is a terminal: the prompt, until /quit, /close, Ctrl-D or Ctrl-C. */
function interact(context: CommandContext, started: (prompt: Prompt) => void): Promise<void> {
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
async function pipe(args: CliArgs, context: CommandContext): Promise<void> {
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
