// Issue 3, points 1-7: hard limits and fault tolerance, with real workers and real wasm.
// Timing is asserted only where the issue asks for it (TIMEOUT within 50 ms of the deadline), with
// a robust measure and slack for loaded CI machines.
import { WasmPool, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { fixture, hostImportsPath, rejectionOf, trackPools, waitFor } from './helpers';
import {
  brokenHostImports,
  median,
  nowMs,
  outcomeOf,
  recordEvents,
  type Outcome,
  reportedRun,
  settledAt,
  sleep,
} from './helpers/limits-fixtures';

const track = trackPools();
const PAGE = 65536;
const faults = fixture('faults');
/** The same module registered without instrumentation: its running tasks cannot be interrupted. */
const uninstrumented = { source: faults, instrument: false };
const host = { source: fixture('host'), hostImports: hostImportsPath };

const ok = (x: number): WasmTask => ({ module: 'faults', function: 'ok', params: [x] });
const loop: WasmTask = { module: 'faults', function: 'loop_forever' };
const pages: WasmTask = { module: 'faults', function: 'pages' };
const grow = (n: number): WasmTask => ({ module: 'faults', function: 'grow', params: [n] });

/** A pool of one worker, so that successive tasks share a worker and an instance. */
async function onePool(extra: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      modules: { faults: { source: faults } },
      minWorkers: 1,
      maxWorkers: 1,
      ...extra,
    }),
  );
}

function codes(results: WasmResult[]): (string | undefined)[] {
  return results.map((result) => (result.success ? 'ok' : result.error?.code));
}

describe('1. memory limit per instance', () => {
  test("a module's memoryLimitMb caps memory.grow: growing past it returns -1", async () => {
    const pool = await onePool({ modules: { faults: { source: faults, memoryLimitMb: 2 } } });
    expect(pool.modules().find((m) => m.name === 'faults')?.memoryLimitMb).toBe(2);
    await expect(pool.run(grow(31))).resolves.toBe(1); // 1 -> 32 pages = 2 MiB
    await expect(pool.run(grow(1))).resolves.toBe(-1);
    await expect(pool.run(grow(1000))).resolves.toBe(-1);
    await expect(pool.run(pages)).resolves.toBe(32);
  });

  test("the pool's memoryLimitMb is the default of modules without their own", async () => {
    const pool = await onePool({
      memoryLimitMb: 1,
      modules: { faults: { source: faults }, roomy: { source: faults, memoryLimitMb: 3 } },
    });
    const limits = Object.fromEntries(pool.modules().map((m) => [m.name, m.memoryLimitMb]));
    expect(limits).toEqual({ faults: 1, roomy: 3 });
    await expect(pool.run(grow(15))).resolves.toBe(1); // 16 pages = 1 MiB
    await expect(pool.run(grow(1))).resolves.toBe(-1);
    await expect(pool.run({ module: 'roomy', function: 'grow', params: [47] })).resolves.toBe(1);
    await expect(pool.run({ module: 'roomy', function: 'grow', params: [1] })).resolves.toBe(-1);
  });

  test('running out fails with OUT_OF_MEMORY (not TRAP); the instance is replaced, the worker carries on', async () => {
    const pool = await onePool({ modules: { faults: { source: faults, memoryLimitMb: 2 } } });
    const events = recordEvents(pool);
    await expect(pool.run(grow(5))).resolves.toBe(1);
    const error = await rejectionOf(pool.run({ module: 'faults', function: 'exhaust' }));
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect(error.message).toMatch(/2 MiB|32 pages/);
    // A fresh instance (1 page again) in the same worker: no worker was replaced.
    await expect(pool.run(pages)).resolves.toBe(1);
    await expect(pool.run(ok(41))).resolves.toBe(42);
    // Tasks around a failing one in the same batch are unaffected.
    const results = await pool.runBatch([ok(1), { module: 'faults', function: 'exhaust' }, ok(2), pages]);
    expect(codes(results)).toEqual(['ok', 'OUT_OF_MEMORY', 'ok', 'ok']);
    expect(results.map((r) => r.output)).toEqual([2, undefined, 3, 1]);
    expect(events.exits).toEqual([]);
    expect(events.creates).toEqual([]);
    expect(pool.stats().workerRestarts).toBe(0);
    expect(pool.stats().failures).toEqual({ OUT_OF_MEMORY: 2 });
  });

  test('an imported memory is given the cap as its maximum', async () => {
    const pool = track(
      await WasmPool.create({
        modules: { imported: { source: fixture('imported-memory'), memoryLimitMb: 1 } },
        minWorkers: 1,
        maxWorkers: 1,
      }),
    );
    const call = (fn: string, params: number[] = []) =>
      pool.run({ module: 'imported', function: fn, params });
    await expect(call('grow', [16])).resolves.toBe(-1); // 17 pages > 1 MiB
    await expect(call('grow', [15])).resolves.toBe(1);
    await expect(call('grow', [1])).resolves.toBe(-1);
    await expect(call('pages')).resolves.toBe(16);
  });

  test('a module whose initial memory exceeds its limit is refused with INVALID_MODULE giving both sizes', async () => {
    const big = fixture('big-initial');
    const refused = await rejectionOf(
      WasmPool.create({ modules: { big: { source: big, memoryLimitMb: 1 } }, minWorkers: 1, maxWorkers: 1 }),
    );
    expect(refused.code).toBe('INVALID_MODULE');
    expect(refused.message).toMatch(/6\.25 MiB|100 pages/);
    expect(refused.message).toMatch(/\b1 MiB|16 pages/);
    // The pool default applies too.
    await expect(
      WasmPool.create({ modules: { big: { source: big } }, memoryLimitMb: 6, minWorkers: 0, maxWorkers: 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_MODULE', message: expect.stringMatching(/100 pages/) });

    const pool = await onePool();
    const viaRegister = await rejectionOf(pool.registerModule('big', { source: big, memoryLimitMb: 1 }));
    expect(viaRegister.code).toBe('INVALID_MODULE');
    expect(viaRegister.message).toMatch(/100 pages/);
    expect(viaRegister.message).toMatch(/16 pages/);
    expect(pool.modules().map((m) => m.name)).toEqual(['faults']);
    // With room for its 100 pages (7 MiB = 112 pages) it is accepted.
    await expect(pool.registerModule('big', { source: big, memoryLimitMb: 7 })).resolves.toMatchObject({
      memoryLimitMb: 7,
    });
    await expect(pool.run({ module: 'big', function: 'pages' })).resolves.toBe(100);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });

  test.each([0, 1 / 32, 5000, -1, Number.NaN])(
    'memoryLimitMb %p is refused with INVALID_CONFIG',
    async (limit) => {
      await expect(
        WasmPool.create({ modules: { faults: { source: faults } }, memoryLimitMb: limit, minWorkers: 0 }),
      ).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/memoryLimitMb/) });
      await expect(
        WasmPool.create({ modules: { faults: { source: faults, memoryLimitMb: limit } }, minWorkers: 0 }),
      ).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/memoryLimitMb/) });
    },
  );

  test('limits are validated at registerModule too; 1/16 MiB (one page) and 4096 MiB are accepted', async () => {
    const pool = await onePool();
    await expect(
      pool.registerModule('tiny', { source: faults, memoryLimitMb: 1 / 32 }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    await expect(pool.registerModule('huge', { source: faults, memoryLimitMb: 4097 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    await expect(
      pool.registerModule('page', { source: faults, memoryLimitMb: 1 / 16 }),
    ).resolves.toMatchObject({
      memoryLimitMb: 1 / 16,
    });
    await expect(pool.run({ module: 'page', function: 'grow', params: [1] })).resolves.toBe(-1);
    await expect(pool.run({ module: 'page', function: 'pages' })).resolves.toBe(1);
    await expect(pool.registerModule('max', { source: faults, memoryLimitMb: 4096 })).resolves.toMatchObject({
      memoryLimitMb: 4096,
    });
    await expect(pool.run({ module: 'max', function: 'grow', params: [1] })).resolves.toBe(1);
    await expect(
      WasmPool.create({ modules: { faults: { source: faults } }, memoryLimitMb: 1 / 16, minWorkers: 0 }).then(
        (p) => track(p),
      ),
    ).resolves.toBeDefined();
  });

  test('stats().modules[name].memoryBytes accounts the memory held by live instances and follows growth', async () => {
    const pool = track(
      await WasmPool.create({
        modules: { faults: { source: faults, memoryLimitMb: 2 } },
        minWorkers: 2,
        maxWorkers: 2,
      }),
    );
    const memory = () => pool.stats().modules.faults;
    expect(memory()).toMatchObject({ instances: 2, memoryBytes: 2 * PAGE });
    // Both workers each grow their instance by 10 pages (one task per worker: the tasks block each other out).
    const results = await pool.runBatch([grow(10), grow(10)]);
    expect(results.map((r) => r.output)).toEqual([1, 1]);
    expect(memory().memoryBytes).toBe(22 * PAGE);
    // An instance that runs out is replaced by a fresh one: its memory goes back to one page.
    const exhausted = await pool.runBatch([{ module: 'faults', function: 'exhaust' }]);
    expect(exhausted[0]?.error?.code).toBe('OUT_OF_MEMORY');
    expect(memory().memoryBytes).toBe(12 * PAGE);
    expect(memory().instances).toBe(2);
  });
});

describe('2. timeouts', () => {
  test('taskTimeoutMs stops an endless loop with TIMEOUT; the worker carries on', async () => {
    const pool = await onePool({ taskTimeoutMs: 100 });
    const events = recordEvents(pool);
    const error = await rejectionOf(pool.run(loop));
    expect(error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/limit of 100 ms/) });
    expect(error.message).toMatch(/its worker kept/);
    await expect(pool.run(ok(1))).resolves.toBe(2);
    expect(events.exits).toEqual([]);
    expect(pool.stats().workerRestarts).toBe(0);
  });

  test('a module registered with instrument: false cannot be interrupted: TIMEOUT ends its worker, which is replaced', async () => {
    const pool = await onePool({ taskTimeoutMs: 100, modules: { faults: uninstrumented } });
    const events = recordEvents(pool);
    expect(pool.stats().workers.total).toBe(1);
    const error = await rejectionOf(pool.run(loop));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/limit of 100 ms/);
    expect(error.taskId).toEqual(expect.any(String));
    expect(events.exitReasons()).toEqual(['timeout']);
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    expect(events.creates).toHaveLength(1);
    expect(events.creates[0]?.id).not.toBe(events.exits[0]?.id);
    expect(pool.stats().workerRestarts).toBe(1);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });

  test("a task's own timeoutMs overrides taskTimeoutMs, on run() and on runBatch()", async () => {
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    const events = recordEvents(pool);
    const single = await rejectionOf(pool.run(loop, { timeoutMs: 50 }));
    expect(single).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/limit of 50 ms/) });
    const [result] = await pool.runBatch([loop], { timeoutMs: 60 });
    expect(result?.error).toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/limit of 60 ms/),
    });
    expect(events.exits).toEqual([]);
  });

  test('a task after idle spells and quick tasks with long limits still times out on its own limit', async () => {
    // The worker's watchdog outlives its quick tasks (armed for 60 s); the loop's deadline is sooner.
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      await expect(pool.run(ok(i))).resolves.toBe(i + 1);
      await sleep(5);
    }
    const started = performance.now();
    const error = await rejectionOf(pool.run(loop, { timeoutMs: 80 }));
    expect(error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/limit of 80 ms/) });
    expect(performance.now() - started).toBeLessThan(30_000);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });

  test('the TIMEOUT rejection arrives within 50 ms of the deadline', async () => {
    // Measured on an idle one-worker pool, so that the task starts as soon as it is sent:
    //  - upper bound: rejection time - (submission time + timeout); the task cannot start before it
    //    is submitted, so its deadline is at or after submission + timeout;
    //  - the pool's own account: "ran for X ms" from the worker's start stamp, at the moment the
    //    pool stopped it (X - timeout is the overrun as the pool saw it).
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    const timeoutMs = 40;
    const upperBounds: number[] = [];
    const overruns: number[] = [];
    for (let run = 0; run < 5; run++) {
      await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'an idle worker');
      const submitted = nowMs();
      const error = await rejectionOf(pool.run(loop, { timeoutMs }));
      const rejected = nowMs();
      expect(error.code).toBe('TIMEOUT');
      const report = reportedRun(error.message);
      expect(report?.limitMs).toBe(timeoutMs);
      upperBounds.push(rejected - submitted - timeoutMs);
      overruns.push((report?.ranMs ?? Infinity) - timeoutMs);
    }
    // Never early.
    expect(Math.min(...overruns)).toBeGreaterThanOrEqual(0);
    // The 50 ms, on the median of a conservative bound; every single run with CI slack.
    expect(median(upperBounds)).toBeLessThanOrEqual(50);
    expect(median(overruns)).toBeLessThanOrEqual(50);
    expect(Math.max(...upperBounds)).toBeLessThanOrEqual(50 + 200);
  });

  test('tasks sent to the same worker behind the looping one succeed', async () => {
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    const events = recordEvents(pool);
    // One worker: the whole batch goes to it, the loop first.
    const tasks = [ok(0), loop, ...Array.from({ length: 10 }, (_, i) => ok(i + 1))];
    const results = await pool.runBatch(tasks, { timeoutMs: 100 });
    expect(codes(results)).toEqual(['ok', 'TIMEOUT', ...Array(10).fill('ok')]);
    expect(results.map((r) => r.output)).toEqual([1, undefined, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // The same with run() calls of one tick (they travel together).
    const looping = outcomeOf(pool.run(loop, { timeoutMs: 100 }));
    const behind = Array.from({ length: 5 }, (_, i) => pool.run(ok(100 + i)));
    await expect(Promise.all(behind)).resolves.toEqual([101, 102, 103, 104, 105]);
    await expect(looping).resolves.toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(events.exits).toEqual([]);
    expect(pool.stats().failures).toEqual({ TIMEOUT: 2 });
  });

  test('replacement keeps the pool at minWorkers when several workers time out at once', async () => {
    // A module registered with instrument: false cannot be interrupted: each timeout ends its worker.
    const pool = track(
      await WasmPool.create({
        modules: { faults: uninstrumented },
        minWorkers: 2,
        maxWorkers: 3,
      }),
    );
    const events = recordEvents(pool);
    const results = await pool.runBatch([loop, loop, loop, ok(1)], { timeoutMs: 50 });
    expect(codes(results)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT', 'ok']);
    expect(events.count('timeout')).toBe(3);
    await waitFor(() => settledAt(pool.stats(), 2) || settledAt(pool.stats(), 3), 10_000, 'replacements');
    expect(pool.stats().workers.total).toBeGreaterThanOrEqual(2);
    expect(pool.stats().workerRestarts).toBe(3);
    await expect(pool.runBatch([ok(1), ok(2), ok(3)])).resolves.toMatchObject([
      { output: 2 },
      { output: 3 },
      { output: 4 },
    ]);
  });
});

describe('3. cancellation with AbortSignal', () => {
  test('a waiting task leaves the queue at once, fails with ABORTED and never runs', async () => {
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    const events = recordEvents(pool);
    const completions = new Map<string, number>();
    pool.on('taskComplete', (result) => completions.set(result.id, (completions.get(result.id) ?? 0) + 1));
    const stopLoop = new AbortController();
    const looping = outcomeOf(pool.run(loop, { signal: stopLoop.signal }));
    await sleep(5);
    // A second message fills the worker's pipeline; the target then waits in the pool's queue.
    const filler = outcomeOf(pool.run(pages));
    await sleep(5);
    const cancel = new AbortController();
    const target = outcomeOf(pool.run({ id: 'target', ...grow(1) }, { signal: cancel.signal }));
    // stats().queued counts what has not started: the filler (handed to the worker) and the target.
    await waitFor(() => pool.stats().queued === 2, 5000, 'the target to wait in the queue');
    expect(pool.stats().running).toBe(1);
    cancel.abort(new Error('not needed'));
    // Synchronously out of the queue; the loop still holds the worker.
    expect(pool.stats()).toMatchObject({ queued: 1, running: 1 });
    await expect(target).resolves.toEqual({
      ok: false,
      code: 'ABORTED',
      message: 'the task was aborted: not needed',
      taskId: 'target',
    });
    expect(events.exits).toEqual([]);
    stopLoop.abort();
    await expect(looping).resolves.toMatchObject({ ok: false, code: 'ABORTED' });
    await expect(filler).resolves.toEqual({ ok: true, value: 1 });
    // The target (grow by one page) never ran: the only worker's instance still has one page.
    await expect(pool.run(pages)).resolves.toBe(1);
    expect(completions.get('target')).toBe(1);
    expect(events.exits).toEqual([]);
  });

  test('a running task is stopped: ABORTED, and its worker carries on', async () => {
    const pool = await onePool({ taskTimeoutMs: 60_000 });
    const events = recordEvents(pool);
    const controller = new AbortController();
    const running = outcomeOf(pool.run(loop, { signal: controller.signal }));
    await waitFor(() => pool.stats().workers.busy === 1, 5000, 'the loop to run');
    controller.abort('user gave up');
    await expect(running).resolves.toMatchObject({
      ok: false,
      code: 'ABORTED',
      message: 'the task was aborted: user gave up',
    });
    await expect(pool.run(ok(1))).resolves.toBe(2);
    expect(events.exits).toEqual([]);
    expect(pool.stats().workerRestarts).toBe(0);
  });

  test('a running task of a module registered with instrument: false is stopped by replacing its worker', async () => {
    const pool = await onePool({ taskTimeoutMs: 60_000, modules: { faults: uninstrumented } });
    const events = recordEvents(pool);
    const controller = new AbortController();
    const running = outcomeOf(pool.run(loop, { signal: controller.signal }));
    await waitFor(() => pool.stats().workers.busy === 1, 5000, 'the loop to run');
    await sleep(30);
    controller.abort('user gave up');
    await expect(running).resolves.toMatchObject({
      ok: false,
      code: 'ABORTED',
      message: 'the task was aborted: user gave up',
    });
    expect(events.exitReasons()).toEqual(['aborted']);
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    expect(pool.stats().workerRestarts).toBe(1);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });

  test('runBatch(): unsettled tasks fail with ABORTED, settled ones keep their results', async () => {
    const pool = track(
      await WasmPool.create({
        modules: { faults: { source: faults } },
        minWorkers: 2,
        maxWorkers: 2,
        taskTimeoutMs: 60_000,
      }),
    );
    const events = recordEvents(pool);
    const controller = new AbortController();
    let done = 0;
    const tasks = [loop, ...Array.from({ length: 15 }, (_, i) => ok(i))];
    const batch = pool.runBatch(tasks, { signal: controller.signal, onProgress: (count) => (done = count) });
    // Some tasks settled, and the loop runs (the only task that keeps a worker executing).
    await waitFor(() => done >= 1, 5000, 'some tasks to settle');
    await sleep(20);
    await waitFor(() => pool.stats().running === 1, 5000, 'the loop to run');
    const settledBeforeAbort = done;
    controller.abort();
    const results = await batch;
    expect(results).toHaveLength(tasks.length);
    const successes = results.filter((r) => r.success);
    expect(successes).toHaveLength(settledBeforeAbort);
    expect(settledBeforeAbort).toBeGreaterThanOrEqual(1);
    expect(settledBeforeAbort).toBeLessThan(tasks.length);
    results.forEach((result, i) => {
      if (result.success) expect(result.output).toBe((tasks[i]?.params?.[0] as number) + 1);
      else expect(result.error?.code).toBe('ABORTED');
    });
    expect(results[0]?.error?.code).toBe('ABORTED');
    // The loop stops at its next check: no worker is ended.
    await expect(pool.run(ok(1))).resolves.toBe(2);
    expect(events.exits).toEqual([]);
  });

  test('an already-aborted signal fails at once with ABORTED, and nothing is queued', async () => {
    const pool = await onePool();
    const signal = AbortSignal.abort('too late');
    await expect(pool.run(ok(1), { signal })).rejects.toMatchObject({
      code: 'ABORTED',
      message: 'the task was aborted: too late',
    });
    const results = await pool.runBatch([ok(1), ok(2), loop], { signal });
    expect(codes(results)).toEqual(['ABORTED', 'ABORTED', 'ABORTED']);
    expect(pool.stats()).toMatchObject({ queued: 0, running: 0, completed: 0 });
    expect(pool.stats().failures.ABORTED).toBe(4);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });

  /**
   * One worker: `busy` runs while the tasks `submit` adds in the same tick (one message) wait in the
   * worker's hands behind it. Resolves, once that is the case, with busy's promise (wrapped: an async
   * function returning a promise would wait for it).
   */
  async function handedBehindBusy(pool: WasmPool, submit: () => void): Promise<{ first: Promise<unknown> }> {
    const first = pool.run({ module: 'faults', function: 'busy', params: [300_000_000] });
    submit();
    await waitFor(
      () => pool.stats().running === 1 && pool.stats().queued === 2,
      5000,
      'two tasks handed to the worker behind a running one',
    );
    return { first };
  }

  test('run(): an aborted task already handed to a busy worker never runs, nor holds the worker', async () => {
    const pool = await onePool({ taskTimeoutMs: 4000 });
    const events = recordEvents(pool);
    const controller = new AbortController();
    const handed: Promise<Outcome>[] = [];
    const { first } = await handedBehindBusy(pool, () => {
      handed.push(outcomeOf(pool.run(grow(1), { signal: controller.signal })));
      handed.push(outcomeOf(pool.run(loop, { signal: controller.signal })));
    });
    controller.abort();
    await expect(Promise.all(handed)).resolves.toMatchObject([
      { ok: false, code: 'ABORTED' },
      { ok: false, code: 'ABORTED' },
    ]);
    await first;
    const started = performance.now();
    // Same worker, same instance: grow(1) was skipped, and the loop does not hold the worker
    // (far below taskTimeoutMs, 4000 ms).
    await expect(pool.run(pages)).resolves.toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(events.exits).toEqual([]);
  });

  // Aborting a runBatch() cancels its tasks already handed to a worker behind another block's task:
  // they are skipped there, so an endless one does not hold the worker until taskTimeoutMs.
  test('runBatch(): an aborted task already handed to a busy worker does not hold the worker', async () => {
    const pool = await onePool({ taskTimeoutMs: 4000 });
    const events = recordEvents(pool);
    const controller = new AbortController();
    const batches: Promise<WasmResult[]>[] = [];
    const { first } = await handedBehindBusy(pool, () => {
      batches.push(pool.runBatch([grow(1), loop], { signal: controller.signal }));
    });
    controller.abort();
    expect(codes((await batches[0]) ?? [])).toEqual(['ABORTED', 'ABORTED']);
    await first;
    const started = performance.now();
    await expect(pool.run(pages)).resolves.toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(events.exits).toEqual([]);
  });
});

describe('4. stack overflow', () => {
  test('deep recursion fails with STACK_OVERFLOW and the worker carries on', async () => {
    const pool = await onePool();
    const events = recordEvents(pool);
    const error = await rejectionOf(pool.run({ module: 'faults', function: 'recurse', params: [0] }));
    expect(error.code).toBe('STACK_OVERFLOW');
    expect(error.message).toMatch(/stack/i);
    const results = await pool.runBatch([
      ok(1),
      { module: 'faults', function: 'recurse', params: [0] },
      ok(2),
      pages,
    ]);
    expect(codes(results)).toEqual(['ok', 'STACK_OVERFLOW', 'ok', 'ok']);
    expect(results.map((r) => r.output)).toEqual([2, undefined, 3, 1]);
    expect(events.exits).toEqual([]);
    expect(events.creates).toEqual([]);
    expect(pool.stats().workerRestarts).toBe(0);
  });

  test('also with a small worker stack (resourceLimits.stackSizeMb)', async () => {
    const pool = await onePool({ resourceLimits: { stackSizeMb: 1 } });
    const events = recordEvents(pool);
    for (let i = 0; i < 3; i++) {
      await expect(pool.run({ module: 'faults', function: 'recurse', params: [0] })).rejects.toMatchObject({
        code: 'STACK_OVERFLOW',
      });
      await expect(pool.run(ok(i))).resolves.toBe(i + 1);
    }
    expect(events.exits).toEqual([]);
  });
});

describe('5. crashes', () => {
  const broken = brokenHostImports();
  afterAll(() => broken.cleanup());

  test('a worker that exits while running a task: that task fails WORKER_CRASHED, the others succeed', async () => {
    const pool = track(
      await WasmPool.create({ modules: { faults: { source: faults }, host }, minWorkers: 2, maxWorkers: 2 }),
    );
    const events = recordEvents(pool);
    const exit: WasmTask = { module: 'host', function: 'exit' };
    const hostOk: WasmTask = { module: 'host', function: 'ok' };
    const tasks = [...[0, 1, 2, 3, 4].map(ok), exit, ...[5, 6, 7, 8, 9].map(ok), hostOk];
    const results = await pool.runBatch(tasks);
    expect(codes(results)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'WORKER_CRASHED',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect(results.map((r) => r.output)).toEqual([1, 2, 3, 4, 5, undefined, 6, 7, 8, 9, 10, 7]);
    expect(results[5]?.error?.message).toMatch(/exited with code 3/);
    expect(events.exitReasons()).toEqual(['crashed']);
    await waitFor(() => settledAt(pool.stats(), 2), 10_000, 'a replacement worker');
    expect(pool.stats().workerRestarts).toBe(1);
    // One worker: the tasks behind the crashing one in its message run on the replacement.
    const single = await onePool({ modules: { faults: { source: faults }, host } });
    const behind = await single.runBatch([ok(1), exit, ok(2), ok(3)]);
    expect(codes(behind)).toEqual(['ok', 'WORKER_CRASHED', 'ok', 'ok']);
    expect(behind.map((r) => r.output)).toEqual([2, undefined, 3, 4]);
  });

  test('JS heap exhaustion in a host import fails the task with WORKER_CRASHED; the worker is replaced', async () => {
    const pool = await onePool({
      modules: { host },
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    const events = recordEvents(pool);
    const error = await rejectionOf(pool.run({ module: 'host', function: 'hog' }));
    expect(error.code).toBe('WORKER_CRASHED');
    expect(error.message).toMatch(/memory/i);
    expect(events.exitReasons()).toEqual(['crashed']);
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    await expect(pool.run({ module: 'host', function: 'ok' })).resolves.toBe(7);
  });

  test('an uncaught error in a worker: the worker is replaced and no task is lost', async () => {
    const pool = await onePool({ modules: { faults: { source: faults }, host } });
    const events = recordEvents(pool);
    // throw_async returns normally, then throws from setImmediate: the worker dies after the task.
    const results = await pool.runBatch([{ module: 'host', function: 'throw_async' }, ok(1), ok(2)]);
    expect(results.map((r) => r.success)).toEqual([true, true, true]);
    await waitFor(() => events.count('crashed') >= 1, 5000, 'the worker to crash');
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    await expect(pool.runBatch([ok(3), ok(4)])).resolves.toMatchObject([{ output: 4 }, { output: 5 }]);
  });

  test('create() rejects with a clear message when its workers die while starting', async () => {
    const error = await rejectionOf(
      WasmPool.create({
        modules: { bad: { source: fixture('host'), hostImports: broken.exitAtLoad } },
        minWorkers: 2,
        maxWorkers: 2,
      }),
    );
    // Issue 12: the module that ends the workers is named, and refused.
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/could not start its workers/);
    expect(error.message).toMatch(
      /module 'bad' cannot be instantiated: worker \d+ exited with code 1 while instantiating it/,
    );
  });

  // Issue 12: a module that ends the worker instantiating it is removed before that worker is
  // replaced, so that replacements start (and unrelated tasks are not failed with WORKER_CRASHED).
  test('a registered module that ends every worker loading it is removed at the first death, and the pool serves on', async () => {
    const pool = track(
      await WasmPool.create({
        modules: {
          bad: { source: fixture('host'), hostImports: broken.exitAtLoad },
          faults: { source: faults },
        },
        minWorkers: 0,
        maxWorkers: 2,
      }),
    );
    const events = recordEvents(pool);
    const results = await pool.runBatch([
      { module: 'bad', function: 'ok' },
      { module: 'faults', function: 'ok', params: [1] },
    ]);
    expect(results[0]).toMatchObject({ success: false, error: { code: 'INVALID_MODULE' } });
    expect(results[1]).toMatchObject({ success: true, output: 2 });
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]?.message).toMatch(
      /module 'bad' cannot be instantiated: worker \d+ exited with code 1 while instantiating it; module 'bad' was removed/,
    );
    expect(events.count('startup-failed')).toBe(1);
    await sleep(300);
    expect(events.count('startup-failed')).toBe(1);
    await expect(pool.run({ module: 'bad', function: 'ok' })).rejects.toMatchObject({
      code: 'MODULE_NOT_FOUND',
    });
    await expect(pool.run({ module: 'faults', function: 'ok', params: [2] })).resolves.toBe(3);
  });

  test('registering a module that kills every worker loading it: the pool emits error and stops restarting', async () => {
    const pool = track(
      await WasmPool.create({ modules: { faults: { source: faults } }, minWorkers: 1, maxWorkers: 2 }),
    );
    const events = recordEvents(pool);
    await outcomeOf(pool.registerModule('bad', { source: fixture('host'), hostImports: broken.exitAtLoad }));
    await waitFor(
      () => events.errors.length >= 1 || settledAt(pool.stats(), 1),
      10_000,
      'an error or recovery',
    );
    const exits = events.exits.length;
    expect(exits).toBeLessThanOrEqual(6);
    await sleep(300);
    expect(events.exits.length).toBe(exits);
  });

  // registerModule() rejects when every worker died instantiating the module, which is not kept.
  test('registerModule() rejects a module whose host imports kill the worker, and the pool keeps serving', async () => {
    const pool = track(
      await WasmPool.create({ modules: { faults: { source: faults } }, minWorkers: 1, maxWorkers: 2 }),
    );
    pool.on('error', () => undefined);
    const registered = await outcomeOf(
      pool.registerModule('bad', { source: fixture('host'), hostImports: broken.exitAtLoad }),
    );
    expect(registered.ok).toBe(false);
    expect(pool.modules().map((m) => m.name)).toEqual(['faults']);
    await expect(pool.run(ok(1))).resolves.toBe(2);
  });
});

describe('6. recycling by memory (workerMemoryLimitMb)', () => {
  test('a worker whose JS heap plus wasm memory passes the mark is retired after its task and replaced', async () => {
    // A worker's JS heap is about 6 MiB at rest: 16 MiB is passed only once wasm memory grows ~12.5 MiB.
    const pool = await onePool({
      modules: { faults: { source: faults, memoryLimitMb: 64 } },
      workerMemoryLimitMb: 16,
    });
    const events = recordEvents(pool);
    const warm = await pool.runBatch(Array.from({ length: 50 }, (_, i) => ok(i)));
    expect(warm.every((r, i) => r.output === i + 1)).toBe(true);
    expect(events.exits).toEqual([]);
    const [grown, ...rest] = await pool.runBatch([grow(200), ok(1), ok(2)]);
    expect(grown?.output).toBe(1);
    expect(rest.map((r) => r.output)).toEqual([2, 3]);
    await waitFor(() => events.exits.length === 1, 5000, 'the worker to be retired');
    expect(events.exitReasons()).toEqual(['memory']);
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    expect(events.creates).toHaveLength(1);
    // A fresh worker with a fresh instance.
    await expect(pool.run(pages)).resolves.toBe(1);
    expect(pool.stats().modules.faults?.memoryBytes).toBe(PAGE);
    expect(pool.stats().workerRestarts).toBe(1);
  });
});

describe('7. maxTasksPerWorker', () => {
  test('recycles a worker after that many tasks, failed ones included; every result is right', async () => {
    const pool = await onePool({ maxTasksPerWorker: 5 });
    const events = recordEvents(pool);
    const tasks = Array.from({ length: 23 }, (_, i) =>
      i % 4 === 3 ? { module: 'faults', function: 'trap' } : ok(i),
    );
    const results = await pool.runBatch(tasks);
    results.forEach((result, i) => {
      if (i % 4 === 3) expect(result.error?.code).toBe('TRAP');
      else expect(result.output).toBe(i + 1);
    });
    await waitFor(() => settledAt(pool.stats(), 1), 10_000, 'a replacement worker');
    expect(events.exitReasons()).toEqual(['recycled', 'recycled', 'recycled', 'recycled']);
    expect(events.creates).toHaveLength(4);
    expect(pool.stats().workerRestarts).toBe(4);
  });
});
