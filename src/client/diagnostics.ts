/**
 * `node:diagnostics_channel` channels, one per client event worth tracing: `rom-websocket:open`,
 * `rom-websocket:close`, `rom-websocket:error`, `rom-websocket:reconnect` and
 * `rom-websocket:outage`. Each message published is the event object the listeners get (its
 * `target` is the client). Deno, Bun and Node.js all have the module; where it is missing (a
 * browser, another runtime) nothing is published and nothing fails. A message is built only when
 * a channel has subscribers: the events are made anyway, and `hasSubscribers` is one field read.
 *
 * The module is taken with `process.getBuiltinModule` where the runtime has it (Node.js 20.16+,
 * Deno, Bun), synchronously; elsewhere with a dynamic `import()`, which settles long before a
 * connection can open. `src/core` stays free of it.
 *
 * @module
 */

import { type EventObserver, reportListenerError } from "./events.ts";

/** What this library uses of a diagnostics channel. */
interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

interface DiagnosticsChannelModule {
  channel(name: string): Channel;
}

/**
 * The `node:diagnostics_channel` channel names, by client event: subscribe with
 * `diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.open, (event) => ...)`. Each message is the
 * event object the listeners get (`target` is the client).
 */
export const DIAGNOSTICS_CHANNELS = {
  open: "rom-websocket:open",
  close: "rom-websocket:close",
  error: "rom-websocket:error",
  reconnect: "rom-websocket:reconnect",
  outage: "rom-websocket:outage",
} as const;

/** The channel of each published event type, once the module is loaded. */
const channels: { [type: string]: Channel | undefined } = {};

/**
 * Publishes a client event on its channel when it has subscribers (none for message, ping and
 * pong); the server client's {@linkcode Listeners} observer. A subscriber that throws is reported
 * like a listener: the connection goes on.
 */
export const publishDiagnostics: EventObserver = (type, event) => {
  const channel = channels[type];
  if (channel === undefined || !channel.hasSubscribers) return;
  try {
    channel.publish(event);
  } catch (error) {
    reportListenerError(error);
  }
};

function install(module: DiagnosticsChannelModule | undefined): void {
  if (typeof module?.channel !== "function") return;
  for (const [type, name] of Object.entries(DIAGNOSTICS_CHANNELS)) {
    channels[type] = module.channel(name);
  }
}

function load(): void {
  const process = (globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
  }).process;
  try {
    const module = process?.getBuiltinModule?.("node:diagnostics_channel");
    if (module) return install(module as DiagnosticsChannelModule);
  } catch {
    // fall through to import()
  }
  // Node.js before 20.16: the ES module (it fails, caught, where there is none).
  import("node:diagnostics_channel").then(
    (module: DiagnosticsChannelModule & { default?: DiagnosticsChannelModule }) =>
      install(module.default ?? module),
    () => {},
  );
}

load();
