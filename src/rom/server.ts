/**
 * `RomWebSocket` of Deno, Bun and Node.js: the 1C facade ({@linkcode RomFacade}) over this
 * library's own {@linkcode WebSocketClient}. The browser build has its own `RomWebSocket`, the
 * same facade over the browser's `WebSocket` (`src/browser/rom_websocket.ts`).
 *
 * @module
 */

import { WebSocketClient } from "../client/client.ts";
import type { ClientStats } from "../client/stats.ts";
import { RomFacade, type RomOptions } from "./rom_websocket.ts";

const NO_STATS: ClientStats = Object.freeze({
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  wireBytesIn: 0,
  wireBytesOut: 0,
  reconnects: 0,
  lastRtt: undefined,
  connectedSince: undefined,
});

/**
 * The ROM-WebSocket component (the members and events of `ARCHITECTURE.md` §7).
 *
 * @example Waiting mode, for code that cannot receive events
 * ```ts
 * import { RomWebSocket } from "@rom/websocket";
 *
 * const rom = new RomWebSocket();
 * rom.Listen = false;
 * rom.Timeout = 5;
 * if (await rom.Connect("ws://127.0.0.1:8088/ws")) {
 *   await rom.Send("Привет мир!");
 *   await rom.Disconnect();
 * }
 * ```
 */
export class RomWebSocket extends RomFacade<WebSocketClient, RomOptions> {
  /** `options`: client options and extensions beyond the original component. */
  constructor(options: RomOptions = {}) {
    super(options, (url, clientOptions) => new WebSocketClient(url, clientOptions));
  }

  /**
   * The counters of the current (or last) connection's client, as `client.stats` (an extension):
   * messages and bytes in and out, reconnections, the last round-trip time, connected since. All
   * zero before the first `Connect`.
   */
  get Stats(): ClientStats {
    return this.client?.stats ?? NO_STATS;
  }
  /** Alias of {@linkcode RomWebSocket.Stats}. */
  get Статистика(): ClientStats {
    return this.Stats;
  }
}
