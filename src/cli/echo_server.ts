/**
 * The CLI's embedded echo server (`rom-ws` with no URL), on `node:net` (which Deno, Bun and
 * Node.js all provide); the examples and tests use it too. It echoes every data frame as received
 * (fragmentation kept), answers pings and the closing handshake. Loopback only; not a
 * general-purpose server, and not a published entry point.
 *
 * @module
 */

import { createServer, type Server, type Socket as NetSocket } from "node:net";
import { acceptFor } from "../core/handshake.ts";

/** A running echo server. */
export interface EchoServer {
  /** The TCP port it listens on (127.0.0.1). */
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const MAX_FRAME = 64 * 1024 * 1024;

/** Starts an echo server on a free loopback port. */
export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    serve(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(socket: NetSocket): void {
  let buffer = new Uint8Array(0);
  let open = false;
  socket.on("data", (chunk: Uint8Array) => {
    if (buffer.length === 0) {
      buffer = new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength);
    } else {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
    }
    if (!open) {
      const end = indexOfHeadEnd(buffer);
      if (end < 0) {
        if (buffer.length > 16384) socket.destroy();
        return;
      }
      const head = new TextDecoder().decode(buffer.subarray(0, end));
      const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(head)?.[1];
      if (!key || !/^GET /.test(head)) {
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      );
      open = true;
      buffer = buffer.slice(end + 4);
    }
    let at = 0;
    for (;;) {
      const used = echoFrame(socket, buffer, at);
      if (used <= 0) {
        if (used < 0) return;
        break;
      }
      at += used;
    }
    buffer = at === 0 ? buffer : buffer.slice(at);
  });
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i - 3;
  }
  return -1;
}

/** Echoes one complete frame at `b[at..]`: returns its length, 0 if incomplete, -1 if closed. */
function echoFrame(socket: NetSocket, b: Uint8Array, at: number): number {
  const available = b.length - at;
  if (available < 2) return 0;
  const b0 = b[at];
  const b1 = b[at + 1];
  if ((b1 & 0x80) === 0) {
    socket.destroy(); // client frames must be masked
    return -1;
  }
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (available < 4) return 0;
    length = (b[at + 2] << 8) | b[at + 3];
    offset = 4;
  } else if (length === 127) {
    if (available < 10) return 0;
    length = (b[at + 6] * 2 ** 24) + ((b[at + 7] << 16) | (b[at + 8] << 8) | b[at + 9]);
    if (b[at + 2] | b[at + 3] | b[at + 4] | b[at + 5] || length > MAX_FRAME) {
      socket.destroy();
      return -1;
    }
    offset = 10;
  }
  if (available < offset + 4 + length) return 0;
  const key = b.subarray(at + offset, at + offset + 4);
  const payload = b.slice(at + offset + 4, at + offset + 4 + length);
  for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
  const opcode = b0 & 0x0f;
  const reply = opcode === 0x9 ? 0xa : opcode;
  if (opcode !== 0xa) {
    const header = length < 126
      ? [b0 & 0xf0 | reply, length]
      : length < 65536
      ? [b0 & 0xf0 | reply, 126, length >> 8, length & 0xff]
      : [
        b0 & 0xf0 | reply,
        127,
        0,
        0,
        0,
        0,
        length >>> 24,
        (length >> 16) & 0xff,
        (length >> 8) & 0xff,
        length & 0xff,
      ];
    const frame = new Uint8Array(header.length + length);
    frame.set(header);
    frame.set(payload, header.length);
    socket.write(frame);
  }
  if (opcode === 0x8) {
    socket.end(); // the server closes TCP after the closing handshake (RFC 6455 §7.1.1)
    return -1;
  }
  return offset + 4 + length;
}
