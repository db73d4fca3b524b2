/**
 * A proxy that follows a script, on raw TCP (`node:net`, so it runs on every runtime): each
 * accepted connection is handed to the test's function, which reads exact byte counts, writes
 * answers (good, wrong, partial or none), closes, or pipes to a real server. For the proxy faults
 * no real proxy can be made to show on demand.
 *
 * @module
 */

import * as net from "node:net";
import { deferred } from "./async.ts";

/** One connection to the scripted proxy, as the script sees it. */
export interface ScriptedConnection {
  /** The next `n` bytes the client sent (rejects when it closes first). */
  read(n: number): Promise<Uint8Array>;
  /** Reads up to the end of an HTTP head (`\r\n\r\n`) and returns it as text. */
  readHead(): Promise<string>;
  write(data: Uint8Array | string): void;
  /** Ends it (FIN). */
  end(): void;
  /** Forwards everything both ways to `port` on 127.0.0.1 from now on. */
  pipeTo(port: number): void;
  /** Settles when the client's side is gone (FIN or reset). */
  readonly closed: Promise<void>;
}

/** A running scripted proxy. */
export interface ScriptedProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** The `closed` promise of every connection so far. */
  readonly connections: ScriptedConnection[];
  close(): Promise<void>;
}

/** Starts a scripted proxy on a free port of 127.0.0.1. */
export async function startScriptedProxy(
  script: (connection: ScriptedConnection) => Promise<unknown> | void,
): Promise<ScriptedProxy> {
  const sockets = new Set<net.Socket>();
  const connections: ScriptedConnection[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = new Uint8Array(0);
    let waiting: (() => void) | undefined;
    let ended = false;
    let piped = false;
    const closed = deferred<void>();
    socket.on("data", (chunk: Uint8Array) => {
      if (piped) return;
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      waiting?.();
    });
    const gone = () => {
      ended = true;
      waiting?.();
      closed.resolve();
    };
    socket.on("end", gone);
    socket.on("close", () => {
      sockets.delete(socket);
      gone();
    });
    socket.on("error", () => {});
    const until = async (done: () => number) => {
      for (;;) {
        const n = done();
        if (n >= 0) {
          const out = buffer.subarray(0, n);
          buffer = buffer.subarray(n);
          return out;
        }
        if (ended) throw new Error("the client closed");
        await new Promise<void>((resolve) => waiting = resolve);
        waiting = undefined;
      }
    };
    const connection: ScriptedConnection = {
      read: (n) => until(() => buffer.length >= n ? n : -1),
      readHead: async () => {
        const head = await until(() => {
          const text = String.fromCharCode(...buffer);
          const at = text.indexOf("\r\n\r\n");
          return at < 0 ? -1 : at + 4;
        });
        return String.fromCharCode(...head);
      },
      write: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      end: () => socket.end(),
      pipeTo(port) {
        piped = true;
        const upstream = net.connect(port, "127.0.0.1");
        sockets.add(upstream);
        upstream.on("close", () => sockets.delete(upstream));
        upstream.on("error", () => socket.destroy());
        socket.on("error", () => upstream.destroy());
        if (buffer.length > 0) upstream.write(buffer);
        socket.pipe(upstream);
        upstream.pipe(socket);
      },
      closed: closed.promise,
    };
    connections.push(connection);
    Promise.resolve().then(() => script(connection)).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return connections.length;
    },
    connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
