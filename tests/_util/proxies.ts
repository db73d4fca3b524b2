/**
 * Real proxies from Debian, started by a test on free ports of 127.0.0.1, each in a temporary
 * directory of its own that `stop()` removes: squid (HTTP CONNECT, optional Basic login through
 * `basic_ncsa_auth`, optional `https_port`), microsocks (SOCKS5, optional login), dante
 * (`danted`, SOCKS5 without login) and nginx (a TLS terminator in front of a `ws://` server).
 * tinyproxy has its own file (`tinyproxy.ts`).
 *
 * A missing binary throws (so a test fails loudly); `missingProxies()` lets a file report them as
 * one skip outside CI, as `tinyproxy.ts` does.
 *
 * @module
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { connect as connectTls } from "node:tls";
import { delay } from "./async.ts";
import { freePort } from "./ports.ts";

/** A running proxy (or terminator). */
export interface RunningProxy {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its URL without credentials, e.g. `socks5h://127.0.0.1:1080`. */
  readonly url: string;
  /** A second port: squid's `https_port`, when asked for. */
  readonly tlsPort?: number;
  /** Stops it (SIGTERM, SIGKILL after 3 s) and removes its files. */
  stop(): Promise<void>;
  /** Its log so far (empty when it has none). */
  log(): string;
}

/** The binaries, by kind. */
export const PROXY_BINARIES = {
  squid: ["/usr/sbin/squid"],
  microsocks: ["/usr/bin/microsocks"],
  danted: ["/usr/sbin/danted"],
  nginx: ["/usr/sbin/nginx"],
} as const;

/** The path of a binary, or undefined when it is not installed. */
export function binaryOf(kind: keyof typeof PROXY_BINARIES): string | undefined {
  return PROXY_BINARIES[kind].find((path) => existsSync(path));
}

/** The kinds among `kinds` whose binary is missing. */
export function missingProxies(...kinds: (keyof typeof PROXY_BINARIES)[]): string[] {
  return kinds.filter((kind) => !binaryOf(kind));
}

/** Sends `request` to the port and resolves with what came back within 2 s (latin1). */
function ask(port: number, request: Uint8Array | string, tls = false): Promise<string> {
  return new Promise((resolve) => {
    let reply = "";
    const s = tls
      ? connectTls({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => s.write(request))
      : connectTcp(port, "127.0.0.1", () => s.write(request));
    const timer = setTimeout(() => s.destroy(), 2_000);
    s.on("data", (chunk: Uint8Array) => {
      reply += String.fromCharCode(...chunk);
      if (reply.length >= 2 && !/^HTTP|^\w/.test(reply)) s.destroy(); // SOCKS: 2 bytes will do
    });
    s.once("error", () => {});
    s.once("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** Whether a SOCKS5 server answers a greeting on the port. */
async function answersSocks5(port: number): Promise<boolean> {
  const reply = await ask(port, Uint8Array.of(5, 2, 0, 2));
  return reply.charCodeAt(0) === 5;
}

interface DaemonPlan {
  name: string;
  binary: string;
  /** Writes the config files into `dir` and returns the arguments. */
  setup(dir: string, ports: number[]): string[];
  /** Whether the process on `ports` is ours and ready. */
  ready(ports: number[]): Promise<boolean>;
  url(ports: number[]): string;
  ports?: number;
  /** Files of its directory that `log()` shows, after its output. */
  logFiles?: string[];
}

async function startDaemon(plan: DaemonPlan): Promise<RunningProxy> {
  for (let attempt = 1;; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), `rom-${plan.name}-`));
    // squid and danted drop privileges when started as root: their files must stay readable.
    chmodSync(dir, 0o777);
    const ports: number[] = [];
    for (let i = 0; i < (plan.ports ?? 1); i++) ports.push(await freePort());
    const args = plan.setup(dir, ports);
    let output = "";
    const child: ChildProcess = spawn(plan.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (c) => output += c);
    child.stderr?.on("data", (c) => output += c);
    child.once("error", (e) => output += String(e));
    const log = () => {
      let files = "";
      for (const name of plan.logFiles ?? []) {
        try {
          files += readFileSync(join(dir, name), "utf8");
        } catch { /* not written yet */ }
      }
      return output + files;
    };
    const alive = () => child.exitCode === null && child.signalCode === null;
    const stop = async () => {
      if (alive()) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    let ready = false;
    for (let i = 0; i < 200 && alive(); i++) {
      if (await plan.ready(ports)) {
        ready = true;
        break;
      }
      await delay(50);
    }
    if (ready && alive()) {
      return { port: ports[0], tlsPort: ports[1], url: plan.url(ports), stop, log };
    }
    const why = `${plan.name} on port ${ports} did not start (exit ${child.exitCode}): ${log()}`;
    await stop();
    if (attempt === 5) throw new Error(why);
  }
}

function need(kind: keyof typeof PROXY_BINARIES): string {
  const binary = binaryOf(kind);
  if (!binary) throw new Error(`${kind} is not installed (see .ci/run)`);
  return binary;
}

/** An htpasswd line for `user` (Apache MD5, which `basic_ncsa_auth` reads), made with openssl. */
function htpasswdLine(user: string, password: string): string {
  const hash = execFileSync("openssl", ["passwd", "-apr1", password], { encoding: "utf8" }).trim();
  return `${user}:${hash}\n`;
}

/** Options of {@linkcode startSquid}. */
export interface SquidOptions {
  /** Require this Basic login (checked by `basic_ncsa_auth` against an htpasswd file). */
  auth?: { user: string; password: string };
  /** Also listen with TLS (`https_port`) with this certificate and key: an `https://` proxy. */
  tls?: { cert: string; key: string };
}

/** Starts squid as an HTTP CONNECT proxy (every port allowed, no cache). */
export function startSquid(options: SquidOptions = {}): Promise<RunningProxy> {
  const binary = need("squid");
  const { auth, tls } = options;
  return startDaemon({
    name: "squid",
    binary,
    ports: tls ? 2 : 1,
    logFiles: ["cache.log", "access.log"],
    setup(dir, [port, tlsPort]) {
      const file = (name: string) => join(dir, name);
      const lines = [
        `http_port 127.0.0.1:${port}`,
        "acl local src 127.0.0.1/32",
        "cache deny all",
        "cache_mem 8 MB",
        `pid_filename ${file("squid.pid")}`,
        `access_log stdio:${file("access.log")}`,
        `cache_log ${file("cache.log")}`,
        "cache_store_log none",
        `coredump_dir ${dir}`,
        "netdb_filename none",
        "pinger_enable off",
        "shutdown_lifetime 0 seconds",
        "forwarded_for delete",
        "via off",
        // Named after its port, so that `ready` knows it is this squid that answers there.
        `visible_hostname rom-squid-${port}`,
      ];
      if (tls) {
        writeFileSync(file("cert.pem"), tls.cert);
        writeFileSync(file("key.pem"), tls.key, { mode: 0o644 });
        lines.push(
          `https_port 127.0.0.1:${tlsPort} tls-cert=${file("cert.pem")} tls-key=${file("key.pem")}`,
        );
      }
      if (auth) {
        writeFileSync(file("htpasswd"), htpasswdLine(auth.user, auth.password), { mode: 0o644 });
        lines.push(
          `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${file("htpasswd")}`,
          "auth_param basic children 1 startup=1",
          "auth_param basic realm rom-websocket test",
          "acl login proxy_auth REQUIRED",
          "http_access allow local login",
        );
      } else {
        lines.push("http_access allow local");
      }
      lines.push("http_access deny all");
      writeFileSync(file("squid.conf"), lines.join("\n") + "\n", { mode: 0o644 });
      // A service name of its own: squid names its shared memory segments after it, so that it
      // cannot meet another squid's (a system one, or another test's).
      return ["-n", `rom${port}`, "-N", "-f", file("squid.conf")];
    },
    // Both ports answer as this squid: a port taken meanwhile by another test's daemon (free
    // when chosen, bound by someone else first) makes it start again on new ports. Once a TLS
    // port held by another squid had this one serve plain HTTP there ("wrong version number").
    async ready([port, tlsPort]) {
      const ours = (reply: string) => reply.includes(`rom-squid-${port}`);
      const request = "GET / HTTP/1.0\r\n\r\n";
      if (!ours(await ask(port, request))) return false;
      return !tls || ours(await ask(tlsPort, request, true));
    },
    url: ([port]) => `http://127.0.0.1:${port}`,
  });
}

/** Starts microsocks (SOCKS5; with `-u`/`-P` when `auth` is given). */
export function startMicrosocks(auth?: { user: string; password: string }): Promise<RunningProxy> {
  const binary = need("microsocks");
  return startDaemon({
    name: "microsocks",
    binary,
    setup: (_dir, [port]) => [
      "-i",
      "127.0.0.1",
      "-p",
      String(port),
      ...(auth ? ["-u", auth.user, "-P", auth.password] : []),
    ],
    ready: ([port]) => answersSocks5(port),
    url: ([port]) => `socks5h://127.0.0.1:${port}`,
  });
}

/**
 * Starts dante (`danted`) as a SOCKS5 proxy without login (`socksmethod: none`). Dante's
 * username method checks system accounts (`getpwnam`), which a test should not create; the login
 * case is microsocks'.
 */
export function startDante(): Promise<RunningProxy> {
  const binary = need("danted");
  const root = process.getuid?.() === 0;
  return startDaemon({
    name: "danted",
    binary,
    logFiles: ["danted.log"],
    setup(dir, [port]) {
      const file = (name: string) => join(dir, name);
      const lines = [
        `logoutput: ${file("danted.log")}`,
        `internal: 127.0.0.1 port = ${port}`,
        "external: 127.0.0.1",
        "clientmethod: none",
        "socksmethod: none",
        ...(root ? ["user.privileged: root", "user.unprivileged: nobody"] : []),
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }",
      ];
      writeFileSync(file("danted.conf"), lines.join("\n") + "\n", { mode: 0o644 });
      return ["-f", file("danted.conf"), "-p", file("danted.pid"), "-N", "1"];
    },
    ready: ([port]) => answersSocks5(port),
    url: ([port]) => `socks5://127.0.0.1:${port}`,
  });
}

/**
 * Starts nginx as a TLS terminator: `wss://127.0.0.1:<port>` in front of the `ws://` server on
 * `upstreamPort` (WebSocket upgrade passed through, no buffering, long timeouts).
 */
export function startNginxTls(
  upstreamPort: number,
  tls: { cert: string; key: string },
): Promise<RunningProxy> {
  const binary = need("nginx");
  return startDaemon({
    name: "nginx",
    binary,
    logFiles: ["error.log"],
    setup(dir, [port]) {
      const file = (name: string) => join(dir, name);
      writeFileSync(file("cert.pem"), tls.cert);
      writeFileSync(file("key.pem"), tls.key);
      const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${file("nginx.pid")};
error_log ${file("error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${file("body")};
  proxy_temp_path ${file("proxy")};
  fastcgi_temp_path ${file("fastcgi")};
  uwsgi_temp_path ${file("uwsgi")};
  scgi_temp_path ${file("scgi")};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${file("cert.pem")};
    ssl_certificate_key ${file("key.pem")};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      # No Host line: nginx sends the upstream's host:port, which wstest checks against its own.
      proxy_buffering off;
      proxy_read_timeout 600s;
      proxy_send_timeout 600s;
    }
  }
}
`;
      writeFileSync(file("nginx.conf"), conf);
      return ["-p", dir, "-c", file("nginx.conf"), "-e", file("error.log")];
    },
    async ready([port]) {
      return /^HTTP\/1\.1/.test(await ask(port, "GET / HTTP/1.0\r\n\r\n", true));
    },
    url: ([port]) => `wss://127.0.0.1:${port}`,
  });
}
