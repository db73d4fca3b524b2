/**
 * Payloads shared by the benchmark client (`client.ts`), the echo server (`echo_server.ts`, its
 * feed) and the micro-benchmarks (`micro.ts`).
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

/** An ARI-like event (`ChannelStateChange`) as a feed sends it, with `pad` to reach a size. */
export function feedEvent(seq: number, pad: string): string {
  return JSON.stringify({
    type: "ChannelStateChange",
    seq,
    timestamp: "2026-12-01T13:00:00.000+0000",
    channel: {
      id: "1733058000.42",
      name: "PJSIP/alice-00000001",
      state: "Up",
      caller: { name: "Alice", number: "1001" },
      connected: { name: "Bob", number: "1002" },
      dialplan: { context: "default", exten: "1002", priority: 3 },
      creationtime: "2026-12-01T12:59:58.123+0000",
      language: "en",
    },
    application: "rom",
    pad,
  });
}

/** Length of {@linkcode feedEvent} with an empty pad, less the digits of its sequence number. */
export function feedEventBase(): number {
  return feedEvent(0, "").length - 1;
}

/** Distinct events the server's feed cycles through; the n-th message it pushes has `seq` n % this. */
export const FEED_RING = 1024;

/** The feed's events: `FEED_RING` of them, each exactly `size` characters (ASCII). */
export function feedEvents(size: number): string[] {
  const base = feedEventBase();
  return Array.from({ length: FEED_RING }, (_, seq) => {
    const pad = "p".repeat(Math.max(0, size - base - String(seq).length));
    return feedEvent(seq, pad);
  });
}
