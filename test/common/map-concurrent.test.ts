/**
 * mapConcurrent: results in input order, never more than `limit` calls in flight (counted, not
 * timed), the first rejection wins once the calls in flight have settled, and a bad limit refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapConcurrent } from '../../src/common/map-concurrent.ts';

/** A promise settled by hand: the test decides the order calls finish in. */
interface Gate<T> {
  readonly promise: Promise<T>;
  readonly resolve: (v: T) => void;
  readonly reject: (e: unknown) => void;
}
function gate<T>(): Gate<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (a macrotask turn), so started calls are counted. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Counts calls in flight; each call waits for its own gate. */
function tracked(n: number): { fn: (item: number, index: number) => Promise<number>; gates: Gate<number>[]; started: number[]; inFlight: () => number; peak: () => number } {
  const gates = Array.from({ length: n }, () => gate<number>());
  const started: number[] = [];
  let inFlight = 0;
  let peak = 0;
  return {
    gates,
    started,
    inFlight: () => inFlight,
    peak: () => peak,
    fn: async (_item, index) => {
      started.push(index);
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await gates[index]!.promise;
      } finally {
        inFlight--;
      }
    },
  };
}

describe('mapConcurrent', () => {
  it('answers in input order whatever order the calls finish in', async () => {
    const items = [10, 20, 30, 40, 50, 60, 70];
    const t = tracked(items.length);
    const done = mapConcurrent(items, 3, (item, index) => t.fn(item, index).then((v) => v + item));
    // Always finish the latest started call first: completion order is far from input order.
    const finished = new Set<number>();
    while (finished.size < items.length) {
      await settle();
      const latest = t.started.filter((k) => !finished.has(k)).at(-1)!;
      finished.add(latest);
      t.gates[latest]!.resolve(latest);
    }
    assert.deepEqual(await done, [10, 21, 32, 43, 54, 65, 76]);
  });

  it('never has more than `limit` calls in flight, and keeps `limit` busy while items remain', async () => {
    const n = 25;
    const limit = 4;
    const t = tracked(n);
    const done = mapConcurrent(Array.from({ length: n }, (_, k) => k), limit, t.fn);
    for (let k = 0; k < n; k++) {
      await settle();
      assert.equal(t.inFlight(), Math.min(limit, n - k), `in flight before finishing call ${k}`);
      assert.equal(t.started.length, Math.min(n, k + limit), 'started so far');
      t.gates[t.started[k]!]!.resolve(k);
    }
    await done;
    assert.equal(t.peak(), limit);
    assert.deepEqual(t.started, Array.from({ length: n }, (_, k) => k), 'started in input order');
  });

  it('runs one at a time with limit 1', async () => {
    const t = tracked(5);
    const done = mapConcurrent([0, 1, 2, 3, 4], 1, t.fn);
    for (let k = 0; k < 5; k++) {
      await settle();
      assert.equal(t.inFlight(), 1);
      t.gates[k]!.resolve(k * k);
    }
    assert.deepEqual(await done, [0, 1, 4, 9, 16]);
    assert.equal(t.peak(), 1);
  });

  it('starts every item at once when the limit is larger than the input', async () => {
    const t = tracked(3);
    const done = mapConcurrent(['a', 'b', 'c'], 100, (_item, index) => t.fn(index, index));
    await settle();
    assert.equal(t.inFlight(), 3);
    t.gates.forEach((g, k) => {
      g.resolve(k);
    });
    assert.deepEqual(await done, [0, 1, 2]);
  });

  it('answers [] for no items without calling fn', async () => {
    let calls = 0;
    const out = await mapConcurrent([], 3, async () => {
      calls++;
      return 1;
    });
    assert.deepEqual(out, []);
    assert.equal(calls, 0);
  });

  it('on the first rejection starts nothing more, lets the calls in flight settle, then rejects with that error', async () => {
    const n = 10;
    const t = tracked(n);
    let settled = false;
    const done = mapConcurrent(Array.from({ length: n }, (_, k) => k), 3, t.fn).finally(() => {
      settled = true;
    });
    const outcome = assert.rejects(done, /item 1 failed/);
    await settle();
    assert.deepEqual(t.started, [0, 1, 2]);
    t.gates[1]!.reject(new Error('item 1 failed'));
    await settle();
    assert.deepEqual(t.started, [0, 1, 2], 'nothing started after the failure');
    assert.equal(settled, false, 'still waiting for the calls in flight');
    t.gates[2]!.reject(new Error('item 2 failed too'));
    await settle();
    assert.equal(settled, false, 'item 0 is still running');
    t.gates[0]!.resolve(0);
    await outcome;
    assert.equal(t.inFlight(), 0, 'nothing left running when it rejects');
    assert.deepEqual(t.started, [0, 1, 2]);
  });

  it('treats a synchronous throw from fn as a rejection', async () => {
    await assert.rejects(
      mapConcurrent([1, 2, 3], 2, (item) => {
        if (item === 2) {
          throw new TypeError('bad item');
        }
        return Promise.resolve(item);
      }),
      TypeError,
    );
  });

  it('refuses a limit that is not an integer >= 1', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(mapConcurrent([1], limit, async (x) => x), RangeError, String(limit));
    }
  });
});
