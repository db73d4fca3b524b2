/**
 * What a runtime's connection errors mean: one mapping from Deno's error classes, Node's and
 * Bun's `code` strings and OpenSSL/rustls messages to the stable {@linkcode NetworkError} codes.
 *
 * @module
 */

import { AbortError, NetworkError, type NetworkErrorCode } from "../core/errors.ts";

/** Turns a runtime's connection error into a {@linkcode NetworkError} with a stable code. */
export function toNetworkError(error: unknown, context: string): NetworkError | AbortError {
  if (error instanceof NetworkError || error instanceof AbortError) return error;
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  let kind: NetworkErrorCode = "NETWORK_ERROR";
  if (name === "AbortError") return new AbortError(`${context}: aborted`, { cause: error });
  // TLS first: certificate messages can contain words such as "DnsName" or "reset".
  if (
    /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/.test(
      code,
    ) ||
    name === "InvalidData" ||
    /certificate|\btls\b|\bssl\b|handshake failure/i.test(message)
  ) {
    kind = "TLS_ERROR";
  } else if (
    code === "ECONNREFUSED" || name === "ConnectionRefused" || /connection refused/i.test(message)
  ) {
    kind = "CONNECTION_REFUSED";
  } else if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME" ||
    code === "EAI_NODATA" ||
    /failed to lookup address|getaddrinfo|name or service not known|\bdns error\b/i.test(message)
  ) {
    kind = "HOST_NOT_FOUND";
  } else if (
    code === "ECONNRESET" || code === "EPIPE" || name === "ConnectionReset" ||
    name === "BrokenPipe" || /connection reset|broken pipe/i.test(message)
  ) {
    kind = "CONNECTION_RESET";
  }
  return new NetworkError(kind, `${context}: ${message}`, { cause: error });
}

/** Throws an `AbortError` if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context: string): void {
  if (signal?.aborted) throw new AbortError(`${context}: aborted`, { cause: signal.reason });
}
