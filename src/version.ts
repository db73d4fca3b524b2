/** The library version (kept equal to deno.json and package.json by scripts/check_exports.ts). */
export const VERSION = "0.1.0";
