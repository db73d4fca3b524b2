/**
 * An echo round trip against an embedded server: connect, send text and binary, read the echoes,
 * measure a ping, close. Runs unchanged on Deno, Bun and Node.js.
 */
import { connect, VERSION } from "../mod.ts";
import { startEchoServer } from "../src/cli/echo_server.ts";

const server = await startEchoServer();
const ws = await connect(`ws://127.0.0.1:${server.port}/demo`);
console.log(`rom-websocket ${VERSION}: connected to ${ws.url}`);
await ws.send("Привет мир!");
await ws.send(new Uint8Array([1, 2, 3]));
let received = 0;
for await (const message of ws) {
  console.log("echo:", message);
  if (++received === 2) break;
}
console.log(`ping round trip: ${(await ws.ping()).toFixed(2)} ms`);
const info = await ws.close(1000, "done");
console.log(`closed: code ${info.code}, clean ${info.wasClean}`);
await server.close();
