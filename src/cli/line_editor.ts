/**
 * The interactive prompt of `rom-ws`, on `node:readline` (which Deno, Bun and Node.js all
 * implement for a terminal: line editing, history with the arrow keys, raw mode). What readline
 * lacks is output that does not mix with the line being typed: {@linkcode Prompt.print} clears
 * the prompt line, prints, then redraws the prompt and the partly typed input, cursor included.
 *
 * @module
 */

import {
  clearScreenDown,
  createInterface,
  cursorTo,
  type Interface,
  moveCursor,
} from "node:readline";

/** A readable terminal (standard input). */
type Input = NodeJS.ReadableStream & { isTTY?: boolean };
/** A writable terminal (standard output or error). */
type Output = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Options of {@linkcode Prompt}. */
export interface PromptOptions {
  /** The prompt string. Default `"> "`. */
  prompt?: string;
  /** Lines kept for the arrow keys. Default 500. */
  historySize?: number;
  /** A line was entered. */
  onLine: (line: string) => void;
  /** Ctrl-D on an empty line, Ctrl-C, or the end of the input. Called once. */
  onEnd: () => void;
}

/** A prompt on a terminal, and a way to print above it. */
export class Prompt {
  readonly #rl: Interface;
  readonly #output: Output;
  #closed = false;
  #ended = false;

  constructor(input: Input, output: Output, options: PromptOptions) {
    this.#output = output;
    this.#rl = createInterface({
      input,
      output,
      terminal: true,
      prompt: options.prompt ?? "> ",
      historySize: options.historySize ?? 500,
      removeHistoryDuplicates: true,
    });
    const end = () => {
      if (this.#ended) return;
      this.#ended = true;
      options.onEnd();
    };
    this.#rl.on("line", (line: string) => {
      if (this.#closed) return;
      options.onLine(line);
      if (!this.#closed) this.#rl.prompt();
    });
    this.#rl.on("SIGINT", end); // Ctrl-C: the same as /quit
    this.#rl.on("close", end); // Ctrl-D, or the end of the input
    this.#rl.prompt();
  }

  /** Prints `text` (and a newline) to `stream` above the prompt, then redraws the prompt. */
  print(stream: Output, text: string): void {
    if (this.#closed) {
      stream.write(text + "\n");
      return;
    }
    this.#erase();
    stream.write(text + "\n");
    // readline redraws by first moving up the rows its last drawing left the cursor below the
    // prompt (`prevRows`); the prompt now starts on the cursor's row. Node.js and Bun leave it at
    // 0 while the typed text wraps, Deno counts the wrap: without this, Deno's redraw would move
    // up onto the text just printed and erase it. The same field on all three runtimes.
    const state = this.#rl as unknown as { prevRows?: number };
    if (typeof state.prevRows === "number") state.prevRows = 0;
    this.#rl.prompt(true); // keeps the typed input and the cursor's place in it
  }

  /** Erases the prompt and the typed input, over every row it wraps to. */
  #erase(): void {
    const rows = this.#rl.getCursorPos?.().rows ?? 0; // the cursor's row below the prompt's
    if (rows > 0) moveCursor(this.#output, 0, -rows);
    cursorTo(this.#output, 0);
    clearScreenDown(this.#output);
  }

  /** Removes the prompt and gives the terminal back (cooked mode). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#erase();
    this.#rl.close();
  }
}
