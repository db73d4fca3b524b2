/**
 * The server of the shared scenarios (`scenarios.ts`), which both clients (this runtime's and the
 * browser build in Chromium) run against: the `ws` package on `node:http`, on a port that stays
 * the same across {@linkcode ScenarioServer.restart} (so a reconnecting client finds it again).
 *
 * | path | behaviour |
 * | --- | --- |
 * | `/` (any other path) | echoes text as text and binary as binary |
 * | `/send?m=a&m=b` | sends each `m` as a text message right after open, then echoes |
 * | `/headers` | sends the request headers as one JSON text message, then echoes |
 * | `/close/<code>` | closes with `<code>` and reason "bye" right after open |
 * | `/silent` | receives and never answers (the closing handshake aside) |
 * | `/hang` | accepts TCP and never answers the handshake |
 * | `/deaf` | answers the handshake (101), then reads nothing and answers nothing, not even a close |
 *
 * Plain HTTP requests get the `files` given, or 426.
 *
 * @module
 */

import * as http from "node:http";
import type * as net from "node:net";
import { WebSocketServer } from "ws";
import { acceptFor } from "../../src/core/handshake.ts";

/** A running scenario server. */
export interface ScenarioServer {
  readonly port: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Connections accepted so far (WebSocket upgrades, `/hang` excluded). */
  readonly accepted: number;
  /**
   * Drops every connection (TCP destroyed, no close frame: the client sees 1006), stops listening
   * for `downMs`, then listens again on the same port.
   */
  restart(downMs?: number): Promise<void>;
  /** Drops everything and stops listening. */
  close(): Promise<void>;
}

/** A file served over plain HTTP by the scenario server (the browser's test page). */
export interface ServedFile {
  readonly type: string;
  readonly body: string | Uint8Array;
}

/**
 * Starts a scenario server on a free loopback port. `files` are served over plain HTTP at their
 * paths (the browser tests load their page from the same origin as the WebSockets).
 */
export async function startScenarioServer(
  files: Readonly<Record<string, ServedFile>> = {},
): Promise<ScenarioServer> {
  const sockets = new Set<net.Socket>();
  const wss = new WebSocketServer({ noServer: true });
  let accepted = 0;
  const server = http.createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://localhost").pathname];
    if (file) {
      response.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
      response.end(file.body);
    } else {
      response.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only");
    }
  });
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const target = new URL(request.url ?? "/", "http://localhost");
    if (target.pathname === "/hang") return; // never answered
    if (target.pathname === "/deaf") {
      const key = String(request.headers["sec-websocket-key"]);
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      );
      socket.on("data", () => {}); // read and ignored: no close reply
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      accepted++;
      ws.on("error", () => {});
      const path = target.pathname;
      const close = /^\/close\/(\d{4})$/.exec(path);
      if (close) return ws.close(Number(close[1]), "bye");
      if (path === "/send") { for (const m of target.searchParams.getAll("m")) ws.send(m); }
      if (path === "/headers") ws.send(JSON.stringify(request.headers));
      if (path === "/silent") return;
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (path = "/") => `ws://127.0.0.1:${port}${path.startsWith("/") ? path : `/${path}`}`,
    get accepted() {
      return accepted;
    },
    async restart(downMs = 300) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await listen(port);
    },
    close: stop,
  };
}
