/**
 * TLS fixtures made at test time with the `openssl` command: a throw-away CA and a server
 * certificate for `127.0.0.1`, `::1` and `localhost` signed by it, plus a `wss://` echo server.
 *
 * The certificates live in memory; the temporary directory used to make them is removed at once.
 * They are made once per process.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type EchoServer, type ServerKind, startEchoServer } from "./servers.ts";

/** PEM texts of the test PKI. */
export interface TestCertificates {
  /** The CA certificate clients must trust. */
  readonly ca: string;
  /** The server certificate (for 127.0.0.1, ::1 and localhost). */
  readonly cert: string;
  /** The server's private key (PKCS#8). */
  readonly key: string;
}

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
    made = {
      ca: fs.readFileSync(file("ca.pem"), "utf8"),
      cert: fs.readFileSync(file("server.pem"), "utf8"),
      key: fs.readFileSync(file("server.key"), "utf8"),
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
