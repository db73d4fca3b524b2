/**
 * A local Pusher Channels peer, following the documented Pusher protocol version 7
 * (pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol), since Pusher
 * cannot be reached from the tests:
 *
 * - The client connects to `/app/<key>?protocol=7&client=js&version=...`. A wrong key is answered
 *   with a `pusher:error` (code 4001) and close code 4001; a missing or unsupported `protocol`
 *   with 4008 / 4007.
 * - On connect: `{"event": "pusher:connection_established", "data": "{\"socket_id\": ...,
 *   \"activity_timeout\": 120}"}` (`data` is a JSON string inside the JSON).
 * - `{"event": "pusher:subscribe", "data": {"channel": "..."}}` is answered with
 *   `pusher_internal:subscription_succeeded`; events are sent to subscribers as
 *   `{"event", "channel", "data": "<JSON string>"}`.
 * - `pusher:ping` is answered with `pusher:pong`, both ways ({@linkcode PusherPeer.ping}).
 * - {@linkcode PusherPeer.kick} ends connections the way Pusher does: a `pusher:error` with the
 *   code, then close with it (4000–4099: do not reconnect; 4100–4199: reconnect after a while;
 *   4200–4299: reconnect at once).
 * - {@linkcode PusherPeer.freeze} makes the open connections silent (a dead backend behind open
 *   TCP); new connections are served.
 *
 * @module
 */

import { type Peer, type PeerConnection, startPeer } from "./peer.ts";

/** The app key the peer serves. */
export const PUSHER_KEY = "local-key";

/** Options of {@linkcode startPusherPeer}. */
export interface PusherPeerOptions {
  key?: string;
  /** Seconds, as the server announces it. Default 120. */
  activityTimeout?: number;
}

/** A running Pusher peer. */
export interface PusherPeer {
  readonly peer: Peer;
  /** The URL a client connects to (`ws://.../app/<key>?protocol=7&...`). */
  readonly url: string;
  /** Channels each connection (by index) subscribed to, in order ([] before it exists). */
  subscriptions(index: number): string[];
  /** Sends `event` with `data` to every subscriber of `channel`; returns how many got it. */
  trigger(channel: string, event: string, data: unknown): number;
  /** Sends `pusher:ping` to every open connection. */
  ping(): void;
  /** `pusher:error` then close with `code`, for every open connection. */
  kick(code: number, message?: string): void;
  /** The open connections stop answering and sending anything (new ones are served). */
  freeze(): void;
  close(): Promise<void>;
}

/** Starts the peer on a free port. */
export async function startPusherPeer(options: PusherPeerOptions = {}): Promise<PusherPeer> {
  const key = options.key ?? PUSHER_KEY;
  const activityTimeout = options.activityTimeout ?? 120;
  let sockets = 0;
  const channels = (c: PeerConnection) => (c.state.channels ??= []) as string[];
  const refuse = (c: PeerConnection, code: number, message: string) => {
    c.send({ event: "pusher:error", data: { code, message } });
    c.close(code, message);
  };

  const peer = await startPeer({
    connection(c) {
      const match = /^\/app\/([^/]+)$/.exec(c.url.pathname);
      const protocol = c.url.searchParams.get("protocol");
      if (!match) return refuse(c, 4005, "Path not found");
      if (match[1] !== key) return refuse(c, 4001, `App key ${match[1]} not in this cluster`);
      if (protocol === null) return refuse(c, 4008, "No protocol version supplied");
      if (protocol !== "7") return refuse(c, 4007, "Unsupported protocol version");
      c.state.socketId = `${1000 + ++sockets}.${Math.floor(Math.random() * 1e6)}`;
      c.send({
        event: "pusher:connection_established",
        data: JSON.stringify({ socket_id: c.state.socketId, activity_timeout: activityTimeout }),
      });
    },
    message(c, message) {
      if (c.state.frozen) return;
      const data = (message.data ?? {}) as Record<string, unknown>;
      switch (message.event) {
        case "pusher:ping":
          return c.send({ event: "pusher:pong", data: {} });
        case "pusher:subscribe": {
          const channel = String(data.channel);
          if (!channels(c).includes(channel)) channels(c).push(channel);
          return c.send({
            event: "pusher_internal:subscription_succeeded",
            channel,
            data: "{}",
          });
        }
        case "pusher:unsubscribe":
          c.state.channels = channels(c).filter((ch) => ch !== data.channel);
      }
    },
  });

  return {
    peer,
    url: peer.url(`/app/${key}?protocol=7&client=js&version=8.4.0&flash=false`),
    subscriptions: (index) =>
      index < peer.connections.length ? [...channels(peer.connections[index])] : [],
    trigger(channel, event, data) {
      let sent = 0;
      for (const c of peer.openConnections) {
        if (c.state.frozen || !channels(c).includes(channel)) continue;
        c.send({ event, channel, data: JSON.stringify(data) });
        sent++;
      }
      return sent;
    },
    ping() {
      for (const c of peer.openConnections) {
        if (!c.state.frozen) c.send({ event: "pusher:ping", data: {} });
      }
    },
    kick(code, message = "closed by the peer") {
      for (const c of peer.openConnections) refuse(c, code, message);
    },
    freeze() {
      for (const c of peer.openConnections) c.state.frozen = true;
    },
    close: () => peer.close(),
  };
}
