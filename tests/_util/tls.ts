/**
 * TLS fixtures made at test time with the `openssl` command: a throw-away CA and, signed by it, a
 * server certificate for `127.0.0.1`, `::1` and `localhost`, one for the name `example.test` only
 * and a client certificate; a `wss://` echo server, one that requires a client certificate, and a
 * tinyproxy HTTP CONNECT proxy for `wss://` through a tunnel.
 *
 * The certificates live in memory; the temporary directory used to make them is removed at once.
 * They are made once per process.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as tls from "node:tls";
import { WebSocketServer } from "ws";
import { type EchoServer, type ServerKind, startEchoServer } from "./servers.ts";

/** PEM texts of the test PKI. */
export interface TestCertificates {
  /** The CA certificate clients must trust. */
  readonly ca: string;
  /** The server certificate (for 127.0.0.1, ::1 and localhost). */
  readonly cert: string;
  /** The server's private key (PKCS#8). */
  readonly key: string;
  /** A server certificate for the DNS name `example.test` only (no IP address). */
  readonly namedCert: string;
  /** The private key of `namedCert`. */
  readonly namedKey: string;
  /** A client certificate (extended key usage clientAuth, CN `rom-websocket test client`). */
  readonly clientCert: string;
  /** The private key of `clientCert`. */
  readonly clientKey: string;
}

/** The only name in {@linkcode TestCertificates.namedCert}. */
export const NAMED_HOST = "example.test";

/** The common name of {@linkcode TestCertificates.clientCert}. */
export const CLIENT_NAME = "rom-websocket test client";

let made: TestCertificates | undefined;

/** Whether the `openssl` command is available. */
export function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Makes (once per process) a CA and a server certificate with the `openssl` CLI. */
export function makeCertificates(): TestCertificates {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rom-ws-tls-"));
  const file = (name: string) => path.join(dir, name);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  try {
    // A CA with the extensions strict verifiers (rustls/webpki) require.
    run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      file("ca.key"),
      "-out",
      file("ca.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=rom-websocket test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      file("server.key"),
      "-out",
      file("server.csr"),
      "-subj",
      "/CN=localhost",
    ]);
    fs.writeFileSync(
      file("server.ext"),
      [
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "",
      ].join("\n"),
    );
    run([
      "x509",
      "-req",
      "-in",
      file("server.csr"),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-out",
      file("server.pem"),
      "-days",
      "2",
      "-extfile",
      file("server.ext"),
    ]);
    const leaf = (name: string, subject: string, extensions: string[]) => {
      run([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        file(`${name}.key`),
        "-out",
        file(`${name}.csr`),
        "-subj",
        subject,
      ]);
      fs.writeFileSync(file(`${name}.ext`), [...extensions, ""].join("\n"));
      run([
        "x509",
        "-req",
        "-in",
        file(`${name}.csr`),
        "-CA",
        file("ca.pem"),
        "-CAkey",
        file("ca.key"),
        "-CAcreateserial",
        "-out",
        file(`${name}.pem`),
        "-days",
        "2",
        "-extfile",
        file(`${name}.ext`),
      ]);
    };
    leaf("named", `/CN=${NAMED_HOST}`, [
      `subjectAltName=DNS:${NAMED_HOST}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
    ]);
    leaf("client", `/CN=${CLIENT_NAME}`, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
    ]);
    const read = (name: string) => fs.readFileSync(file(name), "utf8");
    made = {
      ca: read("ca.pem"),
      cert: read("server.pem"),
      key: read("server.key"),
      namedCert: read("named.pem"),
      namedKey: read("named.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
    };
    return made;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a `wss://` echo server of `kind` (see `servers.ts`) with the test certificate. */
export function startTlsEchoServer(
  kind: ServerKind,
  certificates: TestCertificates = makeCertificates(),
  hostname = "127.0.0.1",
): Promise<EchoServer> {
  return startEchoServer(kind, {
    hostname,
    tls: { cert: certificates.cert, key: certificates.key },
  });
}

/** A `wss://` echo server that requires a client certificate. */
export interface MutualTlsServer {
  /** The TCP port, on 127.0.0.1. */
  readonly port: number;
  /** The `wss://` URL of `path`. */
  url(path?: string): string;
  /**
   * The WebSocket connections it accepted: whether the client certificate was verified, and its
   * common name where the runtime's server socket tells it (Bun's has no `getPeerCertificate`).
   */
  readonly peers: readonly { authorized: boolean; name?: string }[];
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a `wss://` echo server (`ws` on `node:https`, on every runtime) with the test server
 * certificate for 127.0.0.1 that refuses, in the TLS handshake, a client without a certificate
 * signed by the test CA.
 */
export async function startMutualTlsEchoServer(
  certificates: TestCertificates = makeCertificates(),
): Promise<MutualTlsServer> {
  const server = https.createServer({
    cert: certificates.cert,
    key: certificates.key,
    ca: certificates.ca,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const sockets = new Set<net.Socket>();
  const peers: { authorized: boolean; name?: string }[] = [];
  server.on("secureConnection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => {});
  server.on("request", (_request, response) => {
    response.writeHead(426, { "content-type": "text/plain", connection: "close" });
    response.end("WebSocket only");
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, request) => {
    const socket = request.socket as Partial<tls.TLSSocket>;
    const cn = socket.getPeerCertificate?.()?.subject?.CN;
    peers.push({
      authorized: socket.authorized === true,
      ...(cn === undefined ? {} : { name: Array.isArray(cn) ? cn.join(",") : cn }),
    });
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (p = "/") => `wss://127.0.0.1:${port}${p}`,
    peers,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// tinyproxy lives in its own helper (tests/_util/tinyproxy.ts), shared with proxy_test.ts.
export { startTinyproxy, type Tinyproxy as ConnectProxy, tinyproxyPath } from "./tinyproxy.ts";
