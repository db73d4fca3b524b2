/**
 * tinyproxy (Debian's package) started by a test on a free port of 127.0.0.1, with or without a
 * login: the HTTP CONNECT proxy of `tests/client/proxy_test.ts` and `tests/client/tls_test.ts`.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { delay } from "./async.ts";
import { freePort } from "./ports.ts";

/** The tinyproxy binary, or undefined when it is not installed. */
export function tinyproxyPath(): string | undefined {
  for (const path of ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]) {
    // A missing binary: status null and an ENOENT error on Node.js and Bun; on Deno 2.9 the
    // status is undefined instead, so the error is what tells.
    const run = spawnSync(path, ["-v"]);
    if (run.error === undefined && typeof run.status === "number") return path;
  }
  return undefined;
}

/** A running tinyproxy. */
export interface Tinyproxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops it (SIGTERM, then SIGKILL after 2 s) and removes its files. */
  stop(): Promise<void>;
  /** Its log so far. */
  log(): string;
}

// Asks whatever listens on the port who it is: tinyproxy answers a bare request with an error
// page and its own Server header. Anything else (another test's server that took the port
// between freePort() and tinyproxy's bind) is not our proxy.
function isTinyproxy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = "";
    const s = connectTcp(port, "127.0.0.1", () => s.write("GET / HTTP/1.0\r\n\r\n"));
    const timer = setTimeout(() => s.destroy(), 2_000);
    s.setEncoding("latin1");
    s.on("data", (chunk: string) => reply += chunk);
    s.once("error", () => {});
    s.once("close", () => {
      clearTimeout(timer);
      resolve(/^server:\s*tinyproxy/im.test(reply));
    });
  });
}

/**
 * Starts tinyproxy (with `BasicAuth` when `auth` is given) and waits until it answers as
 * tinyproxy; retries on a new port when another process took the port first.
 */
export async function startTinyproxy(
  auth?: { user: string; password: string },
): Promise<Tinyproxy> {
  const binary = tinyproxyPath();
  if (!binary) throw new Error("tinyproxy is not installed");
  for (let attempt = 1;; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "rom-proxy-"));
    const port = await freePort();
    const config = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "MaxClients 20",
      "Allow 127.0.0.1",
      "DisableViaHeader Yes",
      `LogFile "${join(dir, "tinyproxy.log")}"`,
      "LogLevel Info",
      ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
    ].join("\n");
    writeFileSync(join(dir, "tinyproxy.conf"), config + "\n");
    const child = spawn(binary, ["-d", "-c", join(dir, "tinyproxy.conf")], { stdio: "ignore" });
    const log = () => {
      try {
        return readFileSync(join(dir, "tinyproxy.log"), "utf8");
      } catch {
        return "";
      }
    };
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM lets tinyproxy stop the worker processes it may have forked.
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    // Ready when tinyproxy itself answers on the port (up to 10 s on a slow machine).
    let ready = false;
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      if (await isTinyproxy(port)) {
        ready = true;
        break;
      }
      await delay(50);
    }
    if (ready && child.exitCode === null) {
      return { port, url: `http://127.0.0.1:${port}`, log, stop };
    }
    const why = `tinyproxy on port ${port} did not start (exit ${child.exitCode}): ${log()}`;
    await stop();
    if (attempt === 5) throw new Error(why);
  }
}
