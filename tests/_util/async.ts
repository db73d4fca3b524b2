/**
 * Async helpers for integration tests that must never stall a run: every wait is bounded, and
 * the resources a test opens are released even when the test body hangs.
 *
 * - {@linkcode withTimeout} races a promise against a safety-net deadline and fails with a
 *   message naming the step that hung (the timer is always cleared, so nothing leaks).
 * - {@linkcode guarded} wraps a test body: it gets a {@linkcode Scope} to register cleanups in,
 *   fails if the body takes longer than its deadline, and runs every cleanup in any case.
 *
 * Deadlines here are safety nets, never assertions about speed.
 *
 * @module
 */

/** Thrown by {@linkcode withTimeout} when the deadline passes first. */
export class TimeoutFailure extends Error {
  constructor(label: string, ms: number) {
    super(`timed out after ${ms} ms: ${label}`);
    this.name = "TimeoutFailure";
  }
}

/**
 * Resolves or rejects like `promise`, or rejects with a {@linkcode TimeoutFailure} once `ms`
 * passed. A hang therefore fails the test instead of stalling the run.
 */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutFailure(label, ms)), ms);
  });
  return Promise.race([Promise.resolve(promise), deadline]).finally(() => clearTimeout(timer));
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its settle functions, and whether it has settled. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  readonly settled: boolean;
}

/** Makes a {@linkcode Deferred}. Its rejection is marked handled (tests await it explicitly). */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return {
    promise,
    resolve(value: T) {
      settled = true;
      resolve(value);
    },
    reject(error: unknown) {
      settled = true;
      reject(error);
    },
    get settled() {
      return settled;
    },
  };
}

/** Polls `predicate` until it is true; rejects with a {@linkcode TimeoutFailure} after `ms`. */
export async function waitFor(
  predicate: () => boolean,
  ms: number,
  label: string,
  interval = 5,
): Promise<void> {
  // The monotonic clock: a step of the wall clock (a VM's time sync) once ended a 4 s wait
  // after 53 ms.
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > ms) throw new TimeoutFailure(label, ms);
    await delay(interval);
  }
}

/** How a promise settled. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Settles `promise` into an {@linkcode Outcome} (bounded by `ms`). */
export function outcome<T>(
  promise: PromiseLike<T>,
  ms: number,
  label: string,
): Promise<Outcome<T>> {
  return withTimeout(
    Promise.resolve(promise).then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error): Outcome<T> => ({ ok: false, error }),
    ),
    ms,
    label,
  );
}

/**
 * Whether `promise` is still pending after `ms` (used only to observe that something waits, e.g.
 * a send held back by backpressure; never to judge speed).
 */
export async function stillPending(promise: PromiseLike<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol("pending");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    Promise.resolve(promise).then(() => "settled", () => "settled"),
    new Promise<symbol>((resolve) => (timer = setTimeout(() => resolve(pending), ms))),
  ]);
  clearTimeout(timer);
  return result === pending;
}

/** Something a test opened and must release. */
export type Cleanup = () => unknown;

/** Resources of one test, released in reverse order by {@linkcode guarded}. */
export class Scope {
  readonly #cleanups: Cleanup[] = [];

  /** Registers `cleanup` to run when the test ends (pass or fail or hang). */
  defer(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  /** Registers a resource with an async `close()` and returns it. */
  use<T extends { close(): unknown }>(resource: T): T {
    this.defer(() => resource.close());
    return resource;
  }

  /** Runs every cleanup (last registered first), each bounded by `ms`. Never throws. */
  async release(ms = 3000): Promise<unknown[]> {
    const errors: unknown[] = [];
    while (this.#cleanups.length > 0) {
      const cleanup = this.#cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve().then(cleanup), ms, "cleanup");
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}

/**
 * Default deadline of a guarded test body: under `bun test`'s own 5 s default, so the guard
 * fires first and releases the test's resources. Longer tests pass their own deadline (and a
 * larger `timeout` option to `it`).
 */
export const TEST_DEADLINE = 4500;

/**
 * Wraps a test body: it runs with a fresh {@linkcode Scope}, fails with a
 * {@linkcode TimeoutFailure} if it does not finish within `ms`, and the scope's cleanups run in
 * every case (so servers and sockets are closed even when the client hangs).
 */
export function guarded(
  body: (scope: Scope) => Promise<void> | void,
  ms: number = TEST_DEADLINE,
): () => Promise<void> {
  return async () => {
    const scope = new Scope();
    let failure: unknown;
    let failed = false;
    try {
      await withTimeout(Promise.resolve().then(() => body(scope)), ms, "test body");
    } catch (error) {
      failed = true;
      failure = error;
    }
    const errors = await scope.release();
    if (failed) throw failure;
    if (errors.length > 0) {
      throw new Error(`cleanup failed: ${errors.map((e) => String(e)).join("; ")}`);
    }
  };
}
