/**
 * The base of the scripted feed peers (`slack.ts`, `pusher.ts`, `pushbullet.ts`): one HTTP server
 * (the `ws` package on `node:http`, so it runs on Deno, Bun and Node alike) that answers plain
 * HTTP requests (the services' REST calls), refuses or accepts WebSocket upgrades as the service
 * would, and exchanges JSON messages. Every connection is recorded (path, headers, the messages
 * received, when it opened and closed, and who closed it); `close()` ends every connection and
 * timer.
 *
 * @module
 */

import * as http from "node:http";
import type * as net from "node:net";
import { type WebSocket as WsSocket, WebSocketServer } from "ws";
import { type Deferred, deferred, withTimeout } from "../async.ts";

/** How a peer connection ended. */
export interface PeerClose {
  readonly code: number;
  readonly reason: string;
  /** The client sent its close frame first (or dropped TCP); false when the peer closed first. */
  readonly byClient: boolean;
}

/** One WebSocket connection to a peer. */
export interface PeerConnection {
  /** Index in accept order, from 0. */
  readonly index: number;
  /** The request URL (path and query). */
  readonly url: URL;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON messages received, parsed, in order. */
  readonly received: readonly Record<string, unknown>[];
  /** When it opened and closed (performance.now()). */
  readonly openedAt: number;
  readonly closedAt: number | undefined;
  readonly open: boolean;
  /** Settles once the connection is closed. */
  readonly closed: Promise<PeerClose>;
  /** Sends `message` as JSON text. */
  send(message: unknown): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Destroys TCP without a close frame. */
  terminate(): void;
  /** Free per-service state. */
  state: Record<string, unknown>;
}

/** What a peer does. */
export interface PeerScript {
  /** An HTTP status to refuse the upgrade with, or undefined to accept. */
  upgrade?(url: URL, headers: Readonly<Record<string, string>>): number | undefined;
  /** A connection opened. */
  connection?(connection: PeerConnection): void;
  /** A JSON message arrived (non-JSON text is recorded as `{ raw }`). */
  message?(connection: PeerConnection, message: Record<string, unknown>): void;
  /** A connection closed. */
  closed?(connection: PeerConnection, close: PeerClose): void;
  /** A plain HTTP request; answers it and returns true, or false for a 404. */
  http?(request: PeerRequest): PeerResponse | undefined | Promise<PeerResponse | undefined>;
}

/** A plain HTTP request to a peer. */
export interface PeerRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The answer to a {@linkcode PeerRequest}: a status and a JSON body. */
export interface PeerResponse {
  readonly status: number;
  readonly json: unknown;
}

/** A running peer. */
export interface Peer {
  readonly port: number;
  /** `ws://127.0.0.1:port` + path. */
  url(path: string): string;
  /** `http://127.0.0.1:port` + path. */
  httpUrl(path: string): string;
  readonly connections: readonly PeerConnection[];
  /** Waits for the connection with this index (default: the next one). */
  connection(index?: number, ms?: number): Promise<PeerConnection>;
  /** Connections open right now. */
  readonly openConnections: PeerConnection[];
  /** Most connections open at the same time so far. */
  readonly maxConcurrent: number;
  /** Ends every connection, stops listening. Idempotent. */
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
};

function lowerHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Starts a peer on a free port of 127.0.0.1. */
export async function startPeer(script: PeerScript): Promise<Peer> {
  const connections: PeerConnection[] = [];
  const waiters = new Map<number, Deferred<PeerConnection>>();
  const sockets = new Set<net.Socket>();
  const live = new Set<WsSocket>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", async () => {
      const request: PeerRequest = {
        method: req.method ?? "GET",
        url: new URL(req.url ?? "/", "http://127.0.0.1"),
        headers: lowerHeaders(req.headers),
        body,
      };
      let answer: PeerResponse | undefined;
      try {
        answer = await script.http?.(request);
      } catch (error) {
        answer = { status: 500, json: { error: String(error) } };
      }
      const status = answer?.status ?? 404;
      res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(answer?.json ?? { error: "not found" }));
    });
  });
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Uint8Array) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers = lowerHeaders(req.headers);
    const refusal = script.upgrade?.(url, headers);
    if (refusal !== undefined) {
      const text = STATUS_TEXT[refusal] ?? "Refused";
      socket.end(
        `HTTP/1.1 ${refusal} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head as Buffer, (ws: WsSocket) => {
      live.add(ws);
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      const closed = deferred<PeerClose>();
      const received: Record<string, unknown>[] = [];
      let peerClosedFirst = false;
      let isOpen = true;
      const connection: PeerConnection = {
        index: connections.length,
        url,
        headers,
        received,
        openedAt: performance.now(),
        closedAt: undefined,
        get open() {
          return isOpen;
        },
        closed: closed.promise,
        send(message) {
          if (ws.readyState === 1) ws.send(JSON.stringify(message));
        },
        close(code = 1000, reason = "") {
          if (ws.readyState !== 1) return;
          peerClosedFirst = true;
          ws.close(code, reason);
        },
        terminate() {
          peerClosedFirst = true;
          ws.terminate();
        },
        state: {},
      };
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const text = isBinary ? "" : data.toString("utf8");
        let message: Record<string, unknown>;
        try {
          const parsed = JSON.parse(text);
          message = typeof parsed === "object" && parsed !== null ? parsed : { raw: text };
        } catch {
          message = { raw: text };
        }
        received.push(message);
        script.message?.(connection, message);
      });
      ws.on("error", () => {});
      ws.on("close", (code: number, reason: Buffer) => {
        live.delete(ws);
        concurrent--;
        isOpen = false;
        (connection as { closedAt: number | undefined }).closedAt = performance.now();
        const close = { code, reason: reason.toString("utf8"), byClient: !peerClosedFirst };
        closed.resolve(close);
        script.closed?.(connection, close);
      });
      connections.push(connection);
      waiters.get(connection.index)?.resolve(connection);
      waiters.delete(connection.index);
      script.connection?.(connection);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    httpUrl: (path) => `http://127.0.0.1:${port}${path}`,
    connections,
    connection(index = connections.length, ms = 5000) {
      if (index < connections.length) return Promise.resolve(connections[index]);
      let waiter = waiters.get(index);
      if (!waiter) {
        waiter = deferred<PeerConnection>();
        waiters.set(index, waiter);
      }
      return withTimeout(waiter.promise, ms, `peer: connection #${index}`);
    },
    get openConnections() {
      return connections.filter((c) => c.open);
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    close() {
      closing ??= (async () => {
        for (const ws of live) ws.terminate();
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        wss.close();
      })();
      return closing;
    },
  };
}
