import { WasmPool, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();

async function mathPool(options: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      maxQueue: 1_000_000,
      modules: { math: { source: example('math') }, faults: { source: fixture('faults') } },
      ...options,
    }),
  );
}

describe('dispatch', () => {
  test('a 100,000-task batch: every result checked, in input order, with progress', async () => {
    const pool = await mathPool();
    const n = 100_000;
    const tasks = Array.from({ length: n }, (_, i) => ({ module: 'math', function: 'add', params: [i, i] }));
    const progress: number[] = [];
    const results = await pool.runBatch<number>(tasks, {
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(results).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const result = results[i] as WasmResult<number>;
      if (!result.success || result.output !== 2 * i) throw new Error(`task ${i}: ${JSON.stringify(result)}`);
    }
    expect(new Set(results.map((r) => r.id)).size).toBe(n);
    // Reported as results arrive (once per results message), rising to the whole batch.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
    expect(progress[progress.length - 1]).toBe(1);
    expect(pool.stats()).toMatchObject({ completed: n, failed: 0, queued: 0, running: 0 });
  });

  test('1,000 concurrent run() calls each get their own answer', async () => {
    const pool = await mathPool();
    const outputs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        pool.run({ module: 'math', function: 'add', params: [i, 1000] }),
      ),
    );
    expect(outputs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1000));
  });

  test('run() and runBatch() share one scheduler and both workers', async () => {
    const pool = await mathPool();
    const batch = pool.runBatch(
      Array.from({ length: 20 }, () => ({ module: 'faults', function: 'busy', params: [200_000] })),
    );
    const single = pool.run({ module: 'math', function: 'add', params: [1, 1] });
    await expect(single).resolves.toBe(2);
    expect((await batch).every((r) => r.success)).toBe(true);
    expect(pool.stats().completed).toBe(21);
  });

  test('ids given are echoed; a batch task without one is known by its position, a run() task by a fresh number', async () => {
    const pool = await mathPool();
    const results = await pool.runBatch([
      { id: 'first', module: 'math', function: 'add', params: [1, 1] },
      { module: 'math', function: 'add', params: [1, 1] },
      { module: 'math', function: 'add', params: [1, 1] },
    ]);
    expect(results.map((r) => r.id)).toEqual(['first', '1', '2']);
    const first = await rejectionOf(pool.run({ module: 'faults', function: 'trap' }));
    const second = await rejectionOf(pool.run({ module: 'faults', function: 'trap' }));
    expect(first.taskId).toMatch(/^\d+$/);
    expect(Number(second.taskId)).toBeGreaterThan(Number(first.taskId));
    const error = await rejectionOf(pool.run({ id: 'x1', module: 'faults', function: 'trap' }));
    expect(error.taskId).toBe('x1');
  });

  test('while a lone quick task is out the event loop keeps turning for a moment, timers still fire, then it sleeps', async () => {
    const pool = await mathPool();
    const immediates = (): number =>
      process.getActiveResourcesInfo().filter((resource) => resource === 'Immediate').length;
    await pool.run({ module: 'math', function: 'add', params: [1, 1] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(immediates()).toBe(0);
    // About 150 ms of wasm here: nothing comes back within the 1 ms the loop is kept awake.
    const task = pool.run({ module: 'faults', function: 'busy', params: [30_000_000] });
    let settled = false;
    void task.then(() => (settled = true));
    await Promise.resolve();
    expect(immediates()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The timer fired while the task was still out, and the loop has stopped turning by itself.
    expect(settled).toBe(false);
    expect(immediates()).toBe(0);
    await expect(task).resolves.toEqual(expect.any(Number));
    // Now that the function is known to be slow, its next task does not keep the loop awake at all.
    const again = pool.run({ module: 'faults', function: 'busy', params: [30_000_000] });
    await Promise.resolve();
    expect(immediates()).toBe(0);
    await again;
    // Many tasks out: no immediates at all (the caller is not waiting on one answer).
    const many = pool.runBatch(
      Array.from({ length: 100 }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] })),
    );
    await Promise.resolve();
    expect(immediates()).toBe(0);
    expect((await many).every((r) => r.success)).toBe(true);
  });

  test('maxQueue refuses run() with QUEUE_FULL; a batch waits for room; nothing accepted is lost', async () => {
    const pool = await mathPool({ minWorkers: 1, maxWorkers: 1, maxQueue: 10 });
    // Keep the only worker busy so that tasks wait in the queue.
    const blocker = pool.run({ module: 'faults', function: 'busy', params: [20_000_000] });
    await new Promise((r) => setTimeout(r, 20));
    const accepted = Array.from({ length: 10 }, (_, i) =>
      pool.run({ module: 'math', function: 'add', params: [i, 1] }),
    );
    // Submitted in the same tick, before the queue moves into the worker's pipeline.
    const refusedRun = rejectionOf(pool.run({ module: 'math', function: 'add', params: [1, 1] }));
    const waitingBatch = pool.runBatch([{ module: 'math', function: 'add', params: [1, 1] }]);
    expect((await refusedRun).code).toBe('QUEUE_FULL');
    expect(pool.stats().queued).toBe(11);
    expect((await waitingBatch)[0]!.output).toBe(2);
    await expect(Promise.all(accepted)).resolves.toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await blocker;
    expect(pool.stats().failures.QUEUE_FULL).toBe(1);
  });

  test('a batch larger than the queue enters it as room frees up: every task runs, the queue stays bounded', async () => {
    const pool = await mathPool({ maxQueue: 100 });
    const batch = pool.runBatch(
      Array.from({ length: 5_000 }, (_, i) => ({ module: 'math', function: 'add', params: [i, 0] })),
    );
    // A batch fills at most half the queue: run() calls beside it are not refused.
    const beside = await Promise.all(
      Array.from({ length: 40 }, (_, i) => pool.run({ module: 'math', function: 'add', params: [i, 1] })),
    );
    expect(beside).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const results = await batch;
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect(pool.stats().failures.QUEUE_FULL).toBeUndefined();
  });

  test('changing the array after runBatch() returns does not reach waiting tasks', async () => {
    const pool = await mathPool();
    const tasks: WasmTask[] = [
      { module: 'math', function: 'add', params: [1, 2] },
      { module: 'math', function: 'add64', params: [5n, 6n] },
      { module: 'math', function: 'add', params: [3, 4] },
    ];
    const pending = pool.runBatch(tasks);
    tasks[0] = { module: 'math', function: 'add', params: [100, 100] };
    tasks[2] = { module: 'math', function: 'add', params: [1000, 1000] };
    tasks.length = 1;
    const results = await pending;
    expect(results.map((r) => r.output)).toEqual([3, 11n, 7]);
  });

  test('an empty batch resolves to []', async () => {
    const pool = await mathPool({ minWorkers: 0 });
    await expect(pool.runBatch([])).resolves.toEqual([]);
  });
});
