// Autobahn Testsuite driver for the reference client: the `ws` npm package on Node.
//
// Usage: node conformance/ws_client.mjs --url ws://127.0.0.1:9001 [--agent ws] [--cases 1-10]
//
// Same loop as conformance/client.ts (and as ws's own test/autobahn.js): read the case count,
// run each case by echoing every message with its type until the server closes, then ask the
// server to write its reports. ws is used with its defaults (permessage-deflate offered with
// client_max_window_bits) except two limits, set to our driver's Autobahn-time limits: maxPayload
// 64 MiB (ws: 100 MiB) and maxFragments 2^17. ws 8.23 lowered its client default to 16,384
// fragments, which fails 9.3.1, 9.3.2, 9.4.1 and 9.4.2 (4 MiB in up to 65,536 fragments) with a
// 1008 close.

import WebSocket from "ws";

const CLIENT_OPTIONS = { maxPayload: 64 * 1024 * 1024, maxFragments: 1 << 17 };

const args = parseArgs(process.argv.slice(2));
const base = args.url ?? "ws://127.0.0.1:9001";
const agent = args.agent ?? "ws";
const caseTimeout = Number(args["case-timeout"] ?? 300) * 1000;

/** `--name value` pairs into an object. */
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
    i++;
  }
  return out;
}

/** "1-10,15" → [1..10, 15], limited to 1..count; all cases when spec is undefined. */
function selectCases(spec, count) {
  if (spec === undefined) return Array.from({ length: count }, (_, i) => i + 1);
  const out = [];
  for (const part of spec.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let i = from; i <= Math.min(to, count); i++) out.push(i);
  }
  return out;
}

/**
 * Opens `path` on the fuzzing server, echoes every message until the connection closes and
 * resolves with the messages received. Never rejects: errors end the connection like a close.
 */
function session(path, { echo = true, timeout = caseTimeout } = {}) {
  return new Promise((resolve) => {
    const messages = [];
    const ws = new WebSocket(`${base}${path}`, CLIENT_OPTIONS);
    const timer = setTimeout(() => {
      console.error(`${agent}: ${path} timed out after ${timeout / 1000} s`);
      ws.terminate();
    }, timeout);
    ws.on("message", (data, isBinary) => {
      messages.push(isBinary ? data : data.toString());
      if (echo) ws.send(data, { binary: isBinary });
    });
    ws.on("error", () => {/* the close event follows */});
    ws.on("close", () => {
      clearTimeout(timer);
      resolve(messages);
    });
  });
}

const [countMessage] = await session("/getCaseCount", { echo: false, timeout: 60_000 });
const count = Number(countMessage);
if (!(count > 0)) {
  console.error(`${agent}: no case count from ${base}/getCaseCount`);
  process.exit(1);
}

const cases = selectCases(args.cases, count);
for (const [index, id] of cases.entries()) {
  console.log(`${agent}: case ${id} (${index + 1}/${cases.length})`);
  await session(`/runCase?case=${id}&agent=${encodeURIComponent(agent)}`);
}

// Report generation happens on the server after the handshake, before its close frame: allow
// plenty of time for it.
await session(`/updateReports?agent=${encodeURIComponent(agent)}`, {
  echo: false,
  timeout: 600_000,
});
console.log(`${agent}: done, ${cases.length} cases`);
