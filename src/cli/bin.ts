/**
 * `rom-ws`, the command-line client: importing this module runs it with the process arguments
 * (`deno run -A jsr:@rom/websocket/cli`, `bun src/cli/bin.ts`, the npm `bin`). Usage:
 *
 * ```
 * rom-ws [url] [--header K:V]... [--protocol P]... [--regex R] [--timeout S]
 *        [--format rom|plain|json] [--no-listen]
 * ```
 *
 * The logic lives in `main.ts`, the embedded echo server in `echo_server.ts`.
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./main.ts";

runCli(process.argv.slice(2));
