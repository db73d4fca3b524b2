/**
 * A local Pushbullet peer: the realtime event stream and the bit of the HTTP API a stream client
 * uses, following Pushbullet's documentation (docs.pushbullet.com, "Realtime Event Stream"),
 * since Pushbullet cannot be reached from the tests:
 *
 * - The stream is `/websocket/<access_token>`; a wrong token is refused with 401.
 * - The server sends `{"type": "nop"}` every 30 s (`nopInterval`): a heartbeat.
 * - A change to the user's pushes sends `{"type": "tickle", "subtype": "push"}` (devices:
 *   `"device"`); the client then asks `GET /v2/pushes?modified_after=<time>` (header
 *   `Access-Token`) for what changed. Ephemerals (mirrored notifications, clipboard) come whole:
 *   `{"type": "push", "push": {...}}`.
 * - {@linkcode PushbulletPeer.freeze} makes the open connections silent, nops included (a dead
 *   link behind open TCP); new connections are served.
 *
 * @module
 */

import { type Peer, startPeer } from "./peer.ts";

/** The access token the peer accepts. */
export const PUSHBULLET_TOKEN = "o.localtoken";

/** Options of {@linkcode startPushbulletPeer}. */
export interface PushbulletPeerOptions {
  /** Milliseconds between nops. Default 30,000 (as Pushbullet). */
  nopInterval?: number;
}

/** A push, as `/v2/pushes` lists it (the fields the recipe uses). */
export interface Push {
  iden: string;
  type: string;
  title?: string;
  body?: string;
  modified: number;
  [field: string]: unknown;
}

/** A running Pushbullet peer. */
export interface PushbulletPeer {
  readonly peer: Peer;
  /** `ws://.../websocket/<token>`. */
  readonly streamUrl: string;
  /** `http://...` (the API base: `/v2/...`). */
  readonly apiBase: string;
  readonly token: string;
  /** Stores a push and tickles every open stream. */
  push(fields: { type?: string; title?: string; body?: string }): Push;
  /** Sends an ephemeral to every open stream. */
  ephemeral(push: Record<string, unknown>): void;
  /** The open connections go silent. */
  freeze(): void;
  /** Requests made to `/v2/pushes`, as `modified_after` values. */
  readonly syncs: number[];
  close(): Promise<void>;
}

/** Starts the peer on a free port. */
export async function startPushbulletPeer(
  options: PushbulletPeerOptions = {},
): Promise<PushbulletPeer> {
  const nopInterval = options.nopInterval ?? 30_000;
  const pushes: Push[] = [];
  const syncs: number[] = [];
  let clock = 0; // seconds with fractions, as Pushbullet's `modified`
  let count = 0;

  const peer = await startPeer({
    upgrade(url) {
      return url.pathname === `/websocket/${PUSHBULLET_TOKEN}` ? undefined : 401;
    },
    connection(c) {
      const timer = setInterval(() => {
        if (c.open && !c.state.frozen) c.send({ type: "nop" });
      }, nopInterval);
      c.state.timer = timer;
    },
    closed(c) {
      clearInterval(c.state.timer as ReturnType<typeof setInterval>);
    },
    http(request) {
      if (request.url.pathname !== "/v2/pushes") return undefined;
      if (request.headers["access-token"] !== PUSHBULLET_TOKEN) {
        return { status: 401, json: { error: { code: "invalid_access_token" } } };
      }
      const after = Number(request.url.searchParams.get("modified_after") ?? 0);
      syncs.push(after);
      return { status: 200, json: { pushes: pushes.filter((p) => p.modified > after) } };
    },
  });
  const streams = () => peer.openConnections.filter((c) => !c.state.frozen);

  return {
    peer,
    streamUrl: peer.url(`/websocket/${PUSHBULLET_TOKEN}`),
    apiBase: peer.httpUrl(""),
    token: PUSHBULLET_TOKEN,
    push(fields) {
      clock = Math.max(clock + 0.001, Date.now() / 1000);
      const push: Push = { iden: `push-${++count}`, type: "note", ...fields, modified: clock };
      pushes.unshift(push); // newest first, as the API lists them
      for (const c of streams()) c.send({ type: "tickle", subtype: "push" });
      return push;
    },
    ephemeral(push) {
      for (const c of streams()) c.send({ type: "push", push });
    },
    freeze() {
      for (const c of peer.openConnections) c.state.frozen = true;
    },
    syncs,
    async close() {
      for (const c of peer.connections) clearInterval(c.state.timer as number);
      await peer.close();
    },
  };
}
