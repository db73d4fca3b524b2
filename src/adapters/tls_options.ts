/**
 * What {@linkcode TlsOptions} mean on every runtime: the name to verify, the SNI rule for IP
 * literals, the CA list, client certificates, verification on by default and the ALPN offer. Each
 * runtime file keeps only its own call (`tls.connect`, `Bun.connect`, `Deno.connectTls`) and
 * which of these it can pass.
 *
 * @module
 */

import type { TlsOptions } from "./socket.ts";

/** The runtime-neutral meaning of {@linkcode TlsOptions} for one connection. */
export interface TlsSettings {
  /** The name the certificate must match: `tls.serverName`, else the host connected to. */
  readonly serverName: string;
  /** Trusted CA certificates (PEM), as given. */
  readonly ca: string | string[] | undefined;
  /** Client certificate chain (PEM). */
  readonly cert: string | undefined;
  /** Client private key (PEM). */
  readonly key: string | undefined;
  /** Verify the server certificate and host name: true unless `false` is given. */
  readonly rejectUnauthorized: boolean;
}

/** {@linkcode TlsSettings} of a connection to `hostname`. */
export function tlsSettings(tls: TlsOptions, hostname: string): TlsSettings {
  return {
    serverName: tls.serverName ?? hostname,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/**
 * The ALPN offer (RFC 7301): `http/1.1`, since the opening handshake is an HTTP/1.1 Upgrade
 * (RFC 6455 §4.1); a server that also speaks h2 must not pick it for this connection. A new
 * array each time: runtimes take ownership of what they are given.
 */
export function alpnProtocols(): string[] {
  return ["http/1.1"];
}

/** `ca` as a list (Deno's `caCerts`), or undefined when none is given. */
export function caList(ca: string | string[] | undefined): string[] | undefined {
  return ca === undefined ? undefined : Array.isArray(ca) ? ca : [ca];
}

/**
 * The SNI host name for `name`, or undefined for an IP literal: RFC 6066 §3 allows only DNS host
 * names in `server_name` ("Literal IPv4 and IPv6 addresses are not permitted").
 */
export function sniName(name: string): string | undefined {
  return isIpLiteral(name) ? undefined : name;
}

// The grammar of Node's `net.isIP` (lib/internal/net.js), which decided this before the rule moved
// here: dotted-quad IPv4 without leading zeros, IPv6 with an optional zone index.
const V4_SEG = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V4 = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = "(?:[0-9a-fA-F]{1,4})";
const IPV4 = new RegExp(`^${V4}$`);
const IPV6 = new RegExp(
  "^(?:" +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4}|(?::${V6_SEG}){1,7}|:))` +
    ")(?:%[0-9a-zA-Z-.:]{1,})?$",
);

/** True for an IPv4 or IPv6 address (without brackets), as `net.isIP` decides. */
export function isIpLiteral(name: string): boolean {
  return IPV4.test(name) || IPV6.test(name);
}
