/**
 * RomWebSocket against a REAL Asterisk 16 (ARI), started by this file (tests/_util/asterisk.ts):
 * the connection to /ari/events?app=... carries the credentials in an Authorization header (never
 * in the URL); channels originated through ARI's REST API into Stasis(app) produce exactly the
 * expected StasisStart events through a Regex filter; Disconnect gives Close Normal; a wrong
 * password gives Fail; stopping Asterisk gives Close Drop.
 *
 * Without Asterisk the tests are skipped with a visible reason; with the environment variable CI
 * set, a missing Asterisk fails instead.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { guarded, waitFor, withTimeout } from "../_util/async.ts";
import {
  type Asterisk,
  asteriskAvailable,
  type OriginatedChannel,
  startAsterisk,
} from "../_util/asterisk.ts";
import {
  assertRaised,
  CLOSE_DROP,
  CLOSE_NORMAL,
  FAIL,
  MESSAGE,
  newRom,
  OPEN,
  type Recorder,
} from "../_util/rom.ts";
import { commandFor, start } from "../_util/subprocess.ts";

const APP = "rom-ari-test";
const CHANNELS = 3;
/** Safety nets: ARI events follow an originate within milliseconds; this is generous. */
const WAIT = 10_000;
const DEADLINE = 25_000;
const OPTIONS = { timeout: 30_000 } as const;

function ciRequiresAsterisk(): boolean {
  let ci: string | undefined;
  try {
    ci = process.env.CI;
  } catch {
    ci = undefined; // no env permission
  }
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

const binary = asteriskAvailable();
const missing = binary === undefined;
const skip: string | false = missing && !ciRequiresAsterisk() ? "Asterisk not installed" : false;
/** A visible reason in every runner's listing (Deno prints no skip reason of its own). */
const suffix = skip ? ` (skipped: ${skip})` : "";

/** The parsed JSON of every Message event. */
function ariEvents(rec: Recorder): Array<Record<string, unknown>> {
  return rec.messages.map((text) => JSON.parse(text) as Record<string, unknown>);
}

function channelId(event: Record<string, unknown>): string | undefined {
  return (event.channel as { id?: string } | undefined)?.id;
}

describe("RomWebSocket against a real Asterisk (ARI)", () => {
  let asterisk: Asterisk | undefined;

  before(async () => {
    if (missing) return;
    asterisk = await startAsterisk({ app: APP, startTimeout: 25_000 });
  }, { timeout: 40_000 });

  after(async () => {
    await asterisk?.stop();
  }, { timeout: 15_000 });

  /** The running Asterisk, or a failure explaining why there is none. */
  function ari(): Asterisk {
    if (missing) {
      assert.fail("Asterisk is not installed, and CI is set: the ARI tests must run in CI");
    }
    assert.ok(asterisk, "Asterisk did not start (see the before hook's error)");
    return asterisk;
  }

  it(
    `StasisStart events through a Regex: exactly one per originated channel${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      assert.ok(!ast.eventsUrl.includes("@"), "no credentials in the URL");
      const { rom, rec } = newRom(scope);
      rom.Regex = '"type":"StasisStart"';
      assert.equal(rom.SetHeader("Authorization", ast.authorization), true);
      rom.Timeout = 5;
      assert.equal(await rom.Connect(ast.eventsUrl), true, `Connect: ${rom.LastError}`);
      assert.equal(rom.client!.url, ast.eventsUrl);
      assertRaised(rec.list[0], OPEN, "Open");
      // Everything Asterisk sends on this connection, before the Regex (a listener on the
      // underlying client): tells when the other events have passed, and that there were some.
      // (A second WebSocket for the same app would replace this one in Asterisk 16.)
      const raw: Array<Record<string, unknown>> = [];
      rom.client!.addEventListener("message", (event) => {
        if (typeof event.data === "string") raw.push(JSON.parse(event.data));
      });

      const channels: OriginatedChannel[] = [];
      for (let i = 0; i < CHANNELS; i++) channels.push(await ast.originate());
      const ids = channels.map((c) => c.id).sort();
      assert.equal(new Set(ids).size, CHANNELS, "distinct channel ids");

      await waitFor(() => rec.messages.length >= CHANNELS, WAIT, `${CHANNELS} StasisStart`);
      for (const channel of channels) await ast.hangup(channel.id);
      await waitFor(
        () => raw.filter((e) => e.type === "StasisEnd").length >= CHANNELS,
        WAIT,
        "StasisEnd of every channel (unfiltered)",
      );

      const seen = ariEvents(rec);
      assert.equal(seen.length, CHANNELS, `exactly ${CHANNELS}: ${rec.messages.join("\n")}`);
      for (const event of seen) {
        assert.equal(event.type, "StasisStart");
        assert.equal(event.application, APP);
      }
      assert.deepEqual(seen.map(channelId).sort(), ids, "the originated channels");
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE, MESSAGE, MESSAGE]);
      // The filter did remove something: Asterisk sent other event types on this connection.
      const types = new Set(raw.map((e) => e.type));
      assert.ok(types.has("StasisEnd") && types.size > 2, `unfiltered types: ${[...types]}`);
      assert.deepEqual(
        raw.filter((e) => e.type === "StasisStart").map(channelId).sort(),
        ids,
        "no StasisStart was filtered out",
      );

      assert.equal(await withTimeout(rom.Disconnect(), WAIT, "Disconnect"), true);
      assertRaised(await rec.wait(CLOSE_NORMAL.event), CLOSE_NORMAL, "Close Normal");
      assert.equal(rom.Connected, false);
    }, DEADLINE),
  );

  it(
    `a wrong password: Connect (Timeout 5) is false and Fail is raised${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      const { rom, rec } = newRom(scope);
      rom.SetHeader("Authorization", `Basic ${btoa(`${ast.user}:wrong-${ast.password}`)}`);
      rom.Timeout = 5;
      assert.equal(await withTimeout(rom.Connect(ast.eventsUrl), WAIT, "Connect"), false);
      assertRaised(await rec.wait(FAIL.event), FAIL, "Fail");
      assert.deepEqual(rec.events, [FAIL.event]);
      assert.match(rom.LastError, /401/);

      // No header at all: refused the same way.
      const bare = newRom(scope);
      bare.rom.Timeout = 5;
      assert.equal(await bare.rom.Connect(ast.eventsUrl), false);
      await bare.rec.wait(FAIL.event);
    }, DEADLINE),
  );

  it(
    `examples/ari.ts prints StasisStart and StasisEnd lines and stops on SIGINT${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      const [command, args] = commandFor("examples/ari.ts", "ari-example/ari.mjs");
      const child = start(command, args, {
        timeout: 20_000,
        onStdout: () => {},
        env: {
          ARI_URL: `ws://127.0.0.1:${ast.port}`,
          ARI_APP: APP,
          ARI_USER: ast.user,
          ARI_PASSWORD: ast.password,
        },
      });
      scope.defer(() => child.kill("SIGKILL"));
      const count = (type: string) =>
        (child.stdout().match(new RegExp(` ${type} `, "g")) ?? []).length;
      const output = () => `stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`;
      await waitFor(() => child.stderr().includes("connected to"), WAIT, `connected; ${output()}`);
      const channel = await ast.originate({ appArgs: "one,two" });
      await waitFor(() => count("StasisStart") === 1, WAIT, `StasisStart; ${output()}`);
      await ast.hangup(channel.id);
      await waitFor(() => count("StasisEnd") === 1, WAIT, `StasisEnd; ${output()}`);
      child.kill("SIGINT");
      const r = await child.result;
      assert.equal(r.code, 0, `exit status after SIGINT; ${output()}`);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 2, output());
      assert.match(
        lines[0],
        new RegExp(` StasisStart channel=${channel.id} .* args=\\["one","two"\\]$`),
      );
      assert.match(lines[1], new RegExp(` StasisEnd channel=${channel.id} `));
      assert.match(r.stderr, /SIGINT: stopping/);
      assert.match(r.stderr, /disconnected/);
      assert.ok(!r.stderr.includes(ast.password), "the password is never printed");
    }, DEADLINE),
  );

  it(
    `stopping Asterisk: a connected RomWebSocket raises Close Drop${suffix}`,
    { ...OPTIONS, skip },
    guarded(async (scope) => {
      const ast = ari();
      const { rom, rec } = newRom(scope);
      rom.Regex = '"type":"StasisStart"';
      rom.SetHeader("Authorization", ast.authorization);
      rom.Timeout = 5;
      assert.equal(await rom.Connect(ast.eventsUrl), true, `Connect: ${rom.LastError}`);
      // Still a working subscription: one more StasisStart comes through.
      const channel = await ast.originate();
      await rec.wait(MESSAGE, 1, WAIT);
      assert.equal(channelId(ariEvents(rec)[0]), channel.id);

      await withTimeout(ast.stop(), WAIT, "Asterisk stopped");
      assertRaised(await rec.wait(CLOSE_DROP.event, 1, WAIT), CLOSE_DROP, "Close Drop");
      assert.deepEqual(rec.events, [OPEN.event, MESSAGE, CLOSE_DROP.event]);
      assert.equal(rom.Connected, false);
      assert.equal(await rom.Send("anyone?"), false);
    }, DEADLINE),
  );
});
