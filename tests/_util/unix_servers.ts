/**
 * WebSocket echo servers on a Unix domain socket, for `ws+unix://`: `ws` on `node:http` (every
 * runtime), and the runtime's own server where it has one (`Deno.serve({ path })`,
 * `Bun.serve({ unix })`). Each socket lives in a temporary directory that `close()` removes.
 *
 * @module
 */

import * as http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer } from "ws";

/** A running echo server on a Unix socket. */
export interface UnixEchoServer {
  /** Which server it is. */
  readonly kind: "ws" | "deno" | "bun";
  /** The socket's path. */
  readonly path: string;
  /** `ws+unix://<path>:<request>`. */
  url(request?: string): string;
  /** Request target and Host header of each WebSocket accepted. */
  readonly requests: { path: string; host: string }[];
  close(): Promise<void>;
}

/** The servers this runtime can run. */
export function unixServerKinds(): ("ws" | "deno" | "bun")[] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno ? ["ws", "deno"] : g.Bun ? ["ws", "bun"] : ["ws"];
}

function socketDir(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "rom-unix-"));
  return { dir, path: join(dir, "ws.sock") };
}

/** Starts an echo server of `kind` on a fresh Unix socket. */
export function startUnixEchoServer(kind: "ws" | "deno" | "bun"): Promise<UnixEchoServer> {
  switch (kind) {
    case "ws":
      return startWs();
    case "deno":
      return startDeno();
    case "bun":
      return startBun();
  }
}

const urlOf = (path: string) => (request = "/") => `ws+unix://${path}:${request}`;

async function startWs(): Promise<UnixEchoServer> {
  const { dir, path } = socketDir();
  const server = http.createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server });
  const requests: { path: string; host: string }[] = [];
  wss.on("connection", (ws, req) => {
    requests.push({ path: req.url ?? "", host: req.headers.host ?? "" });
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    kind: "ws",
    path,
    url: urlOf(path),
    requests,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface NativeSocket {
  binaryType: string;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: unknown): void;
  close(): void;
}

async function startDeno(): Promise<UnixEchoServer> {
  const deno = (globalThis as unknown as {
    Deno: {
      serve(
        options: { path: string; onListen?: () => void },
        handler: (request: Request) => Response,
      ): { shutdown(): Promise<void> };
      upgradeWebSocket(request: Request): { socket: NativeSocket; response: Response };
    };
  }).Deno;
  const { dir, path } = socketDir();
  const requests: { path: string; host: string }[] = [];
  const sockets = new Set<NativeSocket>();
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => listening = resolve);
  const server = deno.serve({ path, onListen: () => listening() }, (request) => {
    const url = new URL(request.url);
    requests.push({ path: url.pathname + url.search, host: request.headers.get("host") ?? "" });
    const { socket, response } = deno.upgradeWebSocket(request);
    sockets.add(socket);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
  await ready;
  return {
    kind: "deno",
    path,
    url: urlOf(path),
    requests,
    async close() {
      for (const s of sockets) s.close();
      await server.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startBun(): Promise<UnixEchoServer> {
  const bun = (globalThis as unknown as {
    Bun: {
      serve(options: {
        unix: string;
        fetch(
          request: Request,
          server: { upgrade(request: Request): boolean },
        ): Response | undefined;
        websocket: { message(ws: { send(data: unknown): void }, data: unknown): void };
      }): { stop(force?: boolean): void };
    };
  }).Bun;
  const { dir, path } = socketDir();
  const requests: { path: string; host: string }[] = [];
  const server = bun.serve({
    unix: path,
    fetch(request, srv) {
      const url = new URL(request.url);
      requests.push({ path: url.pathname + url.search, host: request.headers.get("host") ?? "" });
      return srv.upgrade(request) ? undefined : new Response("WebSocket only", { status: 426 });
    },
    websocket: {
      message(ws, data) {
        ws.send(data);
      },
    },
  });
  return Promise.resolve({
    kind: "bun",
    path,
    url: urlOf(path),
    requests,
    close() {
      server.stop(true);
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
}
