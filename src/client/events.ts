/**
 * The events of {@linkcode WebSocketClient} and the small listener registry that dispatches them.
 *
 * @module
 */

import type { CloseInfo, WebSocketError } from "../core/errors.ts";
import type { WebSocketClient } from "./client.ts";
import type { Outage } from "./options.ts";

/** Event passed to `open` listeners (after `onOpen`, if given, has run). */
export interface OpenEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "open";
  /** Set when this open ends an outage: a reconnection after an open connection was lost. */
  readonly outage?: Outage;
  /** The client that raised the event. */
  readonly target: T;
}

/**
 * Event passed to `outage` listeners, right after the `open` event of a reconnection: what may
 * have been missed while the connection was down.
 */
export interface OutageEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "outage";
  /** When the connection was lost and restored, the attempts, the last message before the loss. */
  readonly outage: Outage;
  /** The client that raised the event. */
  readonly target: T;
}

/** Event passed to `message` listeners: text as `string`, binary as `Uint8Array`. */
export interface MessageEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "message";
  /** The message: a string for text, bytes for binary. */
  readonly data: string | Uint8Array;
  /** The client that raised the event. */
  readonly target: T;
}

/** Event passed to `ping` and `pong` listeners. */
export interface PingEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "ping" | "pong";
  /** The payload of the control frame. */
  readonly data: Uint8Array;
  /** The client that raised the event. */
  readonly target: T;
}

/** Event passed to `close` listeners: how the connection ended. */
export interface CloseEvent<T = WebSocketClient> extends CloseInfo {
  /** The event type. */
  readonly type: "close";
  /** The client that raised the event. */
  readonly target: T;
}

/** Event passed to `error` listeners, before the `close` event. */
export interface ErrorEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "error";
  /** What failed. */
  readonly error: WebSocketError;
  /** The client that raised the event. */
  readonly target: T;
}

/** Event passed to `reconnect` listeners: the connection dropped (or an attempt failed) and a new
 * attempt is scheduled. */
export interface ReconnectEvent<T = WebSocketClient> {
  /** The event type. */
  readonly type: "reconnect";
  /** How the last connection (or attempt) ended. */
  readonly info: CloseInfo;
  /** Whether that connection had been open (false: an attempt to connect failed). */
  readonly wasOpen: boolean;
  /** The number of the next attempt (1 for the first retry). */
  readonly attempt: number;
  /** Milliseconds until that attempt. */
  readonly delay: number;
  /** The client that raised the event. */
  readonly target: T;
}

/**
 * Events of {@linkcode WebSocketClient} by type. `T` is the client that raises them (the browser
 * build's own `WebSocketClient` raises the same events).
 */
export interface WebSocketClientEventMap<T = WebSocketClient> {
  /** The connection opened (again, after a reconnection). */
  open: OpenEvent<T>;
  /** A reconnection ended an outage (fired right after its `open`). */
  outage: OutageEvent<T>;
  /** The connection dropped or an attempt failed; another attempt follows. */
  reconnect: ReconnectEvent<T>;
  /** A message arrived. */
  message: MessageEvent<T>;
  /** A ping arrived (the pong is sent automatically). */
  ping: PingEvent<T>;
  /** A pong arrived. */
  pong: PingEvent<T>;
  /** The connection is closed for good. */
  close: CloseEvent<T>;
  /** The connection failed; a close event follows. */
  error: ErrorEvent<T>;
}

/** The type of a {@linkcode WebSocketClient} event. */
export type EventType = keyof WebSocketClientEventMap;

/** Options of `addEventListener`. */
export interface ListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean;
  /** Remove the listener when this signal fires. */
  signal?: AbortSignal;
}

/** A listener of {@linkcode WebSocketClient} events. */
export type Listener<E> = (event: E) => void;

/** A listener added with `once`: the only kind that needs a record of its own. */
interface OnceEntry {
  readonly once: Listener<never>;
}

/** A listener as stored: the function itself, or its `once` record. */
type Entry = Listener<never> | OnceEntry;

/**
 * The listeners of one type: a lone entry as it is (the common case: no array, no record), or
 * several in the order they were added. Never an empty or one-entry array.
 */
type Slot = Entry | Entry[];

function fnOf(entry: Entry): Listener<never> {
  return typeof entry === "function" ? entry : entry.once;
}

function slotOf(list: Entry[]): Slot | undefined {
  return list.length > 1 ? list : list[0];
}

/** Sees every event a {@linkcode Listeners} emits, before its listeners. */
export type EventObserver = (type: EventType, event: unknown) => void;

/**
 * The listeners of one client, by event type. A listener that throws does not stop the others
 * nor the connection (see {@linkcode reportListenerError}).
 */
export class Listeners<T = WebSocketClient> {
  readonly #lists: { [K in EventType]?: Slot } = {};
  readonly #observer: EventObserver | undefined;

  /**
   * `observer` sees every event before the listeners. Kept out of this module so that the
   * browser build, which shares it, pulls in no `node:` module.
   */
  constructor(observer?: EventObserver) {
    this.#observer = observer;
  }

  /** Adds `listener` once (a second add of the same function is ignored). */
  add<K extends EventType>(
    type: K,
    listener: Listener<WebSocketClientEventMap<T>[K]>,
    options?: ListenerOptions,
  ): boolean {
    if (typeof listener !== "function") return false;
    if (options?.signal?.aborted) return false;
    const slot = this.#lists[type];
    const list = slot === undefined ? undefined : Array.isArray(slot) ? slot : [slot];
    if (list?.some((e) => fnOf(e) === (listener as unknown))) return false;
    const fn = listener as Listener<never>;
    const entry: Entry = options?.once ? { once: fn } : fn;
    // Copy on write (a dispatch in progress keeps its list); a literal holds exactly its entries,
    // where push() would reserve room for 17.
    this.#lists[type] = list ? [...list, entry] : entry;
    options?.signal?.addEventListener("abort", () => this.remove(type, listener), { once: true });
    return true;
  }

  /** Removes `listener`. */
  remove<K extends EventType>(type: K, listener: Listener<WebSocketClientEventMap<T>[K]>): void {
    const slot = this.#lists[type];
    if (slot === undefined) return;
    if (!Array.isArray(slot)) {
      if (fnOf(slot) === (listener as unknown)) this.#lists[type] = undefined;
      return;
    }
    const index = slot.findIndex((e) => fnOf(e) === (listener as unknown));
    if (index >= 0) this.#lists[type] = slotOf(slot.filter((_, i) => i !== index));
  }

  /** Whether any listener of `type` is registered. */
  has(type: EventType): boolean {
    return this.#lists[type] !== undefined;
  }

  /**
   * Calls the listeners of `type` with `event`, in the order they were added; first gives it to
   * the observer, if any (the server client's `node:diagnostics_channel` channels).
   */
  emit<K extends EventType>(type: K, event: WebSocketClientEventMap<T>[K]): void {
    this.#observer?.(type, event);
    const slot = this.#lists[type];
    if (slot === undefined) return;
    if (typeof slot === "function") {
      callListener(slot as Listener<WebSocketClientEventMap<T>[K]>, event);
      return;
    }
    if (!Array.isArray(slot)) {
      this.#lists[type] = undefined; // a lone `once` listener
      callListener(slot.once as Listener<WebSocketClientEventMap<T>[K]>, event);
      return;
    }
    if (slot.some((e) => typeof e !== "function")) {
      this.#lists[type] = slotOf(slot.filter((e) => typeof e === "function"));
    }
    for (const entry of slot) {
      callListener(fnOf(entry) as Listener<WebSocketClientEventMap<T>[K]>, event);
    }
  }
}

function callListener<E>(fn: Listener<E>, event: E): void {
  try {
    fn(event);
  } catch (error) {
    reportListenerError(error);
  }
}

/**
 * A listener threw: the connection goes on and the error is printed with `console.error`, the
 * same on every runtime (`reportError` would end the process on Deno but not on Node.js 20).
 */
export function reportListenerError(error: unknown): void {
  console.error("rom-websocket: an event listener threw:", error);
}
