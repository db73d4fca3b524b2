/**
 * WebSocketClient against a REAL Asterisk 16 (ARI) that restarts (tests/_util/asterisk.ts): the
 * feed features of the client as an ARI application uses them. The connection to
 * /ari/events?app=... carries the credentials in an Authorization header; `onOpen` (re)subscribes
 * through the REST API on every open; Asterisk is stopped and started again on the same port; the
 * client reports the outage (cause, lostAt, restoredAt, attempts, lastMessageAt), `onOpen` runs
 * again with the outage BEFORE any event of the new connection is delivered (an event Asterisk
 * sends while it runs waits), and events flow again. examples/ari_feed.ts does the same as an
 * application: it reports the outage and resyncs its state.
 *
 * Without Asterisk the test is skipped with a visible reason; with the environment variable CI
 * set, a missing Asterisk fails instead (as in tests/rom/ari_test.ts).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import {
  type CloseEvent,
  type OpenInfo,
  type Outage,
  type OutageEvent,
  type ReconnectEvent,
  WebSocketClient,
} from "../../mod.ts";
import { delay, guarded, waitFor, withTimeout } from "../_util/async.ts";
import { type Asterisk, asteriskAvailable, startAsterisk } from "../_util/asterisk.ts";
import { commandFor, start } from "../_util/subprocess.ts";

const APP = "rom-client-ari-test";
/**
 * A channel outside the app (in the dialplan, not in Stasis) that the app watches through a
 * subscription: it lives in Asterisk's memory only, so every open must find or make it again and
 * subscribe to it. (Asterisk 16 as configured here has no bridges or device-state modules, and
 * `endpoint:Local` is not an event source: a channel is what it can subscribe to.)
 */
const WATCHED = "rom-client-ari-watched";
/** Safety nets: ARI events follow a REST call within milliseconds; Asterisk starts in ~1 s. */
const WAIT = 10_000;
const START = 30_000;
/** Asterisk stays down longer than maxDelay: several attempts are refused. */
const DOWNTIME = 1500;
const RECONNECT = { initialDelay: 100, maxDelay: 500 } as const;
const DEADLINE = 55_000;
const OPTIONS = { timeout: 90_000 } as const;

function ciRequiresAsterisk(): boolean {
  let ci: string | undefined;
  try {
    ci = process.env.CI;
  } catch {
    ci = undefined; // no env permission
  }
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

const missing = asteriskAvailable() === undefined;
const skip: string | false = missing && !ciRequiresAsterisk() ? "Asterisk not installed" : false;
/** A visible reason in every runner's listing (Deno prints no skip reason of its own). */
const suffix = skip ? ` (skipped: ${skip})` : "";

type AriEvent = { type: string; channel?: { id?: string }; [key: string]: unknown };

/** One event as the application received it. */
interface Received {
  readonly event: AriEvent;
  readonly at: number;
  /** The onOpen call (1, 2, ...) whose connection delivered it. */
  readonly connection: number;
}

/** One call of onOpen. */
interface OnOpenCall {
  readonly n: number;
  readonly info: OpenInfo;
  readonly startedAt: number;
  endedAt?: number;
  /** The watched channel was missing and onOpen made it. */
  created?: boolean;
  /** Events delivered while this call ran (must stay 0). */
  deliveredWhileRunning?: number;
  /** The channel originated while it ran (its StasisStart must wait for the call). */
  heldChannel?: string;
}

/** Fails with Asterisk's last output lines when a step fails. */
function tailOf(ast: Asterisk): string {
  return ast.output().trimEnd().split("\n").slice(-30).join("\n");
}

/** The watched channel exists afterwards; true when it had to be made. */
async function ensureWatched(ast: Asterisk): Promise<boolean> {
  try {
    await ast.ari("GET", `/channels/${WATCHED}`);
    return false;
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
  }
  const query = new URLSearchParams({
    endpoint: "Local/100@default",
    extension: "100",
    context: "default",
    priority: "1",
    channelId: WATCHED,
  });
  await ast.ari("POST", `/channels?${query}`);
  return true;
}

describe("WebSocketClient against a real Asterisk across a restart (ARI)", () => {
  let asterisk: Asterisk | undefined;

  before(async () => {
    if (missing) return;
    asterisk = await startAsterisk({ app: APP, startTimeout: START });
  }, { timeout: START + 10_000 });

  after(async () => {
    await asterisk?.stop();
  }, { timeout: 15_000 });

  function ari(): Asterisk {
    if (missing) {
      assert.fail("Asterisk is not installed, and CI is set: the ARI tests must run in CI");
    }
    assert.ok(asterisk, "Asterisk did not start (see the before hook's error)");
    return asterisk;
  }

  it(
    `Asterisk restarts: outage reported, onOpen resubscribes before any new event, events flow again${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      assert.ok(!ast.eventsUrl.includes("@"), "no credentials in the URL");
      const received: Received[] = [];
      const calls: OnOpenCall[] = [];
      /** What the application saw, in order; runs of messages and of reconnects count once. */
      const order: string[] = [];
      const note = (what: string) => {
        if (order.at(-1) !== what || (what !== "message" && what !== "reconnect")) {
          order.push(what);
        }
      };
      const outages: OutageEvent[] = [];
      const reconnects: ReconnectEvent[] = [];
      const ofConnection = (n: number) => received.filter((r) => r.connection === n);
      const stasisStart = (id: string) =>
        received.find((r) => r.event.type === "StasisStart" && r.event.channel?.id === id);

      const client = new WebSocketClient(ast.eventsUrl, {
        headers: { Authorization: ast.authorization },
        reconnect: RECONNECT,
        pingInterval: 0,
        async onOpen(_client, info) {
          const call: OnOpenCall = { n: calls.length + 1, info, startedAt: Date.now() };
          calls.push(call);
          note(`onOpen ${call.n} start`);
          const before = received.length;
          // (Re)subscribe: after a restart the channel and the subscription are gone.
          call.created = await ensureWatched(ast);
          await ast.ari("POST", `/applications/${APP}/subscription?eventSource=channel:${WATCHED}`);
          if (info.outage) {
            // A channel enters the app now: Asterisk sends its StasisStart at once, and the
            // client must hold it until this call returns.
            const channel = await ast.originate();
            call.heldChannel = channel.id;
            const app = await ast.ari("GET", `/applications/${APP}`) as { channel_ids: string[] };
            assert.ok(app.channel_ids.includes(channel.id), "the channel is in the app");
            await delay(300); // the event is on the wire by now
          }
          call.deliveredWhileRunning = received.length - before;
          call.endedAt = Date.now();
          note(`onOpen ${call.n} end`);
        },
      });
      scope.defer(() => client.close());
      client.addEventListener("message", (e) => {
        note("message");
        received.push({
          event: JSON.parse(e.data as string) as AriEvent,
          at: Date.now(),
          connection: calls.length,
        });
      });
      client.addEventListener("open", (e) => note(e.outage ? "open (outage)" : "open"));
      client.addEventListener("outage", (e) => {
        note("outage");
        outages.push(e);
      });
      client.addEventListener("reconnect", (e) => {
        note("reconnect");
        reconnects.push(e);
      });
      let closed: CloseEvent | undefined;
      client.addEventListener("close", (e) => {
        note("close");
        closed = e;
      });
      const errors: Array<{ error: unknown; position: number }> = [];
      client.addEventListener("error", (e) => {
        errors.push({ error: e.error, position: order.length });
        note("error");
      });

      await withTimeout(client.opened, WAIT, "first open");
      assert.equal(calls.length, 1, "onOpen ran on the first open");
      assert.equal(calls[0].info.outage, undefined, "no outage on the first open");
      assert.equal(calls[0].info.attempt, 1);
      assert.equal(calls[0].info.url, ast.eventsUrl);
      assert.equal(calls[0].info.response.status, 101);
      assert.equal(calls[0].created, true, "onOpen made the watched channel");
      const subscribed = async () =>
        ((await ast.ari("GET", `/applications/${APP}`)) as { channel_ids: string[] }).channel_ids;
      assert.ok((await subscribed()).includes(WATCHED), "subscribed to the watched channel");

      // Events flow: a channel into the app (StasisStart), hung up (both halves destroyed).
      const first = await ast.originate();
      await waitFor(() => stasisStart(first.id) !== undefined, WAIT, "StasisStart (first)");
      await ast.hangup(first.id);
      await waitFor(
        () => received.filter((r) => r.event.type === "ChannelDestroyed").length >= 2,
        WAIT,
        "both halves of the Local channel destroyed",
      );
      await delay(100);
      const lastBeforeStop = received.at(-1)!.at;

      // Asterisk goes away (SIGTERM: a graceful shutdown), stays down, and comes back.
      const stopAt = Date.now();
      await withTimeout(ast.halt(), WAIT, "Asterisk halted");
      const exitedAt = Date.now();
      assert.equal(ast.running, false);
      await waitFor(() => reconnects.length > 0, WAIT, "the loss noticed");
      await delay(DOWNTIME);
      assert.equal(client.readyState, WebSocketClient.CONNECTING, "reconnecting");
      assert.equal(outages.length, 0, "no outage report while down");
      const startAt = Date.now();
      await withTimeout(ast.start({ startTimeout: START }), START + 5000, "Asterisk started")
        .catch((error) => assert.fail(`${error}\n${tailOf(ast)}`));
      const readyAt = Date.now();
      // Reconnection, then onOpen (REST calls to an Asterisk that has just started): bounded
      // generously, since a loaded machine once needed more than 10 s here.
      await waitFor(() => outages.length === 1, START, "the outage event").catch((error) =>
        assert.fail(
          `${error}\nwhat the application saw: ${order.join(", ")}\nerrors: ${
            errors.map((e) => String(e.error)).join("; ")
          }\nreconnects: ${reconnects.length}, state ${client.readyState}, close ${closed?.code} ${
            String(closed?.error)
          }\n${tailOf(ast)}`,
        )
      );
      const outageEventAt = Date.now();
      const lastOfFirst = ofConnection(1).at(-1)!.at;

      // The outage report.
      const outage: Outage = outages[0].outage;
      assert.ok(
        outage.cause.code === 1006 || outage.cause.code === 1001,
        `cause ${JSON.stringify(outage.cause)}`,
      );
      assert.ok(stopAt <= outage.lostAt && outage.lostAt <= outage.restoredAt, "lost, restored");
      assert.ok(startAt <= outage.restoredAt, "restored after the new start");
      assert.ok(outage.attempts >= 1, `attempts ${outage.attempts}`);
      assert.equal(outage.attempts, reconnects.length, "one attempt per reconnect event");
      assert.ok(outage.attempts >= 2, "refused while down (downtime > maxDelay)");
      for (const r of reconnects) {
        assert.ok(r.delay <= RECONNECT.maxDelay, `delay ${r.delay} <= maxDelay`);
      }
      assert.equal(reconnects[0].wasOpen, true);
      assert.ok(reconnects.slice(1).every((r) => !r.wasOpen), "the later attempts never opened");
      assert.ok(outage.lastMessageAt !== undefined, "lastMessageAt");
      assert.ok(
        outage.lastMessageAt >= lastBeforeStop,
        "lastMessageAt >= the last event's arrival",
      );
      assert.ok(outage.lastMessageAt >= lastOfFirst, "lastMessageAt: the last of the connection");
      assert.ok(outage.lastMessageAt <= outage.lostAt, "lastMessageAt before the loss");

      // onOpen ran again, with the outage, and the event Asterisk sent meanwhile waited for it.
      assert.equal(calls.length, 2, "onOpen ran again");
      const second = calls[1];
      assert.equal(second.info.outage, outage, "onOpen got the same outage report");
      // Every attempt of the client counts: the first connection was attempt 1.
      assert.equal(second.info.attempt, 1 + outage.attempts, "the attempt that opened");
      assert.ok(outage.restoredAt <= second.startedAt, "onOpen after the restoration");
      assert.equal(second.deliveredWhileRunning, 0, "no event while onOpen ran");
      await waitFor(() => stasisStart(second.heldChannel!) !== undefined, WAIT, "held StasisStart");
      const fresh = ofConnection(2);
      assert.ok(fresh.length > 0 && fresh[0].at >= second.endedAt!, "events after onOpen only");
      assert.equal(second.created, true, "the restarted Asterisk had lost the watched channel");
      assert.ok((await subscribed()).includes(WATCHED), "subscribed again in the new Asterisk");
      // The only errors: how the first connection was lost (Asterisk ends TCP without a close
      // frame), reported before the first reconnect.
      for (const { error, position } of errors) {
        assert.equal((error as Error).name, "NetworkError", String(error));
        assert.ok(position < order.indexOf("reconnect"), `error ${error} at ${order}`);
      }
      assert.deepEqual(order.filter((what) => what !== "error"), [
        "onOpen 1 start",
        "onOpen 1 end",
        "open",
        "message",
        "reconnect",
        "onOpen 2 start",
        "onOpen 2 end",
        "open (outage)",
        "outage",
        "message",
      ]);

      // Events flow again: through the new subscription (the watched channel is hung up) and
      // for a new channel into the app.
      await ast.hangup(WATCHED);
      await waitFor(
        () =>
          ofConnection(2).some((r) =>
            r.event.type === "ChannelDestroyed" && r.event.channel?.id === WATCHED
          ),
        WAIT,
        "ChannelDestroyed of the watched channel (through the subscription)",
      );
      await ast.hangup(second.heldChannel!);
      const again = await ast.originate();
      const againAt = Date.now();
      await waitFor(() => stasisStart(again.id) !== undefined, WAIT, "StasisStart (again)");
      const flowingAt = stasisStart(again.id)!.at;
      await ast.hangup(again.id);

      const t = (at: number) => `+${at - stopAt} ms`;
      console.log(
        `[ari restart] stop ${t(stopAt)}, exited ${t(exitedAt)}, lost ${t(outage.lostAt)} ` +
          `(${outage.cause.code}), start ${t(startAt)}, ARI ready ${t(readyAt)}, restored ` +
          `${t(outage.restoredAt)} after ${outage.attempts} attempts, onOpen ` +
          `${t(second.startedAt)}..${t(second.endedAt!)}, outage event ${t(outageEventAt)}, ` +
          `held StasisStart ${t(stasisStart(second.heldChannel!)!.at)}, originate ${t(againAt)} ` +
          `-> StasisStart ${t(flowingAt)}`,
      );

      const info = await withTimeout(client.close(), WAIT, "close");
      assert.equal(info.code, 1000);
    }, DEADLINE),
  );

  it(
    `examples/ari_feed.ts: reports the outage of a restart, resyncs, and events flow again${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      const [command, args] = commandFor("examples/ari_feed.ts", "ari-example/ari_feed.mjs");
      const child = start(command, args, {
        timeout: 40_000,
        onStdout: () => {},
        env: {
          ARI_URL: ast.baseUrl,
          ARI_APP: APP,
          ARI_USER: ast.user,
          ARI_PASSWORD: ast.password,
        },
      });
      scope.defer(() => child.kill("SIGKILL"));
      const output = () => `stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`;
      const count = (text: string, of = child.stderr) => of().split(text).length - 1;
      const started = (id: string) => child.stdout().includes(` StasisStart channel=${id} `);

      await waitFor(() => count("resynced: 0 channel(s)") === 1, WAIT, `resynced; ${output()}`);
      const before = await ast.originate();
      await waitFor(() => started(before.id), WAIT, `StasisStart; ${output()}`);
      assert.match(child.stdout(), / StasisStart .*\(1 channel\(s\)\)/);

      // The channel dies with Asterisk: no event says so, the resync after the restart does.
      await withTimeout(ast.restart({ downtime: 500, startTimeout: START }), START, "restart");
      await waitFor(() => count("resynced: 0 channel(s)") === 2, WAIT, `resynced; ${output()}`);
      const report = child.stderr().split("\n").find((line) => line.includes(" outage: "));
      assert.ok(report, `an outage line; ${output()}`);
      assert.match(report, /lost at \S+Z \(.+\), restored at \S+Z after \d+ attempt\(s\)/);
      assert.match(report, /events from \S+Z to \S+Z may be missing$/);
      assert.ok(count("connected to") === 2 && count(" again") === 1, output());

      const after = await ast.originate();
      await waitFor(() => started(after.id), WAIT, `StasisStart again; ${output()}`);
      await ast.hangup(after.id);
      child.kill("SIGINT");
      const r = await withTimeout(child.result, WAIT, "exit after SIGINT");
      assert.equal(r.code, 0, `exit status after SIGINT; ${output()}`);
      assert.match(r.stderr, /SIGINT: stopping/);
      assert.match(r.stderr, /closed: code 1000/);
      assert.ok(!(r.stdout + r.stderr).includes(ast.password), "the password is never printed");
    }, DEADLINE),
  );
});
