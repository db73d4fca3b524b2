/**
 * src/cli/format.ts: the lines `rom-ws` prints for each event in each `--format` (the ROM strings
 * exactly for rom and json), hex in and out, JSON indentation, and when colours are used.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Formatter, hex, indentJson, palette, parseHex } from "../../src/cli/format.ts";

const none = palette(false, false, undefined);
const colours = palette(true, true, undefined);
const ESC = "\x1b[";

describe("Formatter", () => {
  const details = { url: "ws://h/", protocol: "chat", extensions: "permessage-deflate" };

  it("rom: the ROM-WebSocket lines on stdout; binary as base64; pings as extension events", () => {
    const f = new Formatter("rom", colours, colours);
    assert.deepEqual(f.open(details), {
      stream: "out",
      text: 'ROM-WebSocket {"Event": "Connection","State": "Open"} {"Connection": "Open"}',
    });
    assert.deepEqual(f.message("Привет"), {
      stream: "out",
      text: 'ROM-WebSocket {"Event": "Message"} Привет',
    });
    assert.deepEqual(f.message(new Uint8Array([1, 2, 255])), {
      stream: "out",
      text: 'ROM-WebSocket {"Event": "Message","Type": "Binary"} AQL/',
    });
    assert.equal(
      f.closed(true, 1000, "", "").text,
      'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Normal"} {"Connection": "Close"}',
    );
    assert.equal(
      f.closed(false, 1006, "", "reset").text,
      'ROM-WebSocket {"Event": "Connection","State": "Close","Reason": "Drop"} {"Connection": "Close"}',
    );
    assert.equal(
      f.fail("refused").text,
      'ROM-WebSocket {"Event": "Connection","State": "Fail"} {"Connection": "Fail"}',
    );
    assert.deepEqual(f.control("pong", new Uint8Array([0x70, 0, 0, 0, 1])), {
      stream: "out",
      text: 'ROM-WebSocket {"Event": "Pong"} 70 00 00 00 01',
    });
    assert.ok(!f.message("x").text.includes(ESC), "never coloured");
  });

  it("json: one object per event, the ROM event string parsed", () => {
    const f = new Formatter("json", colours, colours);
    assert.deepEqual(JSON.parse(f.message(new Uint8Array([1])).text), {
      source: "ROM-WebSocket",
      event: { Event: "Message", Type: "Binary" },
      data: "AQ==",
    });
    assert.deepEqual(JSON.parse(f.control("ping", new Uint8Array(0)).text), {
      source: "ROM-WebSocket",
      event: { Event: "Ping" },
      data: "",
    });
  });

  it("plain: message texts (binary as hex) on stdout, the rest on stderr", () => {
    const f = new Formatter("plain", none, none);
    assert.deepEqual(f.message("text"), { stream: "out", text: "text" });
    assert.deepEqual(f.message(new Uint8Array([0xab, 0x01])), { stream: "out", text: "ab 01" });
    assert.deepEqual(f.open(details), {
      stream: "err",
      text: '{"Event": "Connection","State": "Open"}',
    });
    assert.equal(f.control("ping", new Uint8Array([1])).stream, "err");
  });

  it("pretty: JSON messages indented, events in words, colours only where given", () => {
    const plain = new Formatter("pretty", none, none);
    assert.equal(plain.message('{"a":[1,2]}').text, '< {\n  "a": [\n    1,\n    2\n  ]\n}');
    assert.equal(plain.message("not {json").text, "< not {json");
    assert.equal(plain.message(new Uint8Array([1, 2])).text, "< [binary, 2 bytes] 01 02");
    assert.deepEqual(plain.open(details), {
      stream: "err",
      text: "connected to ws://h/ (subprotocol chat, permessage-deflate)",
    });
    assert.equal(plain.closed(true, 4000, "bye", "").text, 'closed (4000 "bye")');
    assert.equal(
      plain.closed(false, 1006, "", "the server closed the TCP connection").text,
      "closed by the server or the network (1006): the server closed the TCP connection",
    );
    const coloured = new Formatter("pretty", colours, none);
    assert.ok(coloured.message("x").text.startsWith(`${ESC}36m< `), "stdout coloured");
    assert.ok(!coloured.open(details).text.includes(ESC), "stderr not coloured");
  });
});

describe("palette", () => {
  it("colours only when wanted, on a terminal, and without a non-empty NO_COLOR", () => {
    assert.equal(palette(true, true, undefined).green("x"), `${ESC}32mx${ESC}0m`);
    assert.equal(palette(true, true, "").green("x"), `${ESC}32mx${ESC}0m`);
    assert.equal(palette(true, true, "1").green("x"), "x");
    assert.equal(palette(true, false, undefined).green("x"), "x");
    assert.equal(palette(false, true, undefined).green("x"), "x");
  });
});

describe("hex", () => {
  it("prints pairs and parses the common spellings", () => {
    assert.equal(hex(new Uint8Array([0, 15, 255])), "00 0f ff");
    for (const text of ["00 0f ff", "000fff", "0x00,0x0F,0xff", "00:0f:FF"]) {
      assert.deepEqual(parseHex(text), new Uint8Array([0, 15, 255]), text);
    }
    for (const text of ["0", "zz", "0g", "1 2 3"]) assert.equal(parseHex(text), undefined, text);
  });

  it("indentJson leaves other text alone", () => {
    assert.equal(indentJson("[1]"), "[\n  1\n]");
    assert.equal(indentJson("[1"), "[1");
    assert.equal(indentJson("42"), "42");
  });
});
