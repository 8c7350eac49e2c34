import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { WasmPool, type TaskCompleteInfo, type WasmResult } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();
const modules = { math: { source: example('math') }, faults: { source: fixture('faults') } };

describe('stats and events', () => {
  test('stats() counts outcomes, latencies, modules and utilization', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules }));
    const empty = pool.stats();
    expect(empty).toMatchObject({
      completed: 0,
      failed: 0,
      queued: 0,
      running: 0,
      workerRestarts: 0,
      failures: {},
    });
    expect(empty.runTimeMs).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
    await pool.runBatch(
      Array.from({ length: 200 }, () => ({ module: 'faults', function: 'busy', params: [100_000] })),
    );
    await rejectionOf(pool.run({ module: 'faults', function: 'trap' }));
    await rejectionOf(pool.run({ module: 'math', function: 'add', params: [] }));
    const stats = pool.stats();
    expect(stats).toMatchObject({ completed: 200, failed: 2, failures: { TRAP: 1, INVALID_PARAMS: 1 } });
    expect(stats.modules.faults).toMatchObject({ completed: 200, failed: 1, instances: 2 });
    const { p50, p90, p99, max, mean } = stats.runTimeMs;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(p90);
    expect(p90).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
    expect(mean).toBeGreaterThan(0);
    expect(stats.waitTimeMs.max).toBeGreaterThan(0);
    expect(stats.utilization).toBeGreaterThan(0);
    expect(stats.utilization).toBeLessThanOrEqual(1);
  });

  test('stats() is cheap: 10,000 snapshots while a batch runs', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules }));
    const batch = pool.runBatch(
      Array.from({ length: 10_000 }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] })),
    );
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += pool.stats().workers.total;
    expect(total).toBe(20_000);
    expect((await batch).length).toBe(10_000);
  });

  test('taskComplete, workerCreate, workerExit and drain events', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules }));
    const completed: [WasmResult, TaskCompleteInfo][] = [];
    const exits: [number, string][] = [];
    const created: number[] = [];
    let drains = 0;
    pool.on('taskComplete', (result, info) => completed.push([result, info]));
    pool.on('workerExit', (id, reason) => exits.push([id, reason]));
    pool.on('workerCreate', (id) => created.push(id));
    pool.on('drain', () => drains++);
    await pool.runBatch([
      { id: 'a', module: 'math', function: 'add', params: [1, 2] },
      { id: 'b', module: 'faults', function: 'trap' },
    ]);
    // A module registered with instrument: false cannot be interrupted: its timeout ends the worker (workerExit).
    await pool.registerModule('stuck', { source: fixture('faults'), instrument: false });
    await rejectionOf(pool.run({ module: 'stuck', function: 'loop_forever' }, { timeoutMs: 30 }));
    expect(
      completed.map(([r, info]) => [r.id, r.success, r.error?.code, info.module, info.function]),
    ).toEqual([
      ['a', true, undefined, 'math', 'add'],
      ['b', false, 'TRAP', 'faults', 'trap'],
      [expect.any(String), false, 'TIMEOUT', 'stuck', 'loop_forever'],
    ]);
    expect(completed[0]![0].output).toBe(3);
    expect(completed.every(([, info]) => info.waitTimeMs >= 0)).toBe(true);
    expect(exits).toEqual([[1, 'timeout']]);
    await new Promise((r) => setTimeout(r, 200));
    expect(created).toEqual([2]);
    expect(drains).toBeGreaterThanOrEqual(2);
  });
});

describe('packaging', () => {
  test('the built package loads with require and with import', () => {
    const root = resolve(__dirname, '../../..');
    const script = `
      const cjs = require('@wasmpool/pool');
      import('@wasmpool/pool').then((esm) => {
        console.log(typeof cjs.WasmPool.create, typeof esm.WasmPool.create, esm.WasmPool === cjs.WasmPool, typeof esm.WasmPoolError);
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('function function true function');
  });
});

test('tasks cancelled in a worker’s hands stop counting as queued at once, before the worker skips them', async () => {
  const p = track(
    await WasmPool.create({
      minWorkers: 1,
      maxWorkers: 1,
      modules: { faults: { source: fixture('faults') } },
    }),
  );
  const controller = new AbortController();
  const long = p
    .run({ module: 'faults', function: 'busy', params: [2_000_000_000] }, { timeoutMs: 60_000 })
    .catch((e: { code: string }) => e.code);
  await new Promise((r) => setTimeout(r, 20));
  const behind = Array.from({ length: 5 }, (_, i) =>
    p
      .run({ module: 'faults', function: 'ok', params: [i] }, { signal: controller.signal })
      .catch((e: { code: string }) => e.code),
  );
  await new Promise((r) => setTimeout(r, 20));
  // Handed to the worker (its pipeline), not started: queued.
  expect(p.stats()).toMatchObject({ queued: 5, running: 1 });
  controller.abort();
  expect(await Promise.all(behind)).toEqual(['ABORTED', 'ABORTED', 'ABORTED', 'ABORTED', 'ABORTED']);
  // Settled: not queued any more, though the worker, still busy, has not reached them.
  expect(p.stats()).toMatchObject({ queued: 0, running: 1 });
  await p.destroy();
  expect(await long).toBe('POOL_CLOSED');
});
