/**
 * Tests of `src/core/mod.ts`: the core's public surface re-exports the modules' own bindings.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as core from "../../src/core/mod.ts";
import * as constants from "../../src/core/constants.ts";
import * as errors from "../../src/core/errors.ts";
import * as extensions from "../../src/core/extensions.ts";
import * as frame from "../../src/core/frame.ts";
import * as handshake from "../../src/core/handshake.ts";
import * as http11 from "../../src/core/http11.ts";
import * as inflate from "../../src/core/inflate.ts";
import * as mask from "../../src/core/mask.ts";
import * as pcre from "../../src/core/pcre.ts";
import * as deflate from "../../src/core/permessage_deflate.ts";
import * as protocol from "../../src/core/protocol.ts";
import * as rom from "../../src/core/rom_contract.ts";
import * as sha1 from "../../src/core/sha1.ts";
import * as utf8 from "../../src/core/utf8.ts";

describe("core/mod.ts", () => {
  it("re-exports every runtime export of constants, errors and rom_contract (export *)", () => {
    for (const module of [constants, errors, rom]) {
      for (const [name, value] of Object.entries(module)) {
        assert.equal((core as Record<string, unknown>)[name], value, name);
      }
    }
  });

  it("re-exports the entry points of the other modules, as the same bindings", () => {
    const expected: Record<string, unknown> = {
      parseExtensions: extensions.parseExtensions,
      encodeClosePayload: frame.encodeClosePayload,
      encodeFrame: frame.encodeFrame,
      encodeTextFrame: frame.encodeTextFrame,
      maskedHeaderSize: frame.maskedHeaderSize,
      parseClosePayload: frame.parseClosePayload,
      acceptFor: handshake.acceptFor,
      buildRequest: handshake.buildRequest,
      checkResponse: handshake.checkResponse,
      generateKey: handshake.generateKey,
      validateHeader: handshake.validateHeader,
      validateProtocols: handshake.validateProtocols,
      HttpResponseParser: http11.HttpResponseParser,
      isToken: http11.isToken,
      applyMask: mask.applyMask,
      MaskKeyPool: mask.MaskKeyPool,
      webCryptoRandom: mask.webCryptoRandom,
      ClientProtocol: protocol.ClientProtocol,
      ReadyState: protocol.ReadyState,
      validateCloseArguments: protocol.validateCloseArguments,
      base64: sha1.base64,
      sha1: sha1.sha1,
      InflateError: inflate.InflateError,
      Inflater: inflate.Inflater,
      normalizeDeflateOptions: deflate.normalizeDeflateOptions,
      PerMessageDeflate: deflate.PerMessageDeflate,
      PerMessageDeflateFactory: deflate.PerMessageDeflateFactory,
      compilePcre: pcre.compilePcre,
      PcreError: pcre.PcreError,
      translatePcre: pcre.translatePcre,
      isValidUtf8: utf8.isValidUtf8,
      Utf8Validator: utf8.Utf8Validator,
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.ok(value !== undefined, `${name} exists in its module`);
      assert.equal((core as Record<string, unknown>)[name], value, name);
    }
  });

  it("exports nothing undefined", () => {
    for (const [name, value] of Object.entries(core)) assert.notEqual(value, undefined, name);
  });
});
