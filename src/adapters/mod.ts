/**
 * Socket adapters: the contract, one implementation per runtime, and runtime detection.
 *
 * @module
 */

export * from "./socket.ts";
export { openTunnel, parseProxyUrl, type ProxySettings } from "./proxy.ts";
export { defaultConnector, detectRuntime, type Runtime } from "./detect.ts";
