import { WasmPool } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();

describe('aborting tasks already handed to a worker', () => {
  test('a task sent to a worker but not started is skipped there, not run', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        maxWorkers: 1,
        modules: { faults: { source: fixture('faults') } },
      }),
    );
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    const controller = new AbortController();
    // Same tick: both travel in one message; grow waits in the worker behind busy.
    const busy = pool.run({ module: 'faults', function: 'busy', params: [50_000_000] });
    const grow = rejectionOf(
      pool.run({ module: 'faults', function: 'grow', params: [5] }, { signal: controller.signal }),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    controller.abort(new Error('changed my mind'));
    expect(await grow).toMatchObject({ code: 'ABORTED', message: 'the task was aborted: changed my mind' });
    await busy;
    // grow never ran: memory is still one page, and the worker was not replaced.
    await expect(pool.run({ module: 'faults', function: 'pages' })).resolves.toBe(1);
    expect(exits).toEqual([]);
  });

  test('aborting a batch stops its running task and fails the rest, which do not run later', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        maxWorkers: 1,
        modules: { faults: { source: fixture('faults') } },
      }),
    );
    const controller = new AbortController();
    const batch = pool.runBatch(
      [
        { module: 'faults', function: 'loop_forever' },
        { module: 'faults', function: 'grow', params: [5] },
        { module: 'faults', function: 'grow', params: [5] },
      ],
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const results = await batch;
    expect(results.map((r) => r.error?.code)).toEqual(['ABORTED', 'ABORTED', 'ABORTED']);
    await expect(pool.run({ module: 'faults', function: 'pages' })).resolves.toBe(1);
    // The loop stops at its next check (the module is instrumented): the worker is kept.
    expect(pool.stats().workerRestarts).toBe(0);
  });
});
