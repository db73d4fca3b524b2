/**
 * The sans-I/O core of rom-websocket, for people who drive the protocol over their own I/O:
 * RFC 6455 framing, the opening handshake, message assembly, UTF-8 validation and the close state
 * machine, with no I/O, timers or runtime globals. {@linkcode ClientProtocol} is the entry point;
 * the driver in `src/client/` is one user of it, and `ARCHITECTURE.md` describes the call order.
 *
 * ```ts
 * import { ClientProtocol } from "@rom/websocket/core";
 *
 * const protocol = new ClientProtocol({ host: "example.com", path: "/" });
 * protocol.sendRequest();
 * // write protocol.takeWrites() to the socket; for each chunk read:
 * //   protocol.receiveData(chunk); handle protocol.takeEvents(); write protocol.takeWrites()
 * ```
 *
 * @module
 */

export { encodeClosePayload, parseClosePayload, validateCloseArguments } from "./close.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export {
  type ClientExtensionFactory,
  type Extension,
  type ExtensionElement,
  type ExtensionParams,
  parseExtensions,
} from "./extensions.ts";
export { encodeFrame, encodeTextFrame, type FrameFlags, maskedHeaderSize } from "./frame.ts";
export {
  type ControlFrameHandler,
  type DataFrameHandler,
  FrameReader,
  type FrameReaderOptions,
} from "./frame_reader.ts";
export {
  acceptFor,
  buildRequest,
  checkResponse,
  generateKey,
  type HandshakeRequest,
  type HandshakeResult,
  type ResponseExpectations,
  validateHeader,
  validateProtocols,
} from "./handshake.ts";
export { type HttpLimits, type HttpResponse, HttpResponseParser, isToken } from "./http11.ts";
export { applyMask, MaskKeyPool, type RandomSource, webCryptoRandom } from "./mask.ts";
export {
  type DeflateOptions,
  type DeflateParameters,
  type Deflater,
  type DeflaterFactory,
  type DeflaterSettings,
  normalizeDeflateOptions,
  type OutgoingCompression,
  PerMessageDeflate,
  PerMessageDeflateFactory,
} from "./permessage_deflate.ts";
export {
  ClientProtocol,
  type ClientProtocolOptions,
  type ProtocolEvent,
  ReadyState,
  type SendOptions,
} from "./protocol.ts";
export { isValidUtf8, Utf8Validator, type WholeUtf8Validator } from "./utf8.ts";
