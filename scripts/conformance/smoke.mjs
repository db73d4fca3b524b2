// Smoke test of an Autobahn Testsuite install: start `wstest -m fuzzingserver` on a free loopback
// port and read the case count from /getCaseCount with the `ws` package.
//
// Usage: node scripts/conformance/smoke.mjs <path to wstest>
// Exit code 0 and one line "fuzzingserver OK: ..." on success; 1 with wstest's output on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";

const wstest = process.argv[2];
if (!wstest) {
  console.error("usage: node smoke.mjs <path to wstest>");
  process.exit(2);
}

/** A free TCP port on 127.0.0.1 (the OS picks one; we release it right away). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the first message of /getCaseCount, rejects if the connection fails. */
function getCaseCount(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/getCaseCount`);
    ws.once("message", (data) => resolve(Number(data.toString())));
    ws.once("error", reject);
    ws.once("close", () => reject(new Error("closed without a count")));
  });
}

const dir = mkdtempSync(join(tmpdir(), "autobahn-smoke-"));
const port = await freePort();
const url = `ws://127.0.0.1:${port}`;
writeFileSync(
  join(dir, "fuzzingserver.json"),
  JSON.stringify({ url, outdir: join(dir, "reports"), cases: ["*"] }),
);

const started = Date.now();
const server = spawn(wstest, ["-m", "fuzzingserver", "-s", "fuzzingserver.json", "-u", "0"], {
  cwd: dir,
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
server.stdout.on("data", (chunk) => output += chunk);
server.stderr.on("data", (chunk) => output += chunk);
let exited = false;
server.once("exit", () => exited = true);

let count;
try {
  // Poll until the server listens: Twisted needs about a second to import and start.
  for (const deadline = Date.now() + 30_000; count === undefined && !exited;) {
    try {
      count = await getCaseCount(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  if (!(count > 0)) throw new Error("wstest exited before answering");
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`fuzzingserver OK: ${count} cases at ${url} (ready in ${seconds} s)`);
} catch (error) {
  console.error(`fuzzingserver smoke test failed: ${error?.message ?? error}`);
  console.error(output);
  process.exitCode = 1;
} finally {
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
