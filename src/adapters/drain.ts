/**
 * Writes waiting for a drain: the promise `Socket.write` returns once the adapter's queue is above
 * its high-water mark, resolved when the queue drops back under it, rejected when the socket
 * closes first.
 *
 * Plain functions over an array the adapter owns (not a class around it), made on the first write
 * that has to wait: an idle connection pays for no array.
 *
 * @module
 */

/** Writes waiting for the write queue to drain; one array per socket, made when first needed. */
export type DrainWaiters = Array<{ resolve: () => void; reject: (error: Error) => void }>;

/** A promise settled by the next {@linkcode settleDrain} of `waiters`. */
export function waitForDrain(waiters: DrainWaiters): Promise<void> {
  return new Promise((resolve, reject) => {
    waiters.push({ resolve, reject });
  });
}

/**
 * Resolves every waiting write, or rejects them with `error` (the socket closed). Settling runs no
 * code synchronously, so nothing can join `waiters` during the loop and emptying it afterwards
 * is safe (V8 drops the array's backing store when its length becomes 0).
 */
export function settleDrain(waiters: DrainWaiters | undefined, error?: Error): void {
  if (waiters === undefined) return;
  const n = waiters.length;
  if (n === 0) return;
  for (let i = 0; i < n; i++) error ? waiters[i].reject(error) : waiters[i].resolve();
  waiters.length = 0;
}
