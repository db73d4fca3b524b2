/**
 * The sans-I/O core of rom-websocket: RFC 6455 framing, the opening handshake, message assembly,
 * UTF-8 validation and the close state machine, with no I/O, timers or runtime globals. Use it to
 * drive a WebSocket over any byte stream; {@linkcode ClientProtocol} is the entry point.
 *
 * @module
 */

export * from "./constants.ts";
export * from "./errors.ts";
export {
  type ClientExtensionFactory,
  type Extension,
  type ExtensionElement,
  type ExtensionParams,
  parseExtensions,
} from "./extensions.ts";
export { encodeClosePayload, parseClosePayload, validateCloseArguments } from "./close.ts";
export { encodeFrame, encodeTextFrame, type FrameFlags, maskedHeaderSize } from "./frame.ts";
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
  ClientProtocol,
  type ClientProtocolOptions,
  type ProtocolEvent,
  ReadyState,
  type SendOptions,
} from "./protocol.ts";
export { InflateError, Inflater } from "./inflate.ts";
export {
  type DeflateOptions,
  type DeflateParameters,
  type Deflater,
  type DeflaterFactory,
  type DeflaterSettings,
  normalizeDeflateOptions,
  PerMessageDeflate,
  PerMessageDeflateFactory,
} from "./permessage_deflate.ts";
export { isValidUtf8, Utf8Validator } from "./utf8.ts";
