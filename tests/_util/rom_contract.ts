/**
 * The ROM-WebSocket contract strings of ARCHITECTURE.md §7, typed out by hand, byte for byte
 * (independently of src/rom/contract.ts, so a change there fails the tests). No imports: the
 * browser scenarios (`scenarios.ts`) bundle it too.
 *
 * @module
 */

export const SOURCE = "ROM-WebSocket";
export const OPEN = {
  event: '{"Event": "Connection","State": "Open"}',
  data: '{"Connection": "Open"}',
} as const;
export const CLOSE_NORMAL = {
  event: '{"Event": "Connection","State": "Close","Reason": "Normal"}',
  data: '{"Connection": "Close"}',
} as const;
export const CLOSE_DROP = {
  event: '{"Event": "Connection","State": "Close","Reason": "Drop"}',
  data: '{"Connection": "Close"}',
} as const;
export const FAIL = {
  event: '{"Event": "Connection","State": "Fail"}',
  data: '{"Connection": "Fail"}',
} as const;
export const MESSAGE = '{"Event": "Message"}';
export const BINARY_MESSAGE = '{"Event": "Message","Type": "Binary"}';
