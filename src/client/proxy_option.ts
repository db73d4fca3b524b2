/**
 * The `proxy` option, checked once into a {@linkcode ProxyPolicy} that says, per attempt, which
 * proxy (if any) the attempt's target goes through.
 *
 * - not given: from the environment (`src/adapters/proxy/env.ts`), `no_proxy` included; a
 *   malformed variable is reported once per process with `console.warn` and ignored;
 * - `false`: never a proxy;
 * - a URL: that proxy for every target (the environment is not read);
 * - an object: `url` (omitted: from the environment), `noProxy` (replaces `no_proxy`), `tls`
 *   (for an `https://` proxy).
 *
 * `ws+unix://` targets never use a proxy.
 *
 * @module
 */

import {
  type EnvGetter,
  firstSet,
  noProxyFromEnvironment,
  proxyVariables,
  readEnvironment,
} from "../adapters/proxy/env.ts";
import { bypassesProxy, type NoProxyRule, parseNoProxy } from "../adapters/proxy/no_proxy.ts";
import { parseProxyUrl, type ProxyEndpoint } from "../adapters/proxy/proxy_url.ts";
import type { TlsOptions } from "../adapters/socket.ts";
import { ArgumentError } from "../core/errors.ts";
import type { WebSocketUrl } from "../core/uri.ts";

/** The object form of the `proxy` option. */
export interface ProxyOptions {
  /** The proxy URL (see the README's Proxies section). Default: from the environment. */
  url?: string | URL;
  /**
   * Hosts reached directly, in the `no_proxy` syntax (a comma-separated string or a list).
   * Default: the `no_proxy` variable when `url` is omitted, none when it is given.
   */
  noProxy?: string | readonly string[];
  /** TLS settings of the connection to an `https://` proxy (not to the target). */
  tls?: TlsOptions;
}

/** What the `proxy` option accepts. */
export type ProxyOption = string | URL | false | ProxyOptions;

/** Which proxy each target goes through. */
export class ProxyPolicy {
  readonly #ws: ProxyEndpoint | undefined;
  readonly #wss: ProxyEndpoint | undefined;
  readonly #bypass: readonly NoProxyRule[];
  /** TLS settings of the connection to an `https://` proxy. */
  readonly tls: TlsOptions | undefined;

  constructor(
    ws: ProxyEndpoint | undefined,
    wss: ProxyEndpoint | undefined,
    bypass: readonly NoProxyRule[],
    tls: TlsOptions | undefined,
  ) {
    this.#ws = ws;
    this.#wss = wss;
    this.#bypass = bypass;
    this.tls = tls;
  }

  /** The proxy for `target`, or undefined to connect directly. */
  route(target: WebSocketUrl): ProxyEndpoint | undefined {
    if (target.socketPath !== undefined) return undefined;
    const proxy = target.secure ? this.#wss : this.#ws;
    if (!proxy || bypassesProxy(this.#bypass, target.hostname, target.port)) return undefined;
    return proxy;
  }
}

/** Environment problems already reported, so that each is reported once per process. */
const reported = new Set<string>();

function warnOnce(message: string): void {
  if (reported.has(message)) return;
  reported.add(message);
  globalThis.console?.warn(`rom-websocket: ${message}`);
}

/**
 * The endpoint of the first proxy variable for the scheme that is set and well-formed; a
 * malformed one is reported (once) and skipped, so that the next one applies.
 */
function fromEnvironment(env: EnvGetter, secure: boolean): ProxyEndpoint | undefined {
  for (const name of proxyVariables(secure)) {
    const found = firstSet(env, [name]);
    if (!found) continue;
    try {
      return parseProxyUrl(found.value);
    } catch (error) {
      warnOnce(`ignoring ${found.name}: ${(error as Error).message}`);
    }
  }
  return undefined;
}

/**
 * Checks the `proxy` option. `env` reads the environment (tests pass their own).
 *
 * @throws {ArgumentError} `INVALID_OPTION` for a malformed proxy URL or `noProxy` entry, or an
 * option of another type.
 */
export function proxyPolicy(
  option: ProxyOption | undefined,
  env: EnvGetter = readEnvironment(),
): ProxyPolicy | undefined {
  if (option === false) return undefined;
  if (typeof option === "string" || option instanceof URL) {
    const proxy = parseProxyUrl(option);
    return new ProxyPolicy(proxy, proxy, [], undefined);
  }
  if (option !== undefined && (typeof option !== "object" || option === null)) {
    throw new ArgumentError("INVALID_OPTION", "proxy must be a URL, false or an object");
  }
  const { url, noProxy, tls } = option ?? {};
  let bypass: NoProxyRule[] = [];
  if (noProxy !== undefined) {
    if (
      typeof noProxy !== "string" &&
      !(Array.isArray(noProxy) && noProxy.every((entry) => typeof entry === "string"))
    ) {
      throw new ArgumentError(
        "INVALID_OPTION",
        "proxy.noProxy must be a string or a list of strings",
      );
    }
    const list = parseNoProxy(noProxy);
    if (list.invalid.length > 0) {
      throw new ArgumentError(
        "INVALID_OPTION",
        `proxy.noProxy: cannot read ${JSON.stringify(list.invalid[0])}`,
      );
    }
    bypass = [...list.rules];
  }
  if (url !== undefined) {
    const proxy = parseProxyUrl(url);
    return new ProxyPolicy(proxy, proxy, bypass, tls);
  }
  const ws = fromEnvironment(env, false);
  const wss = fromEnvironment(env, true);
  if (!ws && !wss) return undefined;
  if (noProxy === undefined) {
    const found = noProxyFromEnvironment(env);
    if (found) {
      const list = parseNoProxy(found.value);
      for (const entry of list.invalid) {
        warnOnce(`ignoring ${JSON.stringify(entry)} in ${found.name}`);
      }
      bypass = [...list.rules];
    }
  }
  return new ProxyPolicy(ws, wss, bypass, tls);
}
