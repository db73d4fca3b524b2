/**
 * The browser build bundles for a browser with nothing of a server runtime in it: esbuild
 * (`--platform=browser`, minified) bundles src/browser/mod.ts; the bundle names no `node:` module
 * and no runtime global (`Deno`, `Bun`, `process`, `Buffer`, `require`, ...), and pulls in none of
 * the server client's modules (connection, transport, adapters). Its size, minified and gzipped,
 * is the one the README's "Browser" section gives (within 10 %).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

async function bundle(): Promise<{ code: string; inputs: string[] }> {
  const result = await esbuild.build({
    entryPoints: ["src/browser/mod.ts"],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "warning",
  });
  // The modules that put code into the bundle (others may be parsed and then tree-shaken away).
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output.inputs).filter(([, i]) => i.bytesInOutput > 0)
    .map(([path]) => path).sort();
  return { code: result.outputFiles[0].text, inputs };
}

describe("the browser bundle", () => {
  it("imports no node: module and names no runtime global", async () => {
    const { code } = await bundle();
    assert.doesNotMatch(code, /["'`]node:/, "a node: specifier");
    for (const name of ["Deno", "Bun", "process", "Buffer", "require", "__dirname", "global"]) {
      const found = new RegExp(`(?<![\\w$.])${name}(?![\\w$])`).exec(code);
      assert.equal(
        found,
        null,
        `${name} at ${found?.index}: ${
          code.slice((found?.index ?? 0) - 60, (found?.index ?? 0) + 60)
        }`,
      );
    }
    assert.match(code, /globalThis/, "the browser's WebSocket is looked up on globalThis");
  });

  it("has no code of the server client's modules", async () => {
    const { inputs } = await bundle();
    const server = inputs.filter((f) =>
      (f.startsWith("src/adapters/") && f !== "src/adapters/socket.ts") ||
      f.startsWith("src/cli/") ||
      /^src\/client\/(client|connection|transport|keepalive|pings|send_queue|zlib_deflater)\.ts$/
        .test(f) ||
      /^src\/core\/(inflate|permessage_deflate|message|frame|frame_reader|sha1|mask)\.ts$/.test(f)
    );
    assert.deepEqual(server, [], `inputs: ${inputs.join(", ")}`);
    for (const shared of ["src/client/reconnect.ts", "src/client/inbox.ts", "src/rom/pcre.ts"]) {
      assert.ok(inputs.includes(shared), `shares ${shared}`);
    }
  });

  it("has the size the README gives (minified and gzipped, within 10 %)", async () => {
    const { code } = await bundle();
    const minified = new TextEncoder().encode(code).length / 1024;
    const gzipped = gzipSync(code, { level: 9 }).length / 1024;
    console.log(
      `browser bundle: ${minified.toFixed(1)} KiB minified, ${gzipped.toFixed(1)} KiB gzipped`,
    );
    const readme = readFileSync("README.md", "utf8");
    const stated = /browser bundle is ([\d.]+) KiB minified and ([\d.]+) KiB gzipped/.exec(readme);
    assert.ok(stated, "the README states the size of the browser bundle");
    const near = (a: number, b: number) => Math.abs(a - b) <= b * 0.1;
    assert.ok(
      near(Number(stated[1]), minified) && near(Number(stated[2]), gzipped),
      `README: ${stated[1]} / ${stated[2]} KiB; now ${minified.toFixed(1)} / ${
        gzipped.toFixed(1)
      } KiB`,
    );
  });
});
