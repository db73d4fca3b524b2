/**
 * Payloads shared by the benchmark client (`client.ts`) and the micro-benchmarks (`micro.ts`).
 *
 * @module
 */

/** Deterministic incompressible bytes (xorshift32 from `seed`). */
export function randomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** JSON-like ASCII text of exactly `length` characters (compresses like real JSON events). */
export function jsonText(length: number): string {
  const names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
  let s = "";
  for (let i = 0; s.length < length; i++) {
    s += `{"id":${i},"type":"event","name":"${names[i % names.length]}","active":${
      i % 3 === 0
    },"score":${(i * 7919) % 1000}},`;
  }
  return s.slice(0, length);
}
