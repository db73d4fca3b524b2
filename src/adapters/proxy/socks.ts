/**
 * SOCKS tunnels: SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), and SOCKS4
 * and 4a, opened over any {@linkcode Socket}. `socks5h://` and `socks4a://` send the target's
 * name for the proxy to resolve; `socks5://` and `socks4://` resolve it here first (SOCKS4 carries
 * IPv4 only). The message builders and reply readers are pure functions, tested byte by byte.
 *
 * @module
 */

import { NetworkError } from "../../core/errors.ts";
import type { Socket } from "../socket.ts";
import { ipBytes } from "./ip.ts";
import type { ProxyEndpoint } from "./proxy_url.ts";

/** RFC 1928 §3 authentication methods. */
export const SocksMethod = { NONE: 0x00, USERNAME_PASSWORD: 0x02, NO_ACCEPTABLE: 0xff } as const;

/** RFC 1928 §6 reply codes, as the reason a `PROXY_ERROR` gives. */
export const SOCKS5_REPLIES: Readonly<Record<number, string>> = {
  0x01: "general SOCKS server failure",
  0x02: "connection not allowed by ruleset",
  0x03: "network unreachable",
  0x04: "host unreachable",
  0x05: "connection refused by the target",
  0x06: "TTL expired",
  0x07: "command not supported",
  0x08: "address type not supported",
};

/** SOCKS4 reply codes (0x5a is granted). */
export const SOCKS4_REPLIES: Readonly<Record<number, string>> = {
  0x5b: "request rejected or failed",
  0x5c: "request rejected: the proxy cannot reach the client's identd",
  0x5d: "request rejected: identd reports a different user",
};

/** The method-selection message (RFC 1928 §3): NONE, plus USERNAME/PASSWORD with credentials. */
export function socks5Greeting(withCredentials: boolean): Uint8Array {
  return withCredentials
    ? Uint8Array.of(5, 2, SocksMethod.NONE, SocksMethod.USERNAME_PASSWORD)
    : Uint8Array.of(5, 1, SocksMethod.NONE);
}

/** The username/password request (RFC 1929 §2); each part at most 255 bytes (checked earlier). */
export function socks5AuthRequest(username: string, password: string): Uint8Array {
  const u = new TextEncoder().encode(username);
  const p = new TextEncoder().encode(password);
  return Uint8Array.of(1, u.length, ...u, p.length, ...p);
}

/**
 * The CONNECT request (RFC 1928 §4): an IPv4 or IPv6 literal as such (ATYP 1 or 4), anything
 * else as a domain name (ATYP 3, at most 255 bytes).
 *
 * @throws {NetworkError} `PROXY_ERROR` for a name longer than 255 bytes.
 */
export function socks5ConnectRequest(host: string, port: number): Uint8Array {
  const address = ipBytes(host);
  let field: number[];
  if (address) {
    field = [address.length === 4 ? 1 : 4, ...address];
  } else {
    const name = new TextEncoder().encode(host);
    if (name.length > 255) {
      throw new NetworkError("PROXY_ERROR", "SOCKS5 cannot carry a host name over 255 bytes");
    }
    field = [3, name.length, ...name];
  }
  return Uint8Array.of(5, 1, 0, ...field, port >> 8, port & 0xff);
}

/**
 * The SOCKS4 CONNECT request: to an IPv4 address, or (SOCKS4a) to `0.0.0.1` with the name
 * after the user id (the proxy URL's user, SOCKS4's only credential; empty by default).
 */
export function socks4ConnectRequest(host: string, port: number, userId = ""): Uint8Array {
  const address = ipBytes(host);
  const head = [4, 1, port >> 8, port & 0xff];
  const user = new TextEncoder().encode(userId);
  if (address?.length === 4) return Uint8Array.of(...head, ...address, ...user, 0);
  const name = new TextEncoder().encode(host);
  return Uint8Array.of(...head, 0, 0, 0, 1, ...user, 0, ...name, 0);
}

/** What a reader of a SOCKS answer says about the bytes so far. */
export type SocksVerdict =
  | { readonly need: number }
  | { readonly ok: true; readonly length: number }
  | { readonly error: string };

/** Reads the method selection (RFC 1928 §3): the method, which must be one that was offered. */
export function readSocks5Method(bytes: Uint8Array, withCredentials: boolean): SocksVerdict & {
  method?: number;
} {
  if (bytes.length < 2) return { need: 2 };
  if (bytes[0] !== 5) return { error: `not a SOCKS5 answer (version byte ${bytes[0]})` };
  const method = bytes[1];
  if (method === SocksMethod.NO_ACCEPTABLE) {
    return {
      error: withCredentials
        ? "the proxy accepts none of the offered authentication methods"
        : "the proxy requires authentication (give user:password in the proxy URL)",
    };
  }
  if (
    method !== SocksMethod.NONE &&
    !(withCredentials && method === SocksMethod.USERNAME_PASSWORD)
  ) {
    return {
      error: `the proxy chose authentication method 0x${hex(method)}, which was not offered`,
    };
  }
  return { ok: true, length: 2, method };
}

/** Reads the username/password answer (RFC 1929 §2): status 0 is success. */
export function readSocks5AuthReply(bytes: Uint8Array): SocksVerdict {
  if (bytes.length < 2) return { need: 2 };
  // RFC 1929 says version 1; some servers answer with 5. Only the status decides.
  if (bytes[0] !== 1 && bytes[0] !== 5) {
    return { error: `not a SOCKS5 authentication answer (version byte ${bytes[0]})` };
  }
  if (bytes[1] !== 0) return { error: "authentication failed (user or password refused)" };
  return { ok: true, length: 2 };
}

/** Reads the CONNECT reply (RFC 1928 §6), whose length depends on its address type. */
export function readSocks5Reply(bytes: Uint8Array): SocksVerdict {
  if (bytes.length < 5) return { need: 5 };
  if (bytes[0] !== 5) return { error: `not a SOCKS5 reply (version byte ${bytes[0]})` };
  if (bytes[1] !== 0) {
    return { error: `${SOCKS5_REPLIES[bytes[1]] ?? "unknown reply"} (reply ${bytes[1]})` };
  }
  const atyp = bytes[3];
  const address = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + bytes[4] : -1;
  if (address < 0) return { error: `SOCKS5 reply with unknown address type ${atyp}` };
  const length = 4 + address + 2;
  return bytes.length < length ? { need: length } : { ok: true, length };
}

/** Reads the 8-byte SOCKS4 reply: version 0, status 0x5a granted. */
export function readSocks4Reply(bytes: Uint8Array): SocksVerdict {
  if (bytes.length < 8) return { need: 8 };
  if (bytes[0] !== 0) return { error: `not a SOCKS4 reply (version byte ${bytes[0]})` };
  if (bytes[1] !== 0x5a) {
    return { error: `${SOCKS4_REPLIES[bytes[1]] ?? "unknown reply"} (reply 0x${hex(bytes[1])})` };
  }
  return { ok: true, length: 8 };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Collects what the proxy sends until a reader is satisfied. */
class Answers {
  #buffer = new Uint8Array(0);
  constructor(readonly socket: Socket, readonly context: string) {}

  async take(reader: (bytes: Uint8Array) => SocksVerdict): Promise<Uint8Array> {
    for (;;) {
      const verdict = reader(this.#buffer);
      if ("error" in verdict) {
        throw new NetworkError("PROXY_ERROR", `${this.context}: ${verdict.error}`);
      }
      if ("ok" in verdict) {
        const answer = this.#buffer.subarray(0, verdict.length);
        this.#buffer = this.#buffer.subarray(verdict.length);
        return answer;
      }
      const chunk = await this.socket.read();
      if (chunk === null) {
        throw new NetworkError("PROXY_ERROR", `${this.context}: the proxy closed the connection`);
      }
      const joined = new Uint8Array(this.#buffer.length + chunk.length);
      joined.set(this.#buffer);
      joined.set(chunk, this.#buffer.length);
      this.#buffer = joined;
    }
  }

  /** The target has not spoken yet (it waits for our handshake), so nothing may follow. */
  checkDone(): void {
    if (this.#buffer.length > 0) {
      throw new NetworkError("PROXY_ERROR", `${this.context}: the proxy sent data after its reply`);
    }
  }
}

/**
 * Resolves `hostname` here, for `socks5://` (any family) and `socks4://` (IPv4), with the system
 * resolver (`node:dns`, which every runtime has; loaded on first need). IP literals pass as they
 * are.
 *
 * @throws {NetworkError} `HOST_NOT_FOUND`.
 */
export async function resolveHere(hostname: string, ipv4Only: boolean): Promise<string> {
  if (ipBytes(hostname)) return hostname;
  const { lookup } = await import("node:dns/promises");
  try {
    return (await lookup(hostname, { family: ipv4Only ? 4 : 0 })).address;
  } catch (error) {
    throw new NetworkError("HOST_NOT_FOUND", `cannot resolve ${hostname} for the SOCKS proxy`, {
      cause: error,
    });
  }
}

/**
 * Asks the SOCKS proxy, over `socket`, for a tunnel to `hostname:port`. Afterwards the socket
 * carries the tunnel's bytes.
 *
 * @throws {NetworkError} `PROXY_ERROR` with the reason (refused, unreachable, authentication
 * failed, an unknown method, an answer that is not SOCKS); `HOST_NOT_FOUND` when a local
 * resolution fails.
 */
export async function openSocksTunnel(
  socket: Socket,
  target: { hostname: string; port: number },
  proxy: ProxyEndpoint,
): Promise<void> {
  const authority = target.hostname.includes(":")
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`;
  const context = `${proxy.display} CONNECT ${authority}`;
  const answers = new Answers(socket, context);
  const v4 = proxy.protocol === "socks4" || proxy.protocol === "socks4a";
  const host = proxy.protocol === "socks5" || proxy.protocol === "socks4"
    ? await resolveHere(target.hostname, v4)
    : target.hostname;
  if (v4) {
    if (ipBytes(host)?.length === 16) {
      throw new NetworkError("PROXY_ERROR", `${context}: SOCKS4 cannot reach an IPv6 address`);
    }
    await socket.write(socks4ConnectRequest(host, target.port, proxy.credentials()?.username));
    await answers.take(readSocks4Reply);
    answers.checkDone();
    return;
  }
  const credentials = proxy.credentials();
  await socket.write(socks5Greeting(credentials !== undefined));
  const selection = await answers.take((b) => readSocks5Method(b, credentials !== undefined));
  if (selection[1] === SocksMethod.USERNAME_PASSWORD && credentials) {
    await socket.write(socks5AuthRequest(credentials.username, credentials.password));
    await answers.take(readSocks5AuthReply);
  }
  await socket.write(socks5ConnectRequest(host, target.port));
  await answers.take(readSocks5Reply);
  answers.checkDone();
}
