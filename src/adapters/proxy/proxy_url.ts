/**
 * Proxy URLs: `http://`, `https://`, `socks5://`, `socks5h://`, `socks4://`, `socks4a://`, with
 * an optional `user:password@`. The credentials are kept in private fields: they reach only the
 * proxy (`Proxy-Authorization`, the SOCKS sub-negotiation), never a message, `JSON.stringify` or
 * `inspect()` output.
 *
 * @module
 */

import { ArgumentError } from "../../core/errors.ts";
import { base64 } from "../../core/bytes.ts";

/** The proxy protocols understood. */
export type ProxyProtocol = "http" | "https" | "socks5" | "socks5h" | "socks4" | "socks4a";

const DEFAULT_PORTS: Record<ProxyProtocol, number> = {
  http: 80,
  https: 443,
  socks5: 1080,
  socks5h: 1080,
  socks4: 1080,
  socks4a: 1080,
};

/** `input` with whatever sits between `//` and `@` hidden, for messages. */
export function redactUrl(input: string): string {
  return input.replace(/\/\/[^/?#]*@/, "//***@");
}

/** A parsed proxy URL. */
export class ProxyEndpoint {
  /** The protocol spoken to the proxy. */
  readonly protocol: ProxyProtocol;
  /** Host name or IP address of the proxy (IPv6 without brackets). */
  readonly hostname: string;
  /** Its port (80 for http, 443 for https, 1080 for SOCKS by default). */
  readonly port: number;
  readonly #username: string | undefined;
  readonly #password: string | undefined;

  /** @throws {ArgumentError} `INVALID_OPTION` (see {@linkcode parseProxyUrl}). */
  constructor(
    protocol: ProxyProtocol,
    hostname: string,
    port: number,
    credentials?: { username: string; password: string },
  ) {
    this.protocol = protocol;
    this.hostname = hostname;
    this.port = port;
    this.#username = credentials?.username;
    this.#password = credentials?.password;
  }

  /** True for an `https://` proxy (TLS to the proxy itself). */
  get secure(): boolean {
    return this.protocol === "https";
  }

  /** True for the SOCKS protocols. */
  get socks(): boolean {
    return this.protocol.startsWith("socks");
  }

  /** The URL without credentials, e.g. `socks5h://127.0.0.1:1080`: safe to show. */
  get display(): string {
    const host = this.hostname.includes(":") ? `[${this.hostname}]` : this.hostname;
    return `${this.protocol}://${host}:${this.port}`;
  }

  /** The user and password of the URL, for the proxy only. */
  credentials(): { username: string; password: string } | undefined {
    return this.#username === undefined
      ? undefined
      : { username: this.#username, password: this.#password ?? "" };
  }

  /** `Basic ...` for `Proxy-Authorization` (RFC 9110 §11.7.1), if the URL has credentials. */
  authorization(): string | undefined {
    const c = this.credentials();
    return c && `Basic ${base64(new TextEncoder().encode(`${c.username}:${c.password}`))}`;
  }

  /** What `JSON.stringify` shows: no credentials. */
  toJSON(): { protocol: ProxyProtocol; hostname: string; port: number } {
    return { protocol: this.protocol, hostname: this.hostname, port: this.port };
  }
}

// What `inspect()` shows: Node.js and Bun (`util.inspect.custom`), Deno (`Deno.customInspect`).
// Set on the prototype (not as computed class members, which isolated declarations refuse).
for (const key of [Symbol.for("nodejs.util.inspect.custom"), Symbol.for("Deno.customInspect")]) {
  Object.defineProperty(ProxyEndpoint.prototype, key, {
    value(this: ProxyEndpoint): string {
      return `ProxyEndpoint <${this.display}>`;
    },
  });
}

/**
 * Parses a proxy URL such as `socks5h://user:secret@proxy.local:1080`. A URL without a scheme
 * (`proxy.local:3128`) is an `http://` proxy, as curl reads it.
 *
 * @throws {ArgumentError} `INVALID_OPTION` for another scheme, no host, a bad port, or SOCKS
 * credentials longer than 255 bytes (RFC 1929 §2); the message never shows the credentials.
 */
export function parseProxyUrl(input: string | URL): ProxyEndpoint {
  const text = String(input).trim();
  const shown = JSON.stringify(redactUrl(text));
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new ArgumentError("INVALID_OPTION", `invalid proxy URL ${shown}`);
  }
  const protocol = url.protocol.slice(0, -1) as ProxyProtocol;
  if (!(protocol in DEFAULT_PORTS)) {
    throw new ArgumentError(
      "INVALID_OPTION",
      `proxy must be an http://, https://, socks5://, socks5h://, socks4:// or socks4a:// URL, got ${shown}`,
    );
  }
  if (url.hostname === "") {
    throw new ArgumentError("INVALID_OPTION", `proxy URL has no host: ${shown}`);
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let credentials: { username: string; password: string } | undefined;
  if (url.username !== "" || url.password !== "") {
    try {
      credentials = {
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      };
    } catch {
      throw new ArgumentError("INVALID_OPTION", `proxy URL has malformed credentials: ${shown}`);
    }
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    if (
      protocol.startsWith("socks") &&
      (bytes(credentials.username) > 255 || bytes(credentials.password) > 255)
    ) {
      throw new ArgumentError(
        "INVALID_OPTION",
        "SOCKS user and password are limited to 255 bytes each",
      );
    }
  }
  const port = url.port === "" ? DEFAULT_PORTS[protocol] : Number(url.port);
  return new ProxyEndpoint(protocol, hostname, port, credentials);
}
