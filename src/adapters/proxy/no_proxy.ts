/**
 * `no_proxy` as curl reads it: a comma-separated list of hosts that are reached directly.
 *
 * - `*` alone: no host uses the proxy;
 * - a host name, with or without a leading `.` (or `*.`): that name and every name under it
 *   (`example.com` and `.example.com` both match `example.com` and `www.example.com`), compared
 *   without case and without a trailing dot;
 * - an IP literal (IPv6 with or without brackets): that address only; with `/bits`, a CIDR range;
 * - any of these with `:port` (IPv6 in brackets then): only connections to that port.
 *
 * There is no implicit entry: `localhost` and loopback addresses go through the proxy unless the
 * list names them. Names are never resolved to match addresses (nor addresses to match names).
 *
 * @module
 */

import { ipBytes, samePrefix } from "./ip.ts";

/** One parsed entry of a `no_proxy` list. */
export type NoProxyRule =
  | { readonly kind: "all" }
  | { readonly kind: "name"; readonly name: string; readonly port?: number }
  | {
    readonly kind: "ip";
    readonly address: Uint8Array;
    readonly bits: number;
    readonly port?: number;
  };

/** A parsed `no_proxy` list: its rules, and the entries that could not be read. */
export interface NoProxyList {
  readonly rules: readonly NoProxyRule[];
  /** Entries that are not a host, an address, a range or `*` (as written). */
  readonly invalid: readonly string[];
}

const NAME = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** One entry, or undefined when it cannot be read. */
export function parseNoProxyEntry(entry: string): NoProxyRule | undefined {
  const e = entry.trim().toLowerCase();
  if (e === "*") return { kind: "all" };
  if (e === "") return undefined;
  let host = e;
  let port: number | undefined;
  let bits: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(e);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) {
      port = parsePort(bracketed[2]);
      if (port === undefined) return undefined;
    }
  } else if ((e.match(/:/g) ?? []).length === 1) {
    const at = e.lastIndexOf(":");
    host = e.slice(0, at);
    port = parsePort(e.slice(at + 1));
    if (port === undefined) return undefined;
  }
  const slash = host.indexOf("/");
  if (slash >= 0) {
    if (!/^\d{1,3}$/.test(host.slice(slash + 1))) return undefined;
    bits = Number(host.slice(slash + 1));
    host = host.slice(0, slash);
  }
  const address = ipBytes(host);
  if (address) {
    bits ??= address.length * 8;
    if (bits > address.length * 8) return undefined;
    return port === undefined ? { kind: "ip", address, bits } : { kind: "ip", address, bits, port };
  }
  if (bits !== undefined) return undefined; // a range needs an address
  const name = host.replace(/^\*?\./, "").replace(/\.$/, "");
  if (!NAME.test(name)) return undefined;
  return port === undefined ? { kind: "name", name } : { kind: "name", name, port };
}

/** Parses a `no_proxy` value (entries separated by commas; spaces around them are ignored). */
export function parseNoProxy(value: string | readonly string[]): NoProxyList {
  const entries = typeof value === "string" ? value.split(",") : value.flatMap((v) => v.split(","));
  const rules: NoProxyRule[] = [];
  const invalid: string[] = [];
  for (const entry of entries) {
    if (entry.trim() === "") continue;
    const rule = parseNoProxyEntry(entry);
    if (rule) rules.push(rule);
    else invalid.push(entry.trim());
  }
  return { rules, invalid };
}

/**
 * Whether a connection to `hostname:port` skips the proxy. `hostname` is the URL's host (IPv6
 * without brackets).
 */
export function bypassesProxy(
  rules: readonly NoProxyRule[],
  hostname: string,
  port: number,
): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  const address = ipBytes(host);
  for (const rule of rules) {
    if (rule.kind === "all") return true;
    if (rule.port !== undefined && rule.port !== port) continue;
    if (rule.kind === "ip") {
      if (address && samePrefix(address, rule.address, rule.bits)) return true;
    } else if (!address && (host === rule.name || host.endsWith(`.${rule.name}`))) {
      return true;
    }
  }
  return false;
}
