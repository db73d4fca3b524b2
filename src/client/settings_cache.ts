/**
 * The last settings resolved, kept for the next client made with equal options: an application
 * that opens many connections in a loop (`connect(url, { ... })` with the same literal each time)
 * then has one `Settings` with its plan, target and protocol options for all of them, not one
 * each.
 *
 * Why: in a heap snapshot of 2,000 idle connections on Node.js 20, the settings, their plan
 * (target, headers) and protocol options were 400-450 B of each connection's 3.8 KiB.
 *
 * Options are equal when the same keys hold equal values: primitives and functions by `===`;
 * arrays and plain objects (headers, header pairs, outbox, proxy, compression, protocols) by
 * their contents, three levels deep, since they are read when the settings are made and may be
 * changed by the caller between two clients; the objects the settings keep by reference (`tls`,
 * `random`) by identity. Anything else (a `URL` object, a `Headers` instance, an extension
 * factory) is not compared: those clients get settings of their own. The environment
 * variables read for the proxy are read again and must be unchanged. Clients with `reconnect`
 * are not shared (the policy counts its client's attempts). The cache holds its settings
 * weakly: it keeps nothing alive once the last client made with them is gone.
 *
 * @module
 */

import type { EnvGetter } from "../adapters/proxy/env.ts";
import type { ClientOptions, Settings, UrlSource } from "./options.ts";

/** Options the settings keep by reference: compared by identity. */
const BY_IDENTITY = new Set(["tls", "random"]);
/** Options `resolveSettings` does not read (the client does). */
const IGNORED = new Set(["signal"]);

/** A value that cannot be compared by contents. */
const OPAQUE: unique symbol = Symbol("opaque");

type Snapshot = unknown;

interface Entry {
  readonly url: string | UrlSource;
  readonly options: Array<readonly [string, Snapshot]>;
  readonly env: ReadonlyArray<readonly [string, string | undefined]>;
}

let last: WeakRef<Settings> | undefined;
const entries = new WeakMap<Settings, Entry>();

/** What `value` holds now, three levels deep (0-2); OPAQUE when it cannot be compared. */
function snapshot(value: unknown, depth: number): Snapshot {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= 2) return OPAQUE;
  if (Array.isArray(value)) {
    const items = value.map((item) => snapshot(item, depth + 1));
    return items.includes(OPAQUE) ? OPAQUE : items;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return OPAQUE;
  const fields: Array<readonly [string, Snapshot]> = [];
  for (const key of Object.keys(value)) {
    const field = snapshot((value as Record<string, unknown>)[key], depth + 1);
    if (field === OPAQUE) return OPAQUE;
    fields.push([key, field]);
  }
  return { fields };
}

function same(a: Snapshot, b: Snapshot): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => same(item, b[i]));
  }
  const fa = (a as { fields: Array<readonly [string, Snapshot]> }).fields;
  const fb = (b as { fields?: Array<readonly [string, Snapshot]> }).fields;
  return fb !== undefined && fa.length === fb.length &&
    fa.every(([key, value], i) => key === fb[i][0] && same(value, fb[i][1]));
}

/** The options as {@linkcode cachedSettings} and {@linkcode cacheSettings} compare them. */
export type ComparedOptions = Array<readonly [string, Snapshot]>;

/** The options as compared, or undefined when one of them cannot be. */
export function comparedOptions(options: ClientOptions): ComparedOptions | undefined {
  const list: Array<readonly [string, Snapshot]> = [];
  for (const key of Object.keys(options)) {
    if (IGNORED.has(key)) continue;
    const value = (options as Record<string, unknown>)[key];
    const seen = BY_IDENTITY.has(key) ? value : snapshot(value, 0);
    if (seen === OPAQUE) return undefined;
    list.push([key, seen]);
  }
  return list;
}

/**
 * The settings of the last client, if `url` and the options (`now`, from
 * {@linkcode comparedOptions}) are equal to its own.
 */
export function cachedSettings(
  url: string | URL | UrlSource,
  now: ComparedOptions | undefined,
  env: EnvGetter,
): Settings | undefined {
  const settings = last?.deref();
  if (settings === undefined || now === undefined || url instanceof URL) return undefined;
  const entry = entries.get(settings)!;
  if (entry.url !== url || now.length !== entry.options.length) return undefined;
  for (let i = 0; i < now.length; i++) {
    if (now[i][0] !== entry.options[i][0] || !same(now[i][1], entry.options[i][1])) {
      return undefined;
    }
  }
  for (const [name, value] of entry.env) if (env(name) !== value) return undefined;
  return settings;
}

/**
 * Keeps `settings` for the next client made with options equal to `compared` (from
 * {@linkcode comparedOptions}): `env` lists the variables read while making them and what they
 * held.
 */
export function cacheSettings(
  url: string | URL | UrlSource,
  compared: ComparedOptions | undefined,
  env: ReadonlyArray<readonly [string, string | undefined]>,
  settings: Settings,
): void {
  // A reconnect policy counts its client's attempts: each client needs its own.
  if (compared === undefined || url instanceof URL || settings.reconnect !== undefined) return;
  entries.set(settings, { url, options: compared, env });
  last = new WeakRef(settings);
}

/** An environment getter that records what it read (for {@linkcode cacheSettings}). */
export function recordingEnv(
  env: EnvGetter,
): { env: EnvGetter; reads: Array<readonly [string, string | undefined]> } {
  const reads: Array<readonly [string, string | undefined]> = [];
  return {
    env: (name) => {
      const value = env(name);
      reads.push([name, value]);
      return value;
    },
    reads,
  };
}
