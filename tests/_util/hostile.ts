/**
 * A scripted, misbehaving WebSocket server on raw TCP (`node:net`, so it runs on Deno, Bun and
 * Node alike).
 *
 * It reads the client's HTTP request, answers with a scripted response (a correct 101, a wrong or
 * incomplete one, a refusal with a body, an endless header flood, or nothing at all), then sends
 * scripted raw bytes (crafted frames) and records every frame the client sends, unmasked, with
 * the close code parsed. It also records whether the client ended TCP before the server did, so
 * tests can check that the client waited for the server to close first (RFC 6455 §7.1.1).
 *
 * @module
 */

import { createHash } from "node:crypto";
import * as net from "node:net";
import { type Deferred, deferred, withTimeout } from "./async.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** `Sec-WebSocket-Accept` for `key`, computed independently of the library (node:crypto). */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** Opcodes, for readability. */
export const Op = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Options of {@linkcode frame}. */
export interface FrameOptions {
  /** FIN bit. Default true. */
  fin?: boolean;
  /** RSV bits as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3). Default 0. */
  rsv?: number;
  /** Mask the payload (servers must not). Default false. */
  mask?: boolean;
  /** Announce this length instead of the payload's (e.g. 2^63), as a bigint. */
  length?: bigint;
}

const encoder = new TextEncoder();

/** Encodes a frame as a server would send it (or, with options, as it must not). */
export function frame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: FrameOptions = {},
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const announced = options.length ?? BigInt(data.length);
  const masked = options.mask ?? false;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  let header: number[];
  if (announced < 126n) {
    header = [b0, Number(announced)];
  } else if (announced < 65536n) {
    header = [b0, 126, Number(announced >> 8n) & 0xff, Number(announced) & 0xff];
  } else {
    header = [b0, 127];
    for (let shift = 56n; shift >= 0n; shift -= 8n) {
      header.push(Number((announced >> shift) & 0xffn));
    }
  }
  if (masked) header[1] |= 0x80;
  const maskKey = masked ? [0x12, 0x34, 0x56, 0x78] : [];
  const out = new Uint8Array(header.length + maskKey.length + data.length);
  out.set(header, 0);
  out.set(maskKey, header.length);
  const start = header.length + maskKey.length;
  for (let i = 0; i < data.length; i++) {
    out[start + i] = masked ? data[i] ^ maskKey[i & 3] : data[i];
  }
  return out;
}

/** A close frame payload: 2-byte code, then the reason (a string or raw bytes). */
export function closePayload(code: number, reason: string | Uint8Array = ""): Uint8Array {
  const r = typeof reason === "string" ? encoder.encode(reason) : reason;
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A frame the client sent, unmasked. */
export interface ClientFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Uint8Array;
  /** For close frames: the status code (1005 when the payload is empty). */
  readonly closeCode?: number;
  /** For close frames: the reason text. */
  readonly closeReason?: string;
}

/** The client's opening request. */
export interface HostileRequest {
  readonly method: string;
  /** Request target: path and query. */
  readonly path: string;
  readonly version: string;
  /** Headers with lower-case names (repeated ones joined with ", "). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `Sec-WebSocket-Key` sent. */
  readonly key: string;
  /** The raw request head. */
  readonly raw: string;
}

/** What to answer to the opening request. */
export type HandshakeScript =
  /** A correct 101 response (plus `extraHeaders`). */
  | "accept"
  /** No answer at all (the client's open timeout or abort must end it). */
  | "none"
  /** A response computed from the request: bytes or text written as is. */
  | ((request: HostileRequest) => string | Uint8Array)
  /** An endless header flood after a 101 status line (stops when the client goes away). */
  | "flood";

/** What to do when the client's close frame arrives. */
export type OnClientClose =
  /** End TCP at once, without a close frame (the default). */
  | "end"
  /** Reply with a close frame echoing the code, then end TCP. */
  | "reply-and-end"
  /** Do nothing: keep TCP open (the client's close timeout must end it). */
  | "ignore";

/** Options of {@linkcode startHostileServer}. */
export interface HostileOptions {
  /** The answer to the opening request. Default "accept". */
  handshake?: HandshakeScript;
  /** Extra header lines for the "accept" response. */
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
  /** Raw bytes sent right after the handshake response (crafted frames). */
  afterHandshake?: Uint8Array | readonly Uint8Array[];
  /** Reaction to the client's close frame. Default "end". */
  onClientClose?: OnClientClose;
  /** Answer the client's pings with pongs. Default true. */
  answerPings?: boolean;
  /** Stop reading from the client right after the handshake. Default false. */
  pauseAfterHandshake?: boolean;
  /** Address to listen on. Default "127.0.0.1". */
  hostname?: string;
}

/** One client connection to the hostile server. */
export interface HostileConnection {
  /** Settles with the opening request. */
  readonly request: Promise<HostileRequest>;
  /** Frames received from the client, in order. */
  readonly frames: readonly ClientFrame[];
  /** Waits for the frame with this index (default: the next one). */
  frame(index?: number, ms?: number): Promise<ClientFrame>;
  /** Settles with the first close frame the client sent. */
  readonly closeFrame: Promise<ClientFrame>;
  /** Settles once the client ended its side of TCP (FIN or reset) or the socket closed. */
  readonly clientGone: Promise<void>;
  /** True if the client ended TCP before the server ended or destroyed it. */
  readonly clientEndedFirst: boolean;
  /** Bytes received after the handshake request. */
  readonly bytesReceived: number;
  /** Bytes the server wrote to the client so far. */
  readonly bytesSent: number;
  /** Writes raw bytes. */
  write(bytes: Uint8Array | string): Promise<void>;
  /** Ends the server's side of TCP (FIN). */
  end(): void;
  /** Destroys the TCP connection at once. */
  destroy(): void;
  /** Stops reading from the client (its writes then back up). */
  pause(): void;
  /** Resumes reading. */
  resume(): void;
}

/** A running hostile server. */
export interface HostileServer {
  readonly port: number;
  readonly hostname: string;
  /** Connections in the order they were accepted. */
  readonly connections: readonly HostileConnection[];
  /** `ws://host:port` + path. */
  url(path?: string): string;
  /** Waits for the connection with this index (default: the next one). */
  connection(index?: number, ms?: number): Promise<HostileConnection>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

const HEAD_LIMIT = 64 * 1024;

function parseRequest(raw: string): HostileRequest {
  const lines = raw.split("\r\n");
  const [method = "", path = "", version = ""] = (lines[0] ?? "").split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { method, path, version, headers, key: headers["sec-websocket-key"] ?? "", raw };
}

/** The correct 101 response for `request`, with extra header lines. */
export function acceptResponse(
  request: HostileRequest,
  extraHeaders: ReadonlyArray<readonly [string, string]> = [],
): string {
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${acceptKey(request.key)}`,
    ...extraHeaders.map(([n, v]) => `${n}: ${v}`),
  ];
  return lines.join("\r\n") + "\r\n\r\n";
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** Incremental parser of client frames (masked, as RFC 6455 requires of clients). */
class FrameReader {
  #buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array, onFrame: (frame: ClientFrame) => void): void {
    this.#buffer = this.#buffer.length === 0 ? chunk.slice() : concat(this.#buffer, chunk);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const masked = (b[1] & 0x80) !== 0;
      let length = b[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = (b[2] << 8) | b[3];
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = 0;
        for (let i = 2; i < 10; i++) length = length * 256 + b[i];
        at = 10;
      }
      const keyAt = at;
      if (masked) at += 4;
      if (b.length < at + length) return;
      const payload = b.slice(at, at + length);
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i] ^= b[keyAt + (i & 3)];
      }
      const opcode = b[0] & 0x0f;
      let closeCode: number | undefined;
      let closeReason: string | undefined;
      if (opcode === Op.CLOSE) {
        closeCode = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
        closeReason = new TextDecoder().decode(payload.subarray(2));
      }
      this.#buffer = b.subarray(at + length);
      onFrame({
        fin: (b[0] & 0x80) !== 0,
        rsv: (b[0] >> 4) & 0x07,
        opcode,
        masked,
        payload,
        closeCode,
        closeReason,
      });
    }
  }
}

/** Starts a hostile server on a free port; every connection follows `options`. */
export async function startHostileServer(options: HostileOptions = {}): Promise<HostileServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const connections: HostileConnection[] = [];
  const waiters = new Map<number, Deferred<HostileConnection>>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    const connection = handle(socket, options, () => sockets.delete(socket));
    connections.push(connection);
    const index = connections.length - 1;
    waiters.get(index)?.resolve(connection);
    waiters.delete(index);
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
    port,
    hostname,
    connections,
    url: (path = "/") => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      return `ws://${host}:${port}${path}`;
    },
    connection(index = connections.length, ms = 5000) {
      if (index < connections.length) return Promise.resolve(connections[index]);
      let waiter = waiters.get(index);
      if (!waiter) {
        waiter = deferred<HostileConnection>();
        waiters.set(index, waiter);
      }
      return withTimeout(waiter.promise, ms, `hostile server: connection #${index}`);
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const gone = [...sockets].map((s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            s.once("close", () => resolve());
            s.destroy();
          })
        );
        await Promise.all(gone);
        await stopped;
      })();
      return closing;
    },
  };
}

function handle(
  socket: net.Socket,
  options: HostileOptions,
  onGone: () => void,
): HostileConnection {
  const request = deferred<HostileRequest>();
  const closeFrame = deferred<ClientFrame>();
  const clientGone = deferred<void>();
  const frames: ClientFrame[] = [];
  const frameWaiters = new Map<number, Deferred<ClientFrame>>();
  const reader = new FrameReader();
  let head: Uint8Array = new Uint8Array(0);
  let serverEnded = false;
  let clientEndedFirst = false;
  let bytesReceived = 0;

  socket.setNoDelay(true);
  socket.on("error", () => {});

  const write = (bytes: Uint8Array | string): Promise<void> => {
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    return new Promise<void>((resolve) => {
      socket.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes, () => resolve());
    });
  };
  const end = () => {
    if (!serverEnded) serverEnded = true;
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  };
  const destroy = () => {
    serverEnded = true;
    socket.destroy();
  };

  const onFrame = (f: ClientFrame) => {
    frames.push(f);
    const index = frames.length - 1;
    frameWaiters.get(index)?.resolve(f);
    frameWaiters.delete(index);
    if (f.opcode === Op.PING && (options.answerPings ?? true)) {
      write(frame(Op.PONG, f.payload));
    }
    if (f.opcode === Op.CLOSE && !closeFrame.settled) {
      closeFrame.resolve(f);
      switch (options.onClientClose ?? "end") {
        case "end":
          end();
          break;
        case "reply-and-end":
          write(frame(Op.CLOSE, closePayload(f.closeCode === 1005 ? 1000 : f.closeCode!)));
          end();
          break;
        case "ignore":
          break;
      }
    }
  };

  const answer = async (req: HostileRequest) => {
    const script = options.handshake ?? "accept";
    if (script === "none") return;
    if (script === "flood") {
      await flood(socket);
      return;
    }
    const response = script === "accept" ? acceptResponse(req, options.extraHeaders) : script(req);
    if (options.pauseAfterHandshake) socket.pause();
    await write(response);
    const after = options.afterHandshake;
    if (after) {
      for (const bytes of after instanceof Uint8Array ? [after] : after) await write(bytes);
    }
  };

  socket.on("data", (chunk: Uint8Array) => {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!request.settled) {
      head = concat(head, bytes);
      const end = indexOfBlankLine(head);
      if (end < 0) {
        if (head.length > HEAD_LIMIT) destroy();
        return;
      }
      const rest = head.slice(end + 4);
      let text = "";
      for (let i = 0; i < end; i++) text += String.fromCharCode(head[i]);
      const req = parseRequest(text);
      request.resolve(req);
      answer(req).catch(() => {});
      if (rest.length > 0) {
        bytesReceived += rest.length;
        reader.push(rest, onFrame);
      }
      return;
    }
    bytesReceived += bytes.length;
    reader.push(bytes, onFrame);
  });
  socket.on("end", () => {
    if (!serverEnded) clientEndedFirst = true;
    clientGone.resolve();
    // Answer the client's FIN with ours, as a server would.
    end();
  });
  socket.on("close", () => {
    if (!serverEnded) clientEndedFirst = true;
    clientGone.resolve();
    if (!request.settled) request.reject(new Error("connection closed before the request"));
    for (const waiter of frameWaiters.values()) {
      waiter.reject(new Error("connection closed before the frame"));
    }
    frameWaiters.clear();
    onGone();
  });

  return {
    request: request.promise,
    frames,
    frame(index = frames.length, ms = 5000) {
      if (index < frames.length) return Promise.resolve(frames[index]);
      let waiter = frameWaiters.get(index);
      if (!waiter) {
        waiter = deferred<ClientFrame>();
        if (socket.destroyed) waiter.reject(new Error("connection closed before the frame"));
        frameWaiters.set(index, waiter);
      }
      return withTimeout(waiter.promise, ms, `hostile server: client frame #${index}`);
    },
    closeFrame: closeFrame.promise,
    clientGone: clientGone.promise,
    get clientEndedFirst() {
      return clientEndedFirst;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get bytesSent() {
      return socket.bytesWritten;
    },
    write,
    end,
    destroy,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

/**
 * Writes a 101 status line, then header lines without end (respecting backpressure) until the
 * client goes away or 256 MiB were sent.
 */
async function flood(socket: net.Socket): Promise<void> {
  const line = "X-Flood: " + "a".repeat(50) + "\r\n";
  const chunk = encoder.encode(line.repeat(1024));
  let sent = 0;
  if (!socket.write("HTTP/1.1 101 Switching Protocols\r\n")) {
    await new Promise((resolve) => socket.once("drain", resolve));
  }
  while (!socket.destroyed && !socket.writableEnded && sent < 256 * 1024 * 1024) {
    sent += chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
  }
}
