/**
 * A close frame or a bad frame that follows a message waits until the application has had its
 * turn with the message, so that its answer leaves first, as if the frames had come one by one
 * (Autobahn 3.2, 3.3, 4.1.3, 5.15 and others check that order). These tests hand the client the
 * server's bytes in chunks delivered one right after the other, in the same task, through an
 * in-memory socket: the way Deno over TLS delivered them when Autobahn 3.3 through nginx saw our
 * close frame leave before the echo.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ReadSink, type Socket, WebSocketClient } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { STEP, track } from "../_util/client.ts";
import {
  closePayload,
  concat,
  decodeClientFrames,
  handshakeResponse,
  readClosePayload,
  serverFrame,
} from "../_util/fixtures.ts";

const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;

/**
 * A socket with a scripted server: `script(key, deliver)` runs in a later task once the request
 * is written; `deliver(...chunks)` hands the chunks to the client one after the other at once.
 * The client's frames after the request are recorded; a close frame from the client ends the
 * stream in a later task.
 */
class ScriptedSocket implements Socket {
  readonly frames: Uint8Array[] = [];
  readonly closed: Promise<void>;
  #sink: ReadSink | undefined;
  #requested = false;
  #ended = false;
  #resolveClosed!: () => void;

  constructor(
    readonly script: (key: string, deliver: (...chunks: Uint8Array[]) => void) => void,
  ) {
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  read(): Promise<Uint8Array | null> {
    throw new Error("reads by push only");
  }

  listen(sink: ReadSink): void {
    this.#sink = sink;
  }

  resumeReading(): void {}

  write(data: Uint8Array): Promise<void> {
    if (!this.#requested) {
      this.#requested = true;
      const head = new TextDecoder().decode(data);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1];
      setTimeout(() => this.script(key, (...chunks) => this.#deliver(chunks)), 0);
      return Promise.resolve();
    }
    this.frames.push(data.slice());
    if (decodeClientFrames(data).some((frame) => frame.opcode === CLOSE)) {
      setTimeout(() => this.#end(), 0);
    }
    return Promise.resolve();
  }

  #deliver(chunks: Uint8Array[]): void {
    for (const chunk of chunks) if (!this.#ended) this.#sink!.data(chunk);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#sink?.end();
    this.#resolveClosed();
  }

  get bufferedAmount(): number {
    return 0;
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#end();
  }
}

/** Runs the natural echo loop (`for await` and `await send()`) until the connection ends. */
async function echoUntilClosed(client: WebSocketClient): Promise<void> {
  try {
    for await (const message of client) await client.send(message).catch(() => {});
  } catch {
    // An unclean end throws out of the iteration; the frames say what happened.
  }
}

/** The opcodes of the client's frames and, for its close frame, the code. */
function sentFrames(socket: ScriptedSocket): string[] {
  return decodeClientFrames(socket.frames).map((frame) =>
    frame.opcode === CLOSE
      ? `close ${readClosePayload(frame.payload).code}`
      : frame.opcode === TEXT
      ? `text ${new TextDecoder().decode(frame.payload)}`
      : `opcode ${frame.opcode}`
  );
}

const hello = serverFrame(TEXT, "Hello, world!");
const badRsv = serverFrame(TEXT, "Hello, world!", { rsv: 3 });
const ping = serverFrame(PING);

describe("a close or a bad frame after a message, in a later chunk of the same task or a later task", () => {
  for (
    const { title, script, expected } of [
      {
        title: "handshake, message and bad frame in one chunk, a ping in the next (Autobahn 3.3)",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) =>
          deliver(handshakeResponse(key, { after: concat(hello, badRsv) }), ping),
        expected: ["text Hello, world!", "close 1002"],
      },
      {
        title: "the message in one chunk, the bad frame in the next",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) => {
          deliver(handshakeResponse(key));
          setTimeout(() => deliver(hello, badRsv, ping), 20);
        },
        expected: ["text Hello, world!", "close 1002"],
      },
      {
        title: "the message in one chunk, the server's close frame in the next",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) => {
          deliver(handshakeResponse(key));
          setTimeout(() => deliver(hello, serverFrame(CLOSE, closePayload(1000))), 20);
        },
        expected: ["text Hello, world!", "close 1000"],
      },
      {
        // The messages' flight ends by a timer set only once a frame waits behind them: a close
        // frame in a later task still waits one timer turn, and then takes effect.
        title: "the message in one chunk, the server's close frame in a later task",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) => {
          deliver(handshakeResponse(key, { after: hello }));
          setTimeout(() => deliver(serverFrame(CLOSE, closePayload(1000))), 50);
        },
        expected: ["text Hello, world!", "close 1000"],
      },
      {
        title: "two messages in two tasks, then a bad frame in a third",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) => {
          deliver(handshakeResponse(key, { after: hello }));
          setTimeout(() => deliver(hello), 20);
          setTimeout(() => deliver(badRsv), 60);
        },
        expected: ["text Hello, world!", "text Hello, world!", "close 1002"],
      },
      {
        title: "handshake and message in one chunk, the server's close frame in the next",
        script: (key: string, deliver: (...chunks: Uint8Array[]) => void) =>
          deliver(
            handshakeResponse(key, { after: hello }),
            serverFrame(CLOSE, closePayload(1000)),
          ),
        expected: ["text Hello, world!", "close 1000"],
      },
    ]
  ) {
    it(
      `${title}: the echo leaves before the close frame`,
      guarded(async (scope) => {
        const socket = new ScriptedSocket(script);
        const client = track(
          scope,
          new WebSocketClient("ws://example.test/", { connector: () => Promise.resolve(socket) }),
        );
        await withTimeout(client.opened, STEP, "open");
        await withTimeout(echoUntilClosed(client), STEP, "the connection ends");
        assert.deepEqual(sentFrames(socket), expected);
      }),
    );
  }
});
