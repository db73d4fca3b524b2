/**
 * Every proxy kind, against real proxies from Debian started by the test: tinyproxy and squid
 * (HTTP CONNECT, with and without a login; squid also as an `https://` proxy), microsocks (SOCKS5,
 * with and without a login) and dante (SOCKS5, SOCKS4 and SOCKS4a without a login; its username method
 * needs system accounts, so the SOCKS login case is microsocks'). For each: a `ws://` and a
 * `wss://` target echo through it; then the refusals each one gives, with the credentials of the
 * proxy URL nowhere but at the proxy.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { type ClientOptions, connect, NetworkError } from "../../mod.ts";
import { guarded, type Scope } from "../_util/async.ts";
import { nextMessage, open, rejectsWith } from "../_util/client.ts";
import {
  missingProxies,
  type RunningProxy,
  startDante,
  startMicrosocks,
  startSquid,
} from "../_util/proxies.ts";
import { closedPort, ipv6Available, startEchoServer } from "../_util/servers.ts";
import { startTinyproxy, tinyproxyPath } from "../_util/tinyproxy.ts";
import { makeCertificates, NAMED_HOST, startTlsEchoServer } from "../_util/tls.ts";

const missing = [
  ...missingProxies("squid", "microsocks", "danted"),
  ...(tinyproxyPath() ? [] : ["tinyproxy"]),
];
// Locally a missing proxy is reported as a skip; in CI (which installs them) it is a failure.
const skip = missing.length === 0 || process.env.CI
  ? false
  : `not installed: ${missing.join(", ")} (see .ci/run)`;

const LOGIN = { user: "rom", password: "pa:ss@wörd" };
const SECRET = /pa:ss|wörd|w%C3%B6rd|pa%3Ass/;
const userinfo = `${LOGIN.user}:${encodeURIComponent(LOGIN.password)}@`;

interface Via {
  /** Shown in the test names. */
  label: string;
  /** Starts the proxy. */
  start(): Promise<RunningProxy>;
  /** The proxy URL, credentials included. */
  url(proxy: RunningProxy): string;
  /** Whether it wants the login. */
  login: boolean;
  /** The proxy URL's scheme, for the refusals below. */
  protocol: "http" | "https" | "socks";
}

const tinyAuth = () => startTinyproxy({ user: LOGIN.user, password: "plain-secret" });
const kinds: Via[] = [
  {
    label: "tinyproxy",
    start: () => startTinyproxy(),
    url: (p) => p.url,
    login: false,
    protocol: "http",
  },
  {
    label: "tinyproxy with login",
    start: tinyAuth,
    url: (p) => `http://${LOGIN.user}:plain-secret@127.0.0.1:${p.port}`,
    login: true,
    protocol: "http",
  },
  { label: "squid", start: () => startSquid(), url: (p) => p.url, login: false, protocol: "http" },
  {
    label: "squid with login",
    start: () => startSquid({ auth: LOGIN }),
    url: (p) => `http://${userinfo}127.0.0.1:${p.port}`,
    login: true,
    protocol: "http",
  },
  {
    label: "squid as an https:// proxy with login",
    start: () => startSquid({ auth: LOGIN, tls: makeCertificates() }),
    url: (p) => `https://${userinfo}127.0.0.1:${p.tlsPort}`,
    login: true,
    protocol: "https",
  },
  {
    label: "microsocks (socks5h)",
    start: () => startMicrosocks(),
    url: (p) => `socks5h://127.0.0.1:${p.port}`,
    login: false,
    protocol: "socks",
  },
  {
    label: "microsocks with login (socks5)",
    start: () => startMicrosocks(LOGIN),
    url: (p) => `socks5://${userinfo}127.0.0.1:${p.port}`,
    login: true,
    protocol: "socks",
  },
  {
    label: "dante (socks5)",
    start: () => startDante(),
    url: (p) => `socks5://127.0.0.1:${p.port}`,
    login: false,
    protocol: "socks",
  },
  {
    label: "dante (socks5h)",
    start: () => startDante(),
    url: (p) => `socks5h://127.0.0.1:${p.port}`,
    login: false,
    protocol: "socks",
  },
  {
    label: "dante (socks4)",
    start: () => startDante(),
    url: (p) => `socks4://127.0.0.1:${p.port}`,
    login: false,
    protocol: "socks",
  },
  {
    label: "dante (socks4a)",
    start: () => startDante(),
    url: (p) => `socks4a://127.0.0.1:${p.port}`,
    login: false,
    protocol: "socks",
  },
];

/** Echoes a text and a binary message through `client`, then closes cleanly. */
async function echo(client: Awaited<ReturnType<typeof connect>>, label: string): Promise<void> {
  const messages = client[Symbol.asyncIterator]();
  await client.send(`${label}: Привет`);
  assert.equal(await nextMessage(messages, `${label}: text`), `${label}: Привет`);
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
  await client.send(bytes);
  assert.deepEqual(await nextMessage(messages, `${label}: binary`), bytes);
  assert.equal((await client.close()).wasClean, true);
}

/** No trace of the proxy password in `error` however it is shown. */
function assertNoSecret(value: unknown, label: string): void {
  for (
    const shown of [
      String(value),
      JSON.stringify(value),
      inspect(value, { showHidden: true, depth: 6 }),
    ]
  ) {
    assert.doesNotMatch(shown, SECRET, `${label}: ${shown}`);
  }
}

for (const via of kinds) {
  describe(`through ${via.label}`, { skip }, () => {
    let proxy: RunningProxy;
    const certs = makeCertificates();
    before(async () => {
      proxy = await via.start();
    });
    after(async () => {
      await proxy?.stop();
    });
    const options = (extra: ClientOptions = {}): ClientOptions => ({
      proxy: { url: via.url(proxy), tls: { ca: certs.ca } },
      ...extra,
    });

    it(
      "ws:// echoes; the target sees no proxy credentials",
      guarded(async (scope: Scope) => {
        const server = scope.use(await startEchoServer("ws"));
        const client = await open(scope, server.url("/plain?via=proxy"), options());
        await echo(client, via.label);
        const seen = await server.connection(0);
        assert.equal(seen.path, "/plain?via=proxy");
        assert.equal(seen.headers["proxy-authorization"], undefined);
      }),
    );

    it(
      "wss:// echoes with TLS inside the tunnel, checked against the target",
      guarded(async (scope: Scope) => {
        const server = scope.use(await startTlsEchoServer("ws", certs));
        const client = await open(scope, server.url("/secure"), options({ tls: { ca: certs.ca } }));
        await echo(client, via.label);
        assert.equal((await server.connection(0)).path, "/secure");
        // A certificate for another name: refused inside the tunnel, accepted with its serverName.
        const named = scope.use(
          await startEchoServer("ws", { tls: { cert: certs.namedCert, key: certs.namedKey } }),
        );
        await rejectsWith(
          connect(named.url("/"), options({ tls: { ca: certs.ca } })),
          NetworkError,
          "TLS_ERROR",
          "certificate for another name",
        );
        const ok = await open(
          scope,
          named.url("/named"),
          options({ tls: { ca: certs.ca, serverName: NAMED_HOST } }),
        );
        assert.equal((await ok.close()).wasClean, true);
      }),
    );

    it(
      "a target the proxy cannot reach is PROXY_ERROR with the proxy's reason",
      guarded(async () => {
        const port = await closedPort();
        const error = await rejectsWith(
          connect(`ws://127.0.0.1:${port}/`, options()),
          NetworkError,
          "PROXY_ERROR",
          "closed port behind the proxy",
        );
        assert.match(
          error.message,
          via.protocol === "socks" ? /refused|unreachable|failure|rejected/ : /HTTP 5\d\d/,
        );
        assertNoSecret(error, "unreachable");
      }),
    );

    if (via.login) {
      it(
        "without the login, or with a wrong one, PROXY_ERROR says why, and shows no password",
        guarded(async (scope: Scope) => {
          const server = scope.use(await startEchoServer("ws"));
          const url = new URL(via.url(proxy));
          const wrong = new URL(url);
          wrong.password = "wrong-pa:ss";
          url.username = "";
          url.password = "";
          for (const [label, proxyUrl] of [["no login", url], ["wrong login", wrong]] as const) {
            const error = await rejectsWith(
              connect(server.url("/"), { proxy: { url: proxyUrl, tls: { ca: certs.ca } } }),
              NetworkError,
              "PROXY_ERROR",
              label,
            );
            assert.match(
              error.message,
              via.protocol === "socks"
                ? label === "no login" ? /requires authentication/ : /authentication failed/
                : label === "wrong login" && via.label.startsWith("tinyproxy")
                ? /HTTP 401/ // tinyproxy answers a wrong login with 401, a missing one with 407
                : /HTTP 407/,
              `${label}: ${error.message}`,
            );
            assertNoSecret(error, label);
            assert.doesNotMatch(error.message, /wrong-pa/);
          }
          // A client holding the right login shows it nowhere either.
          const client = await open(scope, server.url("/"), options());
          assertNoSecret(client, "client");
          assert.equal(
            server.connections.length,
            1,
            "only the logged-in attempt reached the server",
          );
        }),
      );
    }
  });
}

describe("the TLS connection to an https:// proxy", { skip }, () => {
  it(
    "is verified: without the proxy's CA it fails with TLS_ERROR, and the tunnel never opens",
    guarded(async (scope: Scope) => {
      const certs = makeCertificates();
      const squid = await startSquid({ tls: certs });
      scope.defer(() => squid.stop());
      const server = scope.use(await startEchoServer("ws"));
      await rejectsWith(
        connect(server.url("/"), { proxy: `https://127.0.0.1:${squid.tlsPort}` }),
        NetworkError,
        "TLS_ERROR",
        "https:// proxy with an unknown CA",
      );
      assert.equal(server.connections.length, 0);
      // `tls` is the target's; the proxy's CA goes in `proxy.tls`.
      await rejectsWith(
        connect(server.url("/"), {
          proxy: `https://127.0.0.1:${squid.tlsPort}`,
          tls: { ca: certs.ca },
        }),
        NetworkError,
        "TLS_ERROR",
        "the target's tls does not apply to the proxy",
      );
      const client = await open(scope, server.url("/"), {
        proxy: { url: `https://127.0.0.1:${squid.tlsPort}`, tls: { ca: certs.ca } },
      });
      assert.equal((await client.close()).wasClean, true);
    }, 10_000),
  );
});

describe(
  "an IPv6 target",
  { skip: skip || (await ipv6Available() ? false : "no IPv6 loopback") },
  () => {
    it(
      "goes through CONNECT as [::1]:port and through SOCKS5 as an IPv6 address (type 4)",
      guarded(async (scope: Scope) => {
        const server = scope.use(await startEchoServer("ws", { hostname: "::1" }));
        const tiny = await startTinyproxy();
        scope.defer(() => tiny.stop());
        const socks = await startMicrosocks();
        scope.defer(() => socks.stop());
        for (const proxy of [tiny.url, socks.url, socks.url.replace("socks5h:", "socks5:")]) {
          const client = await open(scope, server.url("/v6"), { proxy });
          await echo(client, proxy);
        }
        assert.match(tiny.log(), /CONNECT.*\[::1\]/);
        assert.equal(server.connections.length, 3);
      }, 10_000),
    );
  },
);
