/**
 * `items.map(fn)` with at most `limit` calls of `fn` in flight at once; the results in input order.
 *
 * Every batch path (a CLI over N files, an analysis over N images) goes through this instead of
 * `Promise.all(items.map(fn))`, which starts all N at once: N decodes, N open files and N tensors
 * held together, however large N is.
 *
 * On the first rejection no further item is started; the calls already in flight are left to
 * settle, and then the returned promise rejects with that first error (later errors are dropped).
 * So when it settles, none of `fn`'s work is still running: a caller that closes the model or
 * deletes a folder in a `finally` does not pull it from under a call still using it.
 * A synchronous throw from `fn` counts as a rejection.
 *
 * `limit` must be an integer >= 1 (a RangeError otherwise, as a rejection).
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`concurrency limit must be an integer >= 1, got ${limit}`);
  }
  const n = items.length;
  const results = new Array<R>(n);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;

  // `limit` lanes, each taking the next unstarted item until none is left or one has failed.
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < n) {
      const k = next++;
      try {
        results[k] = await fn(items[k] as T, k);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  if (failure !== undefined) {
    throw failure.error;
  }
  return results;
}
