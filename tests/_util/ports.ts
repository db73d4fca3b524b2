/**
 * A free TCP port on the loopback interface, for helpers that start a program (Asterisk, squid,
 * tinyproxy, ...) which must be told its port before it binds. The port is free when this
 * resolves; another process can still take it before the program binds, so the helpers check
 * that what answers there is their program.
 */

import { createServer } from "node:net";

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => port > 0 ? resolve(port) : reject(new Error("no free port")));
    });
  });
}
