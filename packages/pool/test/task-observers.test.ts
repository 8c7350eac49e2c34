import { WasmPool, WasmPoolError, type ErrorCode, type TaskObserver } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();
const modules = { math: { source: example('math') }, faults: { source: fixture('faults') } };

interface Seen {
  module: string;
  code: ErrorCode | undefined;
  executionTimeMs: number;
  waitTimeMs: number;
  fuelUsed: number | undefined;
}

/** An observer that keeps every call. */
function recorder(): TaskObserver & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    taskSettled(module, code, executionTimeMs, waitTimeMs, fuelUsed) {
      seen.push({ module, code, executionTimeMs, waitTimeMs, fuelUsed });
    },
  };
}

const adds = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] }));

describe('pool.observeTasks()', () => {
  test('sees every settled task once, with its module, code and times, batches included', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules }));
    const observer = recorder();
    pool.observeTasks(observer);

    // A big batch of numeric results takes the pool's fast path; the observer sees it all the same.
    const results = await pool.runBatch(adds(5000));
    expect(observer.seen).toHaveLength(5000);
    expect(observer.seen.every((s) => s.module === 'math' && s.code === undefined)).toBe(true);
    const observedMs = observer.seen.reduce((sum, s) => sum + s.executionTimeMs, 0);
    const reportedMs = results.reduce((sum, r) => sum + r.executionTimeMs, 0);
    expect(observedMs).toBeCloseTo(reportedMs, 9);
    expect(observer.seen.every((s) => s.waitTimeMs >= 0 && s.fuelUsed === undefined)).toBe(true);

    observer.seen.length = 0;
    expect(await pool.run({ module: 'faults', function: 'ok', params: [4] })).toBe(5);
    await rejectionOf(pool.run({ module: 'faults', function: 'trap' }));
    await rejectionOf(pool.run({ module: 'math', function: 'add', params: ['x', 1] }));
    await rejectionOf(pool.run({ module: 'nope', function: 'add' }));
    await rejectionOf(pool.run({ module: 42 } as never));
    await rejectionOf(pool.run({ module: 'faults', function: 'loop_forever' }, { timeoutMs: 50 }));
    const batch = await pool.runBatch([{ module: 'math', function: 'missing' }, ...adds(1)]);
    expect(batch.map((r) => r.success)).toEqual([false, true]);

    expect(observer.seen.map((s) => [s.module, s.code ?? 'ok'])).toEqual([
      ['faults', 'ok'],
      ['faults', 'TRAP'],
      ['math', 'INVALID_PARAMS'],
      ['nope', 'MODULE_NOT_FOUND'],
      ['', 'MODULE_NOT_FOUND'], // not a string: named as ''
      ['faults', 'TIMEOUT'],
      ['math', 'FUNCTION_NOT_FOUND'],
      ['math', 'ok'],
    ]);
    // refusals never queued: both times 0; what ran has its time
    for (const s of observer.seen.slice(2, 5)) expect([s.executionTimeMs, s.waitTimeMs]).toEqual([0, 0]);
    expect(observer.seen[1].executionTimeMs).toBeGreaterThan(0);
    expect(observer.seen[5].executionTimeMs).toBeGreaterThanOrEqual(40);
    expect(pool.listenerCount('taskComplete')).toBe(0);
  });

  test('several observers; removal is per registration and idempotent', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules }));
    const a = recorder();
    const b = recorder();
    const stopA = pool.observeTasks(a);
    const stopB1 = pool.observeTasks(b);
    const stopB2 = pool.observeTasks(b); // twice: told twice
    await pool.runBatch(adds(3));
    expect([a.seen.length, b.seen.length]).toEqual([3, 6]);
    stopB1();
    stopB1();
    await pool.run(adds(1)[0]);
    expect([a.seen.length, b.seen.length]).toEqual([4, 7]);
    stopA();
    stopB2();
    await pool.runBatch(adds(3));
    expect([a.seen.length, b.seen.length]).toEqual([4, 7]);
  });

  test('an observer that throws loses nothing: every task still settles and other observers hear of it', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules }));
    pool.observeTasks({
      taskSettled() {
        throw new Error('observer bug');
      },
    });
    const after = recorder();
    pool.observeTasks(after);
    const results = await pool.runBatch(adds(2000));
    expect(results.every((r, i) => r.success && r.output === i + 1)).toBe(true);
    expect(await pool.run({ module: 'math', function: 'add', params: [2, 3] })).toBe(5);
    expect(after.seen).toHaveLength(2001);
    expect(pool.stats().completed).toBe(2001);
  });

  test('refuses what is not an observer with INVALID_PARAMS', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 0, maxWorkers: 1, modules }));
    for (const bad of [undefined, null, 1, {}, { taskSettled: 'no' }]) {
      let error: unknown;
      try {
        pool.observeTasks(bad as unknown as TaskObserver);
      } catch (e) {
        error = e;
      }
      expect(WasmPoolError.is(error, 'INVALID_PARAMS')).toBe(true);
    }
  });
});
