/**
 * IP address literals as bytes, for `no_proxy` ranges (CIDR) and SOCKS addresses (RFC 1928 §5:
 * 4 bytes for IPv4, 16 for IPv6).
 *
 * @module
 */

import { isIpLiteral } from "../tls_options.ts";

/** The 4 (IPv4) or 16 (IPv6) bytes of an address literal (no brackets), or undefined. */
export function ipBytes(literal: string): Uint8Array | undefined {
  const address = literal.replace(/%.*$/, ""); // an IPv6 zone index names an interface, not bits
  if (!isIpLiteral(address)) return undefined;
  if (!address.includes(":")) return Uint8Array.from(address.split(".").map(Number));
  let head = address;
  let v4: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    v4 = dotted[1].split(".").map(Number);
    head = address.slice(0, dotted.index + 1) + "0:0"; // two placeholder groups, replaced below
  }
  const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
  const groups = (part: string | undefined) => part ? part.split(":").filter((g) => g !== "") : [];
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill("0"), ...r];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  if (v4.length === 4) out.set(v4, 12);
  return out;
}

/** Whether the first `prefix` bits of `a` and `b` (same length) are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const bits = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((a[bit >> 3] & mask) !== (b[bit >> 3] & mask)) return false;
  }
  return true;
}
