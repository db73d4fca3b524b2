// A tiny WebSocket echo server for the demo, on node:net (Deno, Bun and Node.js all have it).
// It handles only what the demo needs: one frame per message, payloads under 64 KiB.
import { createServer, type Socket } from "node:net";
import { acceptFor } from "../src/core/handshake.ts";

export async function startEchoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = new Uint8Array(0);
    let open = false;
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      if (!open) {
        const text = new TextDecoder().decode(buffer);
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(text)?.[1] ?? "";
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
        );
        open = true;
        buffer = buffer.subarray(end + 4);
      }
      while (buffer.length >= 6) {
        const opcode = buffer[0] & 0x0f;
        let length = buffer[1] & 0x7f;
        let at = 2;
        if (length === 126) {
          length = (buffer[2] << 8) | buffer[3];
          at = 4;
        }
        if (buffer.length < at + 4 + length) return;
        const key = buffer.subarray(at, at + 4);
        const payload = buffer.slice(at + 4, at + 4 + length);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
        buffer = buffer.subarray(at + 4 + length);
        const reply = opcode === 0x9 ? 0xa : opcode; // answer pings, echo the rest
        const header = length < 126
          ? [0x80 | reply, length]
          : [0x80 | reply, 126, length >> 8, length & 0xff];
        socket.write(new Uint8Array([...header, ...payload]));
        if (opcode === 0x8) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
