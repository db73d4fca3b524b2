/**
 * src/cli/args.ts: the options of `rom-ws`, their checks (a `UsageError`, exit status 2), and the
 * client options they make (`toClientOptions`), in process.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CliArgs, parseArgs, toClientOptions, USAGE, UsageError } from "../../src/cli/args.ts";

function parsed(argv: string[]): CliArgs {
  const args = parseArgs(argv);
  assert.equal(typeof args, "object", `${argv.join(" ")} parses to options`);
  return args as CliArgs;
}

const noFiles = (path: string): string => {
  throw new Error(`no file ${path} expected`);
};

describe("parseArgs", () => {
  it("defaults: rom format, 10 s timeout, compression on, no proxy setting, colours wanted", () => {
    const args = parsed(["ws://h/"]);
    assert.equal(args.url, "ws://h/");
    assert.equal(args.format, "rom");
    assert.equal(args.timeout, 10);
    assert.equal(args.wait, undefined);
    assert.equal(args.compression, true);
    assert.equal(args.proxy, undefined);
    assert.equal(args.color, true);
    assert.equal(args.listen, true);
    assert.deepEqual(args.execute, []);
  });

  it("every flag, short and long, and --name=value", () => {
    const args = parsed([
      "-x",
      "one",
      "--execute=/ping",
      "-w",
      "0.5",
      "-H",
      "A: 1",
      "--header=B:2",
      "-p",
      "chat",
      "--protocol",
      "mqtt",
      "--auth",
      "user:pa:ss",
      "--ca",
      "ca.pem",
      "--cert",
      "c.pem",
      "--key",
      "k.pem",
      "-k",
      "--proxy",
      "http://proxy:3128",
      "--no-compression",
      "--reconnect",
      "--show-ping-pong",
      "--regex",
      "^x",
      "--timeout=2.5",
      "--format",
      "pretty",
      "--no-listen",
      "--no-color",
      "wss://host/path",
    ]);
    assert.deepEqual(args, {
      url: "wss://host/path",
      execute: ["one", "/ping"],
      wait: 0.5,
      headers: [["A", "1"], ["B", "2"]],
      protocols: ["chat", "mqtt"],
      auth: "user:pa:ss",
      ca: "ca.pem",
      cert: "c.pem",
      key: "k.pem",
      insecure: true,
      proxy: "http://proxy:3128",
      compression: false,
      reconnect: true,
      showPingPong: true,
      regex: "^x",
      timeout: 2.5,
      format: "pretty",
      listen: false,
      color: false,
    });
  });

  it("--no-proxy is proxy: false; --help and --version win", () => {
    assert.equal(parsed(["--no-proxy"]).proxy, false);
    assert.throws(
      () => parseArgs(["--bogus", "--help"]),
      UsageError,
      "in order: the bad flag first",
    );
    assert.equal(parseArgs(["-h", "--bogus"]), "help");
    assert.equal(parseArgs(["-V"]), "version");
  });

  for (
    const [argv, message] of [
      [["--format", "xml"], /--format is rom, plain, json or pretty/],
      [["--timeout", "0"], /--timeout wants a number of seconds > 0/],
      [["--wait", "soon"], /--wait wants a number of seconds >= 0/],
      [["--wait", ""], /--wait wants/],
      [["-x"], /-x needs a value/],
      [["--auth", "nobody"], /--auth wants "user:password"/],
      [["--key", "k.pem"], /--cert and --key go together/],
      [["--no-proxy", "--proxy", "http://p"], /one of --proxy and --no-proxy/],
      [["--proxy", "http://a", "--proxy", "http://b"], /one of --proxy and --no-proxy/],
      [["--reconnect=1"], /--reconnect takes no value/],
      [["-z"], /unknown option -z/],
      [["ws://a/", "ws://b/"], /only one url/],
      [["-H", ":x"], /--header wants "Name: value"/],
    ] as Array<[string[], RegExp]>
  ) {
    it(`refuses ${argv.join(" ")}`, () => {
      assert.throws(() => parseArgs(argv), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match((e as Error).message, message);
        return true;
      });
    });
  }

  it("the usage text names every flag, the slash commands and the exit statuses", () => {
    for (
      const word of [
        "-x, --execute",
        "-w, --wait",
        "--auth",
        "--insecure",
        "--no-proxy",
        "--show-ping-pong",
        "pretty",
        "NO_COLOR",
        "/ping",
        "/close [code] [reason]",
        "/binary HEX",
        "/quit",
        "exit status",
        "  0 ",
        "  1 ",
        "  2 ",
      ]
    ) {
      assert.ok(USAGE.includes(word), `usage mentions ${word}`);
    }
  });
});

describe("toClientOptions", () => {
  it("--auth becomes a Basic Authorization header (UTF-8), after the -H headers", () => {
    const options = toClientOptions(parsed(["-H", "X: y", "--auth", "юзер:pass"]), noFiles);
    assert.deepEqual(options.headers, [
      ["X", "y"],
      [
        "Authorization",
        `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode("юзер:pass")))}`,
      ],
    ]);
  });

  it("timeout in ms, compression, reconnect, protocols", () => {
    const options = toClientOptions(
      parsed(["--timeout", "1.5", "--no-compression", "--reconnect", "-p", "a"]),
      noFiles,
    );
    assert.equal(options.openTimeout, 1500);
    assert.equal(options.compression, false);
    assert.equal(options.reconnect, true);
    assert.deepEqual(options.protocols, ["a"]);
    assert.equal(options.tls, undefined);
    assert.equal("proxy" in options, false, "no proxy option: the client's default");
  });

  it("--ca, --cert, --key are read as files; --insecure turns verification off", () => {
    const files: Record<string, string> = { "ca.pem": "CA", "c.pem": "CERT", "k.pem": "KEY" };
    const options = toClientOptions(
      parsed(["--ca", "ca.pem", "--cert", "c.pem", "--key", "k.pem", "--insecure"]),
      (path) => files[path],
    );
    assert.deepEqual(options.tls, {
      ca: "CA",
      cert: "CERT",
      key: "KEY",
      rejectUnauthorized: false,
    });
  });

  it("an unreadable file is a UsageError naming the flag and the file", () => {
    assert.throws(
      () => toClientOptions(parsed(["--ca", "missing.pem"]), noFiles),
      (e: unknown) =>
        e instanceof UsageError && /--ca file missing\.pem: no file missing\.pem/.test(e.message),
    );
  });

  it("--proxy passes the URL; --no-proxy passes proxy: false", () => {
    assert.equal(toClientOptions(parsed(["--proxy", "http://p:1"]), noFiles).proxy, "http://p:1");
    const none = toClientOptions(parsed(["--no-proxy"]), noFiles) as { proxy?: unknown };
    assert.equal(none.proxy, false);
  });
});
