/**
 * The ordered send path of a connection whose messages go through `node:zlib`: compression runs
 * asynchronously, so a message sent after a compressed one waits for it to be framed first.
 *
 * @module
 */

import { RESOLVED } from "../adapters/socket.ts";
import type { Deflater, DeflaterSettings } from "../core/permessage_deflate.ts";

const encoder = new TextEncoder();

/**
 * Messages in send order, each compressed (or not) and then framed by `frame` strictly in that
 * order. Made on the first message that must wait (an idle connection has none).
 */
export class SendQueue {
  readonly #settings: DeflaterSettings | undefined;
  #deflater: Promise<Deflater> | undefined;
  /** The deflater once loaded. */
  #ready: Deflater | undefined;
  #pending = 0;
  #tail: Promise<unknown> = RESOLVED;

  /** `settings`: the negotiated compressor's, when messages may be compressed. */
  constructor(settings: DeflaterSettings | undefined) {
    this.#settings = settings;
  }

  /** Whether messages are waiting: a new one must queue behind them to keep the order. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /**
   * `raw` compressed now, when nothing waits before it and the deflater is loaded and
   * synchronous (without context takeover); otherwise `undefined`, and the message goes through
   * {@linkcode SendQueue.enqueue}. Throws what the compressor throws.
   *
   * Measured with 1 KiB JSON pipelined through permessage-deflate on Bun 1.4 (the echo server
   * asks for no context takeover): framed in the sending task, a burst of sends leaves in one
   * write instead of one write per message (each used to be framed in its own microtask, after
   * the socket's batch had gone).
   */
  compressNow(raw: Uint8Array): Uint8Array | undefined {
    const deflater = this.#ready;
    if (this.#pending > 0 || deflater?.deflateSync === undefined) return undefined;
    return deflater.deflateSync(raw);
  }

  /**
   * Queues `payload`. Compression starts at once (the deflater keeps message order itself, so
   * several messages can be in zlib together); only `frame`, which frames and writes the bytes,
   * waits for the messages queued before this one. Settles like `frame`, which is told the size of
   * a compressed message before compression (for `client.stats`).
   */
  enqueue(
    payload: Uint8Array | string,
    compress: boolean,
    frame: (bytes: Uint8Array | string, compressed: boolean, size?: number) => Promise<void>,
  ): Promise<void> {
    this.#pending++;
    let size: number | undefined;
    const compressed = compress
      ? this.#getDeflater().then((deflater) => {
        const raw = typeof payload === "string" ? encoder.encode(payload) : payload;
        size = raw.length;
        return deflater.deflate(raw);
      })
      : undefined;
    compressed?.catch(() => {}); // reported through `job`
    const job = this.#tail.then(async () => {
      try {
        await frame(compressed ? await compressed : payload, compress, size);
      } finally {
        this.#pending--;
      }
    });
    this.#tail = job.catch(() => {});
    return job;
  }

  #getDeflater(): Promise<Deflater> {
    const settings = this.#settings!;
    // node:zlib is loaded only when a message is actually compressed.
    return this.#deflater ??= import("./zlib_deflater.ts").then((m) =>
      this.#ready = m.createNodeDeflater(settings)
    );
  }

  /** The connection is over: release the compressor. */
  close(): void {
    this.#deflater?.then((d) => d.close(), () => {});
  }
}
