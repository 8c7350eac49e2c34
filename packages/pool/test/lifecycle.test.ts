import { WasmPool } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools, waitFor } from './helpers';

const track = trackPools();
const modules = { math: { source: example('math') }, faults: { source: fixture('faults') } };

describe('pool lifecycle', () => {
  test('create() resolves with minWorkers workers running and every module instantiated', async () => {
    const created: number[] = [];
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 4, modules }));
    pool.on('workerCreate', (id) => created.push(id));
    expect(pool.stats().workers).toEqual({ total: 2, idle: 2, busy: 0, starting: 0 });
    // Instances exist in both workers before any task ran.
    expect(pool.stats().modules.math).toMatchObject({ instances: 2, memoryBytes: 2 * 65536 });
  });

  test('grows toward maxWorkers while tasks wait, and retires idle workers down to minWorkers', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 1, maxWorkers: 3, idleTimeoutMs: 100, modules }));
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    const tasks = Array.from({ length: 60 }, () => ({
      module: 'faults',
      function: 'busy',
      params: [2_000_000],
    }));
    const batch = pool.runBatch(tasks);
    await waitFor(() => pool.stats().workers.total === 3, 10_000, 'three workers');
    expect((await batch).every((r) => r.success)).toBe(true);
    await waitFor(() => pool.stats().workers.total === 1, 10_000, 'retirement to minWorkers');
    expect(exits).toEqual(['idle', 'idle']);
    expect(pool.stats().workerRestarts).toBe(0);
  });

  test('maxTasksPerWorker recycles a worker after that many tasks', async () => {
    const pool = track(
      await WasmPool.create({ minWorkers: 1, maxWorkers: 1, maxTasksPerWorker: 100, modules }),
    );
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    const results = await pool.runBatch(
      Array.from({ length: 350 }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] })),
    );
    expect(results.every((r, i) => r.output === i + 1)).toBe(true);
    expect(exits).toEqual(['recycled', 'recycled', 'recycled']);
    await waitFor(() => pool.stats().workers.idle === 1, 5000, 'a replacement worker');
  });

  test('close() finishes accepted tasks, refuses new ones, and ends every worker', async () => {
    const pool = await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules });
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    const pending = pool.runBatch(
      Array.from({ length: 1000 }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] })),
    );
    const single = pool.run({ module: 'faults', function: 'busy', params: [1_000_000] });
    const closing = pool.close();
    expect(pool.closed).toBe(true);
    await expect(pool.run({ module: 'math', function: 'add', params: [1, 1] })).rejects.toMatchObject({
      code: 'POOL_CLOSED',
    });
    await expect(pool.runBatch([])).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await closing;
    expect((await pending).every((r) => r.success)).toBe(true);
    await expect(single).resolves.toEqual(expect.any(Number));
    expect(exits).toEqual(['shutdown', 'shutdown']);
    expect(pool.stats().workers.total).toBe(0);
    await expect(pool.close()).resolves.toBeUndefined();
  });

  test('destroy() fails what is queued or running with POOL_CLOSED, right away', async () => {
    const pool = await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules });
    const running = rejectionOf(pool.run({ module: 'faults', function: 'loop_forever' }));
    const queued = pool.runBatch(
      Array.from({ length: 10 }, () => ({ module: 'math', function: 'add', params: [1, 1] })),
    );
    await new Promise((r) => setTimeout(r, 20));
    await pool.destroy();
    expect((await running).code).toBe('POOL_CLOSED');
    expect((await queued).every((r) => r.error?.code === 'POOL_CLOSED')).toBe(true);
    expect(pool.stats()).toMatchObject({ queued: 0, running: 0, workers: { total: 0 } });
  });

  test('minWorkers 0 starts workers on demand', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 0, maxWorkers: 2, idleTimeoutMs: 50, modules }));
    expect(pool.stats().workers.total).toBe(0);
    await expect(pool.run({ module: 'math', function: 'add', params: [2, 2] })).resolves.toBe(4);
    await waitFor(() => pool.stats().workers.total === 0, 5000, 'idle retirement to zero');
  });
});
