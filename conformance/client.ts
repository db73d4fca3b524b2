/**
 * Autobahn Testsuite driver for rom-websocket: the agent that `wstest -m fuzzingserver` tests.
 *
 * Runs unchanged under the three runtimes:
 *
 * ```sh
 * deno run -A conformance/client.ts --url ws://127.0.0.1:9001
 * bun conformance/client.ts --url ws://127.0.0.1:9001
 * esbuild conformance/client.ts --bundle --platform=node --format=esm \
 *   --outfile=.build/conformance/client.mjs && node .build/conformance/client.mjs --url ...
 * ```
 *
 * Arguments: `--url` (fuzzing server, default ws://127.0.0.1:9001), `--agent` (default
 * `rom-websocket-<runtime>`), `--cases 1-10,15` (case numbers, default all), `--compression
 * on|off` (offer permessage-deflate, default off), `--case-timeout` (seconds, default 300), `--proxy
 * URL` (go through this proxy; default: none, whatever the environment says), `--ca FILE` (trust
 * this CA for `wss://`, PEM). The last two serve `scripts/conformance/through_proxy.ts`.
 *
 * The loop is the one every Autobahn client driver uses: read the case count from
 * `/getCaseCount`; for each case connect to `/runCase?case=N&agent=A` and echo every message with
 * the same type until the connection closes; then `/updateReports?agent=A` makes the server write
 * `reports/clients/index.json`. Errors are part of the test (the server judges them), so they are
 * ignored here.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { connect } from "../mod.ts";

/** The runtime globals this file touches, declared here so it needs no runtime's types. */
const runtimeGlobals = globalThis as unknown as {
  Deno?: { args: string[]; exit(code: number): never };
  Bun?: unknown;
  process?: { argv: string[]; exit(code: number): never };
};

const runtime = runtimeGlobals.Deno ? "deno" : runtimeGlobals.Bun ? "bun" : "node";
const argv = runtimeGlobals.Deno?.args ?? runtimeGlobals.process?.argv.slice(2) ?? [];

function exit(code: number): never {
  if (runtimeGlobals.Deno) runtimeGlobals.Deno.exit(code);
  return runtimeGlobals.process!.exit(code);
}

/** `--name value` pairs into a record. */
function parseArgs(args: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith("--")) throw new Error(`unexpected argument ${args[i]}`);
    out[args[i].slice(2)] = args[i + 1];
  }
  return out;
}

/** "1-10,15" → [1..10, 15], limited to 1..count; every case when `spec` is undefined. */
function selectCases(spec: string | undefined, count: number): number[] {
  if (spec === undefined) return Array.from({ length: count }, (_, i) => i + 1);
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let i = from; i <= Math.min(to, count); i++) out.push(i);
  }
  return out;
}

const args = parseArgs(argv);
const base = args.url ?? "ws://127.0.0.1:9001";
const agent = args.agent ?? `rom-websocket-${runtime}`;
const caseTimeout = Number(args["case-timeout"] ?? 300) * 1000;

/**
 * Client options for the suite. Limits are the Autobahn-time limits: 9.1.6/9.2.6 send 16 MiB in
 * one frame and 9.3.1/9.4.1 send 4 MiB in 65,536 fragments, so 64 MiB (our default) and 2^17
 * fragments leave headroom. Keepalive is off: a client ping would show up in the server's log of
 * the case, and the server stays silent for a long time while it writes the reports.
 * Kept in a variable (not a literal at the call) so that options the client may not know yet are
 * not an excess-property error.
 */
const options = {
  maxMessageSize: 64 * 1024 * 1024,
  maxFragments: 1 << 17,
  compression: args.compression === "on",
  openTimeout: 60_000,
  pingInterval: 0,
  proxy: args.proxy ?? (false as const),
  tls: args.ca === undefined ? undefined : { ca: readFileSync(args.ca, "utf8") },
};

type Message = string | Uint8Array;

/**
 * Opens `path` on the fuzzing server and, when `echo` is set, sends every message back with its
 * type (a string as text, a Uint8Array as binary) until the connection closes. Resolves with the
 * messages received; never rejects (a failed open or an unclean close is the server's to judge).
 */
async function session(
  path: string,
  { echo = true, timeout = caseTimeout }: { echo?: boolean; timeout?: number } = {},
): Promise<Message[]> {
  const messages: Message[] = [];
  let ws: Awaited<ReturnType<typeof connect>>;
  try {
    ws = await connect(`${base}${path}`, options);
  } catch (error) {
    console.error(`${agent}: ${path}: connect failed: ${(error as Error)?.message ?? error}`);
    return messages;
  }
  // The natural consumer loop. When a good message is followed by a bad frame or a close frame
  // in the same read, the client holds the close until this loop has had its turn, so the echo
  // leaves first (Autobahn 3.2, 4.1.3, 5.15 and others check that order).
  const loop = (async () => {
    try {
      for await (const message of ws) {
        messages.push(message);
        if (echo) await ws.send(message).catch(() => {}); // fails only when closing
      }
    } catch {
      // The iterator throws at the end when the close was not clean: the server judges that.
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeout);
  });
  if (await Promise.race([loop, timedOut]) === "timeout") {
    console.error(`${agent}: ${path} timed out after ${timeout / 1000} s`);
    ws.close().catch(() => {});
  }
  clearTimeout(timer);
  return messages;
}

const [countMessage] = await session("/getCaseCount", { echo: false, timeout: 60_000 });
const count = Number(countMessage);
if (!(count > 0)) {
  console.error(`${agent}: no case count from ${base}/getCaseCount`);
  exit(1);
}

const cases = selectCases(args.cases, count);
for (const [index, id] of cases.entries()) {
  console.log(`${agent}: case ${id} (${index + 1}/${cases.length})`);
  await session(`/runCase?case=${id}&agent=${encodeURIComponent(agent)}`);
}

// The server writes the reports after the handshake and only then sends its close frame.
await session(`/updateReports?agent=${encodeURIComponent(agent)}`, {
  echo: false,
  timeout: 600_000,
});
console.log(`${agent}: done, ${cases.length} cases`);
// Exit explicitly: a connection that timed out may still hold the event loop open.
exit(0);
