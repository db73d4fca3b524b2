/**
 * `rom-ws`, the command-line client: importing this module runs it with the process arguments
 * (`deno run -A jsr:@rom/websocket/cli`, `bun src/cli/bin.ts`, the npm `bin`). Usage:
 *
 * ```
 * rom-ws [url] [-x MSG]... [--wait S] [-H "K: V"]... [-p P]... [--auth USER:PASS]
 *        [--ca FILE] [--cert FILE --key FILE] [--insecure] [--proxy URL | --no-proxy]
 *        [--no-compression] [--reconnect] [--show-ping-pong] [--regex R] [--timeout S]
 *        [--format rom|plain|json|pretty] [--no-listen] [--no-color]
 * ```
 *
 * On a terminal it is interactive (a prompt, history, `/ping`, `/close [code] [reason]`,
 * `/binary HEX`, `/stats`, `/quit`); `rom-ws --help` lists every option and exit status. The
 * logic lives in `main.ts` and the files beside it, the embedded echo server in `echo_server.ts`.
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./main.ts";

runCli(process.argv.slice(2));
