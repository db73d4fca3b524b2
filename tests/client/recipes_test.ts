/**
 * The feed recipes of `examples/` (Slack Socket Mode, Pusher Channels, Pushbullet), each run
 * through its core function against a local peer that follows the service's documented protocol
 * (`tests/_util/feeds/`). What is asserted is what the peer saw: acknowledgements, subscriptions,
 * pongs, which connection was open when, who closed it and with what code.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError, type ReconnectEvent, TimeoutError } from "../../mod.ts";
import { delay, guarded, waitFor, withTimeout } from "../_util/async.ts";
import { STEP } from "../_util/client.ts";
import { startSlackPeer } from "../_util/feeds/slack.ts";
import { startPusherPeer } from "../_util/feeds/pusher.ts";
import { startPushbulletPeer } from "../_util/feeds/pushbullet.ts";
import {
  appsConnectionsOpen,
  runSlackSocketMode,
  type SlackEnvelope,
} from "../../examples/slack_socket_mode.ts";
import { runPusher } from "../../examples/pusher.ts";
import { fetchPushes, runPushbullet } from "../../examples/pushbullet.ts";

// -------------------------------------------------------------------------------------------------

describe("recipe: Slack Socket Mode", () => {
  it(
    "hello, then every envelope acknowledged by its envelope_id and handed to onEvent in order",
    guarded(async (scope) => {
      const slack = scope.use(await startSlackPeer());
      const events: SlackEnvelope[] = [];
      const app = runSlackSocketMode({
        openConnection: () => appsConnectionsOpen(slack.appToken, slack.apiBase),
        onEvent: (e) => void events.push(e),
      });
      scope.defer(() => app.stop());
      await withTimeout(app.ready, STEP, "hello");
      const ids = [1, 2, 3, 4, 5].map((i) => slack.dispatch({ event: { type: "message", i } }));
      await waitFor(() => slack.unacked === 0 && events.length === 5, STEP, "five acks");
      const connection = slack.peer.connections[0];
      assert.deepEqual(connection.received, ids.map((envelope_id) => ({ envelope_id })));
      assert.deepEqual(events.map((e) => e.envelope_id), ids);
      assert.deepEqual(events.map((e) => (e.payload as { event: { i: number } }).event.i), [
        1,
        2,
        3,
        4,
        5,
      ]);
      assert.equal(slack.issued, 1, "apps.connections.open called once");
      assert.equal(app.connections, 1);
    }),
  );

  it(
    "disconnect (warning, then refresh_requested): the next connection opens first, the old one closes after; no event lost",
    guarded(async (scope) => {
      const slack = scope.use(await startSlackPeer({ ackTimeout: 300, closeAfter: 3000 }));
      const seen = new Set<string>();
      const app = runSlackSocketMode({
        openConnection: () => appsConnectionsOpen(slack.appToken, slack.apiBase),
        onEvent: (e) => void seen.add(e.envelope_id),
      });
      scope.defer(() => app.stop());
      await withTimeout(app.ready, STEP, "hello");
      const ids: string[] = [];
      const old = slack.peer.connections[0];
      for (let i = 0; i < 40; i++) {
        if (i === 10) slack.refresh(old, "warning");
        if (i === 12) slack.refresh(old, "refresh_requested");
        ids.push(slack.dispatch({ event: { type: "message", i } }));
        await delay(5);
      }
      await waitFor(() => slack.unacked === 0, STEP, "every envelope acknowledged");
      assert.deepEqual(ids.filter((id) => !seen.has(id)), [], "onEvent saw every envelope");
      const close = await withTimeout(old.closed, STEP, "the old connection closes");
      assert.equal(close.byClient, true, "the app closed the old connection itself");
      assert.equal(close.code, 1000);
      assert.equal(slack.peer.connections.length, 2, "one new connection for both messages");
      const next = slack.peer.connections[1];
      assert.ok(next.openedAt < old.closedAt!, "the next one opened before the old one closed");
      assert.equal(slack.peer.maxConcurrent, 2);
      assert.equal(slack.issued, 2, "a fresh URL for the new connection");
      assert.notEqual(next.url.searchParams.get("ticket"), old.url.searchParams.get("ticket"));
      assert.equal(app.connections, 2);
    }),
  );

  it(
    "a dropped connection is reopened with a fresh ticket (the url function calls apps.connections.open again)",
    guarded(async (scope) => {
      const slack = scope.use(await startSlackPeer({ ackTimeout: 300 }));
      const seen: string[] = [];
      const app = runSlackSocketMode({
        openConnection: () => appsConnectionsOpen(slack.appToken, slack.apiBase),
        onEvent: (e) => void seen.push(e.envelope_id),
      });
      scope.defer(() => app.stop());
      await withTimeout(app.ready, STEP, "hello");
      slack.peer.connections[0].terminate();
      const id = slack.dispatch({ event: { type: "message", text: "after the drop" } });
      await waitFor(
        () => seen.includes(id) && slack.unacked === 0,
        STEP,
        "the event arrives on the new connection and is acknowledged",
      );
      assert.equal(slack.issued, 2, "one fresh ticket");
      assert.equal(slack.deliveries.get(id)!.ackedOn, 1, "acknowledged on the new connection");
      assert.equal(app.connections, 2, "two hellos");
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("recipe: Pusher Channels", () => {
  const channels = ["orders", "prices"];

  it(
    "connection_established gives the socket_id; onOpen subscribes; channel events arrive parsed; server pings are answered",
    guarded(async (scope) => {
      const peer = scope.use(await startPusherPeer());
      const events: unknown[][] = [];
      const pusher = runPusher({
        url: peer.url,
        channels,
        onEvent: (...e) => void events.push(e),
      });
      scope.defer(() => pusher.stop());
      await waitFor(() => peer.peer.connections[0]?.received.length === 2, STEP, "subscribes");
      assert.deepEqual(peer.subscriptions(0), channels);
      assert.match(pusher.socketId ?? "", /^\d+\.\d+$/);
      assert.equal(peer.trigger("orders", "created", { id: 7 }), 1);
      assert.equal(peer.trigger("other", "ignored", {}), 0);
      await waitFor(() => events.length === 1, STEP, "the event");
      assert.deepEqual(events[0], ["orders", "created", { id: 7 }]);
      peer.ping();
      const connection = peer.peer.connections[0];
      await waitFor(() => connection.received.length === 3, STEP, "pusher:pong");
      assert.deepEqual(connection.received[2], { event: "pusher:pong", data: {} });
    }),
  );

  it(
    "close 4200: reconnects at once, resubscribes before any event, and events flow again",
    guarded(async (scope) => {
      const peer = scope.use(await startPusherPeer());
      const events: unknown[][] = [];
      const pusher = runPusher({ url: peer.url, channels, onEvent: (...e) => void events.push(e) });
      scope.defer(() => pusher.stop());
      await withTimeout(pusher.client.opened, STEP, "open");
      await waitFor(() => pusher.socketId !== undefined, STEP, "socket_id");
      const first = pusher.socketId;
      peer.kick(4200, "Generic reconnect immediately");
      const next = await peer.peer.connection(1);
      const gap = next.openedAt - peer.peer.connections[0].closedAt!;
      await waitFor(() => peer.subscriptions(1).length === 2, STEP, "resubscribed");
      assert.deepEqual(peer.subscriptions(1), channels);
      assert.ok(gap < 900, `reconnected at once: ${gap.toFixed(0)} ms`);
      peer.trigger("prices", "tick", 42);
      await waitFor(() => events.length === 1, STEP, "event after the reconnection");
      assert.deepEqual(events[0], ["prices", "tick", 42]);
      assert.notEqual(pusher.socketId, first, "a new socket_id");
    }),
  );

  it(
    "close 4100: reconnects after 1 s or more",
    guarded(async (scope) => {
      const peer = scope.use(await startPusherPeer());
      const pusher = runPusher({ url: peer.url, channels, onEvent: () => {} });
      scope.defer(() => pusher.stop());
      await withTimeout(pusher.client.opened, STEP, "open");
      peer.kick(4100, "Over capacity");
      const next = await peer.peer.connection(1, STEP);
      const gap = next.openedAt - peer.peer.connections[0].closedAt!;
      assert.ok(gap >= 900, `waited ${gap.toFixed(0)} ms`);
      await waitFor(() => peer.subscriptions(1).length === 2, STEP, "resubscribed");
    }),
  );

  it(
    "close 4001 (a wrong app key): pusher:error, no reconnection, closed with 4001",
    guarded(async (scope) => {
      const peer = scope.use(await startPusherPeer({ key: "right" }));
      const pusher = runPusher({
        url: peer.url.replace("/right", "/wrong"),
        channels,
        onEvent() {},
      });
      const reconnects: ReconnectEvent[] = [];
      pusher.client.addEventListener("reconnect", (e) => void reconnects.push(e));
      scope.defer(() => pusher.client.terminate());
      const info = await withTimeout(pusher.client.closed, STEP, "closed");
      assert.equal(info.received?.code, 4001);
      assert.equal(reconnects.length, 0);
      assert.equal(peer.peer.connections.length, 1);
    }),
  );

  it(
    "a silent server: pusher:ping after activityTimeout, then IDLE_TIMEOUT, a reconnection and new subscriptions",
    guarded(async (scope) => {
      const peer = scope.use(await startPusherPeer());
      const pusher = runPusher({
        url: peer.url,
        channels,
        onEvent: () => {},
        activityTimeout: 200,
        pongTimeout: 200,
      });
      const reconnects: ReconnectEvent[] = [];
      pusher.client.addEventListener("reconnect", (e) => void reconnects.push(e));
      scope.defer(() => pusher.stop());
      await waitFor(() => peer.subscriptions(0).length === 2, STEP, "subscribed");
      peer.freeze();
      const first = peer.peer.connections[0];
      await waitFor(
        () => first.received.some((m) => m.event === "pusher:ping"),
        STEP,
        "the client pings the silent server",
      );
      await waitFor(() => reconnects.length === 1, 2000, "IDLE_TIMEOUT within 400 ms + slack");
      const error = reconnects[0].info.error;
      assert.ok(error instanceof TimeoutError && error.code === "IDLE_TIMEOUT", String(error));
      assert.equal(reconnects[0].info.sent?.code, 1011);
      await waitFor(() => peer.subscriptions(1).length === 2, STEP, "resubscribed");
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("recipe: Pushbullet", () => {
  it(
    "a tickle (push) calls onTickle, the pushes are fetched; an ephemeral comes whole",
    guarded(async (scope) => {
      const peer = scope.use(await startPushbulletPeer());
      const fetched: string[] = [];
      const ephemerals: unknown[] = [];
      const stream = runPushbullet({
        url: peer.streamUrl,
        onTickle: async (subtype) => {
          if (subtype !== "push") return;
          for (const p of await fetchPushes(peer.token, 0, peer.apiBase)) fetched.push(p.iden);
        },
        onEphemeral: (p) => void ephemerals.push(p),
      });
      scope.defer(() => stream.stop());
      await withTimeout(stream.client.opened, STEP, "open");
      const push = peer.push({ title: "hi", body: "there" });
      peer.ephemeral({ type: "clip", body: "copied" });
      await waitFor(() => fetched.length === 1 && ephemerals.length === 1, STEP, "both");
      assert.deepEqual(fetched, [push.iden]);
      assert.deepEqual(ephemerals, [{ type: "clip", body: "copied" }]);
      assert.deepEqual(peer.syncs, [0]);
    }),
  );

  it(
    "nops more often than idleTimeout keep the stream up",
    guarded(async (scope) => {
      const peer = scope.use(await startPushbulletPeer({ nopInterval: 100 }));
      const stream = runPushbullet({
        url: peer.streamUrl,
        heartbeatInterval: 100,
        onTickle: () => {},
      });
      let nops = 0;
      stream.client.addEventListener("message", () => nops++);
      const reconnects: ReconnectEvent[] = [];
      stream.client.addEventListener("reconnect", (e) => void reconnects.push(e));
      scope.defer(() => stream.stop());
      await withTimeout(stream.client.opened, STEP, "open");
      await delay(800);
      assert.ok(nops >= 5, `nops: ${nops}`);
      assert.deepEqual(reconnects, [], "no idle timeout");
      assert.equal(peer.peer.connections.length, 1);
    }),
  );

  it(
    "a dead stream (no nop): IDLE_TIMEOUT, a reconnection, and a resync that finds the push made meanwhile",
    guarded(async (scope) => {
      const peer = scope.use(await startPushbulletPeer({ nopInterval: 100 }));
      const tickles: string[] = [];
      let fetched: string[] = [];
      const stream = runPushbullet({
        url: peer.streamUrl,
        heartbeatInterval: 100,
        onTickle: async (subtype) => {
          tickles.push(subtype);
          if (subtype === "push") {
            fetched = (await fetchPushes(peer.token, 0, peer.apiBase)).map((p) => p.iden);
          }
        },
      });
      const reconnects: ReconnectEvent[] = [];
      stream.client.addEventListener("reconnect", (e) => void reconnects.push(e));
      scope.defer(() => stream.stop());
      await withTimeout(stream.client.opened, STEP, "open");
      await delay(150); // a nop or two
      peer.freeze();
      const missed = peer.push({ title: "while the stream was dead" }); // its tickle is lost
      await waitFor(() => reconnects.length === 1, 2000, "IDLE_TIMEOUT within 150 ms + slack");
      const error = reconnects[0].info.error;
      assert.ok(error instanceof TimeoutError && error.code === "IDLE_TIMEOUT", String(error));
      await waitFor(() => fetched.includes(missed.iden), STEP, "the resync after the outage");
      assert.deepEqual(tickles, ["push", "device"], "only the resync, no tickle");
    }),
  );

  it(
    "a wrong access token: refused with 401, not retried",
    guarded(async (scope) => {
      const peer = scope.use(await startPushbulletPeer());
      const stream = runPushbullet({ url: peer.peer.url("/websocket/wrong"), onTickle: () => {} });
      scope.defer(() => stream.client.terminate());
      const info = await withTimeout(stream.client.closed, STEP, "closed");
      assert.ok(info.error instanceof HandshakeError, String(info.error));
      assert.equal(info.error.status, 401);
      assert.equal(peer.peer.connections.length, 0);
    }),
  );
});
