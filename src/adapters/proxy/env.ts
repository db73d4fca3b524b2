/**
 * Proxy settings from the environment, as curl and python-websockets read them: `wss_proxy` or
 * `ws_proxy` by the target's scheme, then `https_proxy` (for `wss://`) or `http_proxy` (for
 * `ws://`), then `all_proxy`; `no_proxy`. Each name in lowercase first, then in uppercase; an
 * empty value counts as unset.
 *
 * Reading the environment is the runtime's business and happens only in
 * {@linkcode readEnvironment}; the choice itself is a pure function of a getter.
 *
 * @module
 */

/** Reads one environment variable; undefined when unset or unreadable. */
export type EnvGetter = (name: string) => string | undefined;

/** The variable names consulted for a `ws://` or `wss://` target, in order. */
export function proxyVariables(secure: boolean): string[] {
  const names = secure
    ? ["wss_proxy", "https_proxy", "all_proxy"]
    : ["ws_proxy", "http_proxy", "all_proxy"];
  return names.flatMap((n) => [n, n.toUpperCase()]);
}

/** The first non-empty variable among `names` (lowercase before uppercase, as given). */
export function firstSet(
  env: EnvGetter,
  names: readonly string[],
): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env(name)?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** The proxy variable that applies to a `ws://` (`secure` false) or `wss://` target, if any. */
export function proxyFromEnvironment(
  env: EnvGetter,
  secure: boolean,
): { name: string; value: string } | undefined {
  return firstSet(env, proxyVariables(secure));
}

/** The `no_proxy` (or `NO_PROXY`) value, if any. */
export function noProxyFromEnvironment(
  env: EnvGetter,
): { name: string; value: string } | undefined {
  return firstSet(env, ["no_proxy", "NO_PROXY"]);
}

interface DenoEnv {
  env: { get(name: string): string | undefined };
  permissions?: { querySync?(d: { name: "env"; variable: string }): { state: string } };
}

/**
 * The runtime's environment: `Deno.env` when Deno grants reading the variable (asked without a
 * prompt: Deno run without `--allow-env` sees no variables), else `process.env` (Node.js, Bun).
 * Never throws.
 */
export function readEnvironment(): EnvGetter {
  const g = globalThis as {
    Deno?: DenoEnv;
    process?: { env?: Record<string, string | undefined> };
  };
  const deno = g.Deno;
  if (deno?.env) {
    return (name) => {
      try {
        if (deno.permissions?.querySync?.({ name: "env", variable: name }).state !== "granted") {
          return undefined;
        }
        return deno.env.get(name);
      } catch {
        return undefined;
      }
    };
  }
  const env = g.process?.env;
  return (name) => {
    try {
      return env?.[name];
    } catch {
      return undefined;
    }
  };
}
