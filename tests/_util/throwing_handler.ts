/**
 * A program whose external event handler throws, run as a subprocess of the current runtime by
 * tests/rom/misuse_test.ts (see `commandFor` in subprocess.ts): it must keep its connection,
 * receive the next message, disconnect normally and print DONE.
 *
 * @module
 */

import process from "node:process";
import { RomWebSocket } from "../../src/rom/mod.ts";
import { startEchoServer } from "../../src/cli/echo_server.ts";

const server = await startEchoServer();
const rom = new RomWebSocket();
rom.Timeout = 5;
const seen: string[] = [];
rom.onExternalEvent = (_source, event, data) => {
  seen.push(data);
  console.log(`event ${event} ${data}`);
  if (data === "throw") throw new Error("handler failure (thrown on purpose by the test)");
};
if (!(await rom.Connect(server.url))) {
  console.log(`connect failed: ${rom.LastError}`);
  process.exit(3);
}
await rom.Send("throw");
await rom.Send("after");
const deadline = performance.now() + 5000;
while (!seen.includes("after") && performance.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 5));
}
console.log(`connected after the throw: ${rom.Connected}`);
console.log(`disconnect: ${await rom.Disconnect()}`);
await server.close();
console.log("DONE");
