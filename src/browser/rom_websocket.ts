/**
 * The browser build's `RomWebSocket`: the 1C facade ({@linkcode RomFacade}, the same code as on
 * Deno, Bun and Node.js) over the browser build's {@linkcode WebSocketClient}.
 *
 * @module
 */

import { RomFacade } from "../rom/rom_websocket.ts";
import type { RomBinaryOption } from "../rom/rom_websocket.ts";
import { WebSocketClient } from "./client.ts";
import type { ClientOptions } from "./options.ts";

/** Options beyond the original component, as on the server; what a browser cannot do is refused. */
export interface RomOptions extends Omit<ClientOptions, "signal">, RomBinaryOption {}

/**
 * The ROM-WebSocket component in a browser: the same members, Russian aliases and event strings
 * as on the server (`ARCHITECTURE.md` §7). `SetHeader` is accepted but the next `Connect` then
 * fails (Fail event, `LastError` saying `UNSUPPORTED_IN_BROWSER`): a page cannot set headers.
 *
 * @example A feed shown in a page
 * ```ts
 * import { RomWebSocket } from "@rom/websocket/browser";
 *
 * const rom = new RomWebSocket({ reconnect: true });
 * rom.Regex = '"type":"StasisStart"';
 * rom.onExternalEvent = (source, event, data) => console.log(source, event, data);
 * await rom.Connect("wss://feed.example/events");
 * ```
 */
export class RomWebSocket extends RomFacade<WebSocketClient, RomOptions> {
  /** `options`: client options and extensions beyond the original component. */
  constructor(options: RomOptions = {}) {
    super(options, (url, clientOptions) => new WebSocketClient(url, clientOptions));
  }
}
