/**
 * Runtime detection, done once, and the default connector for the runtime.
 *
 * @module
 */

import type { Connector } from "./socket.ts";

/** The JavaScript runtime the library runs on. */
export type Runtime = "deno" | "bun" | "node";

let runtime: Runtime | undefined;

/** Detects the runtime once (Deno and Bun by their globals; anything else is treated as Node). */
export function detectRuntime(): Runtime {
  if (runtime) return runtime;
  const g = globalThis as { Deno?: { connect?: unknown }; Bun?: { connect?: unknown } };
  runtime = typeof g.Deno?.connect === "function"
    ? "deno"
    : typeof g.Bun?.connect === "function"
    ? "bun"
    : "node";
  return runtime;
}

let connector: Promise<Connector> | undefined;

/**
 * The connector of the current runtime, loaded lazily so that only its adapter is imported:
 * `Deno.connect` on Deno, `Bun.connect` on Bun, `node:net` elsewhere. On Deno the adapter itself
 * hands the TLS options Deno's own TLS cannot express to `node:tls` (see `deno.ts`).
 */
export function defaultConnector(): Promise<Connector> {
  connector ??= (async () => {
    switch (detectRuntime()) {
      case "deno":
        return (await import("./deno.ts")).connectDeno;
      case "bun":
        return (await import("./bun.ts")).connectBun;
      default:
        return (await import("./node.ts")).connectNode;
    }
  })();
  return connector;
}

/**
 * The connector for TLS to an `https://` proxy: `node:tls` on Deno, the default connector
 * elsewhere. Deno's own TLS connection, closed during its handshake, keeps the TCP connection
 * open until the peer closes it (tested on Deno 2.9.6), so a proxy that stalls the handshake
 * would outlive the attempt's `openTimeout`; `node:tls` closes it at once. The tunnel's inner TLS
 * (`wss://` through it) is `node:tls` on every runtime anyway (TLS inside TLS).
 */
export async function proxyTlsConnector(): Promise<Connector> {
  if (detectRuntime() === "deno") return (await import("./node.ts")).connectNode;
  return defaultConnector();
}
