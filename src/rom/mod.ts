/**
 * The 1C:Enterprise facade: {@linkcode RomWebSocket}, the event contract of the component
 * ROM-WebSocket kept word for word (the table of `ARCHITECTURE.md` §7), the contract strings that
 * 1C code compares literally, and the PCRE translation behind the `Regex` property. The root entry
 * re-exports `RomWebSocket` and its option and handler types; the rest lives here only.
 *
 * @example Waiting mode, for code that cannot receive events
 * ```ts
 * import { RomWebSocket } from "@rom/websocket/rom";
 *
 * const rom = new RomWebSocket();
 * rom.Listen = false;
 * rom.Timeout = 5;
 * if (await rom.Connect("ws://127.0.0.1:8088/ws")) {
 *   await rom.Send("Привет мир!");
 *   await rom.Disconnect();
 * }
 * ```
 *
 * @example Comparing the event strings, as 1C code does
 * ```ts
 * import { ROM_OPEN, RomWebSocket } from "@rom/websocket/rom";
 *
 * const rom = new RomWebSocket();
 * rom.onExternalEvent = (_source, event) => {
 *   if (event === ROM_OPEN.event) console.log("open");
 * };
 * await rom.Connect("ws://127.0.0.1:8088/ws");
 * ```
 *
 * @module
 */

export {
  ROM_BINARY_MESSAGE_EVENT,
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  ROM_SOURCE,
  type RomEvent,
} from "./contract.ts";
export { compilePcre, PcreError, type TranslatedPattern, translatePcre } from "./pcre.ts";
export {
  type ExternalEventHandler,
  type RomBinaryOption,
  type RomClient,
  type RomClientFactory,
  type RomClientOptions,
  RomFacade,
  type RomOptions,
} from "./rom_websocket.ts";
export { RomWebSocket } from "./server.ts";
// The types the facade's API names (`RomOptions` extends the client's options, `client` is a
// `WebSocketClient`, `PcreError` a `WebSocketError`), so this entry documents itself: type-only,
// the values stay in the root entry.
export type * from "../client/mod.ts";
export type {
  ConnectOptions,
  Connector,
  ReadSink,
  Socket,
  StartTlsOptions,
  TlsOptions,
} from "../adapters/socket.ts";
export type * from "../core/errors.ts";
export type { ClientExtensionFactory, Extension, ExtensionParams } from "../core/extensions.ts";
export type { HttpResponse } from "../core/http11.ts";
export type { RandomSource } from "../core/mask.ts";
export type { DeflateOptions } from "../core/permessage_deflate.ts";
export type { ReadyState } from "../core/protocol.ts";
