/**
 * WebSocket echo servers for integration tests, one per kind:
 *
 * - `"ws"`: the `ws` package on `node:http` / `node:https`. Runs on Node, and on Deno and Bun
 *   through their `node:http` compatibility, so it is available everywhere.
 * - `"deno"`: `Deno.serve` with `Deno.upgradeWebSocket` (Deno only).
 * - `"bun"`: `Bun.serve` with `websocket` handlers (Bun only), configured never to drop a send
 *   under backpressure.
 *
 * Every server echoes text as text and binary as binary, selects the first subprotocol offered,
 * records each request (path with query, headers) and how the server saw each connection close.
 * Control paths:
 *
 * | path | behaviour |
 * | --- | --- |
 * | `/close/<code>` | the server closes with `<code>` and reason "bye" right after open |
 * | `/drop` | the server destroys the TCP connection right after open (not on `"deno"`) |
 * | `/send-then-close` | the server sends "one" and binary `[1, 2, 3]`, then closes with 1000 "done" |
 * | `/silent` | messages are received but not echoed |
 *
 * Runtime globals are reached through `globalThis` with local types, so this file type-checks on
 * every runtime.
 *
 * @module
 */

import * as http from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import { type WebSocket as WsSocket, WebSocketServer } from "ws";
import { type Deferred, deferred, withTimeout } from "./async.ts";

/** A server implementation. */
export type ServerKind = "ws" | "deno" | "bun";

/** How the server saw a connection end. */
export interface ServerClose {
  readonly code: number;
  readonly reason: string;
}

/** One connection as the server saw it. */
export interface ServerConnection {
  /** Request target: path and query, as received. */
  readonly path: string;
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The subprotocol the server selected ("" for none). */
  readonly protocol: string;
  /** Settles with the close code and reason the server saw. */
  readonly closed: Promise<ServerClose>;
  /** Messages received from the client. */
  messages: number;
  /** Sends the server could not queue (must stay 0: the echo never drops). */
  dropped: number;
}

/** A running echo server. */
export interface EchoServer {
  readonly kind: ServerKind;
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  /** Whether `/drop` is supported (the native Deno server cannot drop TCP abruptly). */
  readonly canDrop: boolean;
  /** Connections in the order they were accepted. */
  readonly connections: readonly ServerConnection[];
  /** The `ws://` (or `wss://`) URL of `path` on this server. */
  url(path?: string): string;
  /** Waits for the connection with this index (default: the next one). */
  connection(index?: number, ms?: number): Promise<ServerConnection>;
  /** Closes every connection at once and stops listening. */
  close(): Promise<void>;
}

/** Options of {@linkcode startEchoServer}. */
export interface EchoServerOptions {
  /** Address to listen on. Default "127.0.0.1". */
  hostname?: string;
  /** Serve TLS (`wss://`) with this certificate chain and key (PEM). */
  tls?: { cert: string; key: string };
  /**
   * Accept permessage-deflate (RFC 7692) when offered. Default false. The native Deno server
   * has no compression and ignores this.
   */
  compression?: boolean;
  /** With `compression` on the `ws` server: its `perMessageDeflate` settings (threshold 0 added). */
  deflateOptions?: Record<string, unknown>;
}

/** The largest message the servers accept (above the 16 MiB the tests send). */
export const SERVER_MAX_PAYLOAD = 64 * 1024 * 1024;

interface DenoLike {
  serve(
    options: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      onListen?: (addr: { port: number }) => void;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
  upgradeWebSocket(
    request: Request,
    options?: { protocol?: string; idleTimeout?: number },
  ): { socket: NativeSocket; response: Response };
}

/** The WHATWG-like server socket of Deno. */
interface NativeSocket {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

interface BunServerSocket {
  data: BunConnection;
  readonly readyState: number;
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

interface BunConnection {
  record: MutableConnection;
  control: Control;
}

interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    tls?: { cert: string; key: string };
    fetch(
      request: Request,
      server: {
        upgrade(
          request: Request,
          options: { data: BunConnection; headers?: Record<string, string> },
        ): boolean;
      },
    ): Response | undefined | Promise<Response | undefined>;
    websocket: {
      open(ws: BunServerSocket): void;
      message(ws: BunServerSocket, message: string | Uint8Array): void;
      close(ws: BunServerSocket, code: number, reason: string): void;
      maxPayloadLength: number;
      perMessageDeflate: boolean;
      backpressureLimit: number;
      closeOnBackpressureLimit: boolean;
      idleTimeout: number;
      sendPings: boolean;
    };
  }): { port: number; stop(closeActiveConnections?: boolean): void | Promise<void> };
}

function denoApi(): DenoLike | undefined {
  const d = (globalThis as { Deno?: Partial<DenoLike> }).Deno;
  return typeof d?.serve === "function" && typeof d.upgradeWebSocket === "function"
    ? d as DenoLike
    : undefined;
}

function bunApi(): BunLike | undefined {
  const b = (globalThis as { Bun?: Partial<BunLike> }).Bun;
  return typeof b?.serve === "function" ? b as BunLike : undefined;
}

/** The server kinds available on this runtime: `"ws"` always, plus the native one. */
export function serverKinds(): ServerKind[] {
  const kinds: ServerKind[] = ["ws"];
  if (denoApi()) kinds.push("deno");
  if (bunApi()) kinds.push("bun");
  return kinds;
}

/** Whether servers of `kind` support `/drop` (the native Deno server cannot drop TCP). */
export function serverCanDrop(kind: ServerKind): boolean {
  return kind !== "deno";
}

/** The name of the runtime running the tests. */
export function runtimeName(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node";
}

/** What the control path asks the server to do after open. */
type Control =
  | { kind: "echo" }
  | { kind: "silent" }
  | { kind: "close"; code: number }
  | { kind: "drop" }
  | { kind: "send-then-close" };

function controlFor(path: string): Control {
  const pathname = path.split("?")[0];
  const close = /^\/close\/(\d+)$/.exec(pathname);
  if (close) return { kind: "close", code: Number(close[1]) };
  if (pathname === "/drop") return { kind: "drop" };
  if (pathname === "/send-then-close") return { kind: "send-then-close" };
  if (pathname === "/silent") return { kind: "silent" };
  return { kind: "echo" };
}

function firstProtocol(header: string | null | undefined): string {
  if (!header) return "";
  return header.split(",")[0].trim();
}

interface MutableConnection extends ServerConnection {
  resolveClosed(close: ServerClose): void;
}

function newConnection(
  path: string,
  headers: Record<string, string>,
  protocol: string,
): MutableConnection {
  const closed = deferred<ServerClose>();
  let done = false;
  return {
    path,
    headers,
    protocol,
    closed: closed.promise,
    messages: 0,
    dropped: 0,
    resolveClosed(close: ServerClose) {
      if (done) return;
      done = true;
      closed.resolve(close);
    },
  };
}

/** Shared bookkeeping: the list of connections and waiters by index. */
class Registry {
  readonly connections: MutableConnection[] = [];
  readonly #waiters = new Map<number, Deferred<ServerConnection>>();

  add(connection: MutableConnection): void {
    this.connections.push(connection);
    const index = this.connections.length - 1;
    this.#waiters.get(index)?.resolve(connection);
    this.#waiters.delete(index);
  }

  wait(index: number, ms: number, kind: string): Promise<ServerConnection> {
    if (index < this.connections.length) return Promise.resolve(this.connections[index]);
    let waiter = this.#waiters.get(index);
    if (!waiter) {
      waiter = deferred<ServerConnection>();
      this.#waiters.set(index, waiter);
    }
    return withTimeout(waiter.promise, ms, `${kind} server: connection #${index}`);
  }

  /** Marks connections that never reported a close as ended abnormally. */
  settleAll(): void {
    for (const c of this.connections) c.resolveClosed({ code: 1006, reason: "" });
  }
}

function makeUrl(secure: boolean, hostname: string, port: number, path: string): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `${secure ? "wss" : "ws"}://${host}:${port}${path.startsWith("/") ? path : `/${path}`}`;
}

/** Starts an echo server of `kind` on a free port. */
export function startEchoServer(
  kind: ServerKind,
  options: EchoServerOptions = {},
): Promise<EchoServer> {
  switch (kind) {
    case "ws":
      return startWsServer(options);
    case "deno":
      return startDenoServer(options);
    case "bun":
      return startBunServer(options);
  }
}

async function startWsServer(options: EchoServerOptions): Promise<EchoServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const registry = new Registry();
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key })
    : http.createServer();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(426, { "content-type": "text/plain", connection: "close" });
    res.end("WebSocket only");
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: SERVER_MAX_PAYLOAD,
    // threshold 0: compress every message, however small.
    perMessageDeflate: options.compression ? { threshold: 0, ...options.deflateOptions } : false,
    handleProtocols: (protocols: Set<string>) => protocols.values().next().value ?? false,
  });
  const clients = new Set<WsSocket>();
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Uint8Array) => {
    wss.handleUpgrade(req, socket, head as Buffer, (ws: WsSocket) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const record = newConnection(req.url ?? "/", headers, ws.protocol);
      clients.add(ws);
      ws.on("close", (code: number, reason: Buffer) => {
        clients.delete(ws);
        record.resolveClosed({ code, reason: reason.toString("utf8") });
      });
      ws.on("error", () => {});
      const control = controlFor(record.path);
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        record.messages++;
        if (control.kind === "silent") return;
        if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
      });
      registry.add(record);
      switch (control.kind) {
        case "close":
          ws.close(control.code, "bye");
          break;
        case "drop":
          ws.terminate();
          break;
        case "send-then-close":
          ws.send("one");
          ws.send(new Uint8Array([1, 2, 3]), { binary: true });
          ws.close(1000, "done");
          break;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    kind: "ws",
    hostname,
    port,
    secure: options.tls !== undefined,
    canDrop: serverCanDrop("ws"),
    connections: registry.connections,
    url: (path = "/") => makeUrl(options.tls !== undefined, hostname, port, path),
    connection: (index = registry.connections.length, ms = 5000) => registry.wait(index, ms, "ws"),
    close() {
      closing ??= (async () => {
        for (const ws of clients) ws.terminate();
        for (const socket of sockets) socket.destroy();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await stopped;
        registry.settleAll();
      })();
      return closing;
    },
  };
}

async function startDenoServer(options: EchoServerOptions): Promise<EchoServer> {
  const deno = denoApi();
  if (!deno) throw new Error("Deno.serve is not available on this runtime");
  const hostname = options.hostname ?? "127.0.0.1";
  const registry = new Registry();
  const sockets = new Set<NativeSocket>();
  const listening = deferred<number>();
  const server = deno.serve(
    {
      port: 0,
      hostname,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      onListen: (addr) => listening.resolve(addr.port),
    },
    (request: Request): Response => {
      if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
        return new Response("WebSocket only", { status: 426 });
      }
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => (headers[name] = value));
      const protocol = firstProtocol(request.headers.get("sec-websocket-protocol"));
      const { socket, response } = deno.upgradeWebSocket(request, {
        ...(protocol ? { protocol } : {}),
        idleTimeout: 0,
      });
      const record = newConnection(url.pathname + url.search, headers, protocol);
      const control = controlFor(record.path);
      socket.binaryType = "arraybuffer";
      sockets.add(socket);
      socket.onopen = () => {
        registry.add(record);
        switch (control.kind) {
          case "close":
            socket.close(control.code, "bye");
            break;
          case "send-then-close":
            socket.send("one");
            socket.send(new Uint8Array([1, 2, 3]));
            socket.close(1000, "done");
            break;
          case "drop":
            // Deno's server has no way to drop TCP abruptly; close with 1011 instead.
            socket.close(1011, "drop unsupported");
            break;
        }
      };
      socket.onmessage = (event) => {
        record.messages++;
        if (control.kind === "silent" || socket.readyState !== 1) return;
        socket.send(event.data as string | ArrayBuffer);
      };
      socket.onclose = (event) => {
        sockets.delete(socket);
        record.resolveClosed({ code: event.code, reason: event.reason });
      };
      socket.onerror = () => {};
      return response;
    },
  );
  const port = await listening.promise;
  let closing: Promise<void> | undefined;
  return {
    kind: "deno",
    hostname,
    port,
    secure: options.tls !== undefined,
    canDrop: serverCanDrop("deno"),
    connections: registry.connections,
    url: (path = "/") => makeUrl(options.tls !== undefined, hostname, port, path),
    connection: (index = registry.connections.length, ms = 5000) =>
      registry.wait(index, ms, "deno"),
    close() {
      closing ??= (async () => {
        for (const socket of sockets) {
          try {
            socket.close(1001, "server stopping");
          } catch {
            // Already closing.
          }
        }
        await server.shutdown();
        registry.settleAll();
      })();
      return closing;
    },
  };
}

function startBunServer(options: EchoServerOptions): Promise<EchoServer> {
  const bun = bunApi();
  if (!bun) return Promise.reject(new Error("Bun.serve is not available on this runtime"));
  const hostname = options.hostname ?? "127.0.0.1";
  const registry = new Registry();
  const open = new Set<BunServerSocket>();
  const server = bun.serve({
    port: 0,
    hostname,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    fetch(request, srv) {
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => (headers[name] = value));
      const protocol = firstProtocol(request.headers.get("sec-websocket-protocol"));
      const record = newConnection(url.pathname + url.search, headers, protocol);
      const upgraded = srv.upgrade(request, {
        data: { record, control: controlFor(record.path) },
        ...(protocol ? { headers: { "Sec-WebSocket-Protocol": protocol } } : {}),
      });
      if (upgraded) return undefined;
      return new Response("WebSocket only", { status: 426 });
    },
    websocket: {
      open(ws) {
        open.add(ws);
        const { record, control } = ws.data;
        registry.add(record);
        switch (control.kind) {
          case "close":
            ws.close(control.code, "bye");
            break;
          case "drop":
            ws.terminate();
            break;
          case "send-then-close":
            ws.send("one");
            ws.send(new Uint8Array([1, 2, 3]));
            ws.close(1000, "done");
            break;
        }
      },
      message(ws, message) {
        const { record, control } = ws.data;
        record.messages++;
        if (control.kind === "silent") return;
        // 0 means dropped; an empty message also reports 0 but is sent.
        const status = ws.send(message);
        if (status === 0 && message.length > 0) record.dropped++;
      },
      close(ws, code, reason) {
        open.delete(ws);
        ws.data.record.resolveClosed({ code, reason });
      },
      maxPayloadLength: SERVER_MAX_PAYLOAD,
      // Never drop or close under backpressure: queue everything (2 GiB limit).
      backpressureLimit: 2 ** 31,
      closeOnBackpressureLimit: false,
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: options.compression ?? false,
    },
  });
  const port = server.port;
  let closing: Promise<void> | undefined;
  return Promise.resolve({
    kind: "bun",
    hostname,
    port,
    secure: options.tls !== undefined,
    canDrop: serverCanDrop("bun"),
    connections: registry.connections,
    url: (path = "/") => makeUrl(options.tls !== undefined, hostname, port, path),
    connection: (index = registry.connections.length, ms = 5000) => registry.wait(index, ms, "bun"),
    close() {
      closing ??= (async () => {
        for (const ws of open) ws.terminate();
        await server.stop(true);
        registry.settleAll();
      })();
      return closing;
    },
  });
}

/** Whether this machine can listen on the IPv6 loopback `::1`. */
export async function ipv6Available(): Promise<boolean> {
  const { createServer } = await import("node:net");
  return await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(0, "::1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 with nothing listening (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
