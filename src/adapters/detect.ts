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
