/**
 * `client.stats`: what a client has moved and how its connection fares, counted across
 * reconnections. The counters are plain integer fields of one object per client, bumped where the
 * work happens anyway (a chunk read, a message handed over, a frame written): no allocation and
 * no clock read per message. `client.stats` copies them into a {@linkcode ClientStats}.
 *
 * @module
 */

/** A snapshot of a client's counters (`client.stats`); every count covers all its connections. */
export interface ClientStats {
  /** Messages received (text and binary). */
  readonly messagesIn: number;
  /** Messages handed to the socket. */
  readonly messagesOut: number;
  /** Payload bytes of the messages received, after decompression (text as UTF-8). */
  readonly bytesIn: number;
  /** Payload bytes of the messages sent, before compression (text as UTF-8). */
  readonly bytesOut: number;
  /**
   * Bytes read from the socket: the handshake response, frame headers, control frames and
   * compressed payloads included. `wireBytesIn / bytesIn` shows what compression saves.
   */
  readonly wireBytesIn: number;
  /** Bytes written to the socket: the request, headers, masks, control frames, compressed data. */
  readonly wireBytesOut: number;
  /** Reconnections scheduled after a drop or a failed attempt (`reconnect` events). */
  readonly reconnects: number;
  /** Round-trip time of the last answered ping (`ping()` or keepalive), in ms; undefined before. */
  readonly lastRtt: number | undefined;
  /** When the current connection opened (epoch ms); undefined while not open. */
  readonly connectedSince: number | undefined;
}

/** The live counters of one client, shared by its connections (internal). */
export class Counters {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  wireBytesIn = 0;
  wireBytesOut = 0;
  reconnects = 0;
  lastRtt: number | undefined = undefined;
  connectedSince: number | undefined = undefined;

  /** A copy, safe to keep and compare with a later one. */
  snapshot(): ClientStats {
    return {
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      wireBytesIn: this.wireBytesIn,
      wireBytesOut: this.wireBytesOut,
      reconnects: this.reconnects,
      lastRtt: this.lastRtt,
      connectedSince: this.connectedSince,
    };
  }
}
