import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { WasmPool, WasmPoolError, type WasmTask } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools, waitFor } from './helpers';

const track = trackPools();

async function pool(options: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      modules: {
        math: { source: example('math') },
        faults: { source: fixture('faults') },
        sha256: { source: example('sha256') },
      },
      ...options,
    }),
  );
}

const add = (a: number, b: number): WasmTask => ({ module: 'math', function: 'add', params: [a, b] });

/** A Uint8Array whose buffer has been transferred away (detached). */
function detachedBytes(): Uint8Array {
  const bytes = new Uint8Array(16);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [bytes.buffer]);
  port1.close();
  port2.close();
  return bytes;
}

/** The array with a hole at index 1. */
function holeAt1(tasks: WasmTask[]): WasmTask[] {
  delete tasks[1];
  return tasks;
}

/** A task whose `name` getter throws. */
function throwingTask(name: 'module' | 'function' | 'params' | 'id'): WasmTask {
  const task = { module: 'math', function: 'add', params: [1, 2] } as Record<string, unknown>;
  Object.defineProperty(task, name, {
    get() {
      throw new Error(`getter of ${name} throws`);
    },
  });
  return task as unknown as WasmTask;
}

describe('caller faults are typed and contained', () => {
  test('a Uint8Array over a detached buffer is refused; the next task gets its own result', async () => {
    const p = await pool();
    const errors: unknown[] = [];
    const onError = (error: unknown): void => void errors.push(error);
    process.on('uncaughtException', onError);
    try {
      const refused = rejectionOf(
        p.run({ module: 'sha256', function: 'sha256', params: [detachedBytes()], output: 'bytes' }),
      );
      const next = p.run(add(20, 22));
      expect(await refused).toMatchObject({
        code: 'INVALID_PARAMS',
        message: expect.stringMatching(/detached/),
      });
      await expect(next).resolves.toBe(42);
      const batch = await p.runBatch([
        { module: 'sha256', function: 'sha256', params: [detachedBytes()], output: 'bytes' },
        add(1, 2),
      ]);
      expect(batch.map((r) => r.error?.code ?? r.output)).toEqual(['INVALID_PARAMS', 3]);
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(errors).toEqual([]);
  });

  test('params are read once, at acceptance: later changes cannot change or break the task', async () => {
    const p = await pool();
    const params: (number | bigint)[] = [1, 2];
    const running = p.run<number>({ module: 'math', function: 'add', params });
    params[0] = 0.5;
    params.length = 0;
    await expect(running).resolves.toBe(3);

    const big: (number | bigint)[] = [2n ** 40n, 1n];
    const running64 = p.run<bigint>({ module: 'math', function: 'add64', params: big });
    big[0] = 7; // a number where a bigint was: would throw a RangeError if read again
    await expect(running64).resolves.toBe(2n ** 40n + 1n);

    const bytes = new TextEncoder().encode('abc');
    const digest = p.run<Uint8Array>({
      module: 'sha256',
      function: 'sha256',
      params: [bytes],
      output: 'bytes',
    });
    bytes.fill(0);
    expect(Buffer.from(await digest).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );

    const task = add(5, 5);
    const batch = p.runBatch([task]);
    (task as { module: string }).module = 'nope';
    (task.params as number[])[0] = 100;
    expect((await batch)[0]!.output).toBe(10);
  });

  test('abort with a reason that has no toString still aborts a running task', async () => {
    const p = await pool();
    const controller = new AbortController();
    const running = p.run({ module: 'faults', function: 'loop_forever' }, { signal: controller.signal });
    await waitFor(() => p.stats().running === 1, 5_000, 'the task to start');
    controller.abort(Object.create(null));
    expect(await rejectionOf(running)).toMatchObject({ code: 'ABORTED' });
    await expect(p.run(add(1, 1))).resolves.toBe(2);
  });

  test('a throwing taskComplete listener loses no task; the exception surfaces on the error event', async () => {
    const p = await pool();
    const errors: Error[] = [];
    p.on('error', (error) => errors.push(error));
    p.on('taskComplete', () => {
      throw new Error('listener fault');
    });
    const results = await p.runBatch(Array.from({ length: 1_000 }, (_, i) => add(i, 1)));
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    await expect(p.run(add(2, 2))).resolves.toBe(4);
    expect(errors.length).toBe(1_001);
    expect(errors[0]!.message).toMatch(/'taskComplete' listener threw: listener fault/);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, completed: 1_001 });
  });

  test('a throwing workerExit listener does not stall a batch whose worker crashed', async () => {
    const p = await pool();
    p.on('workerExit', () => {
      throw new Error('exit listener fault');
    });
    const tasks: WasmTask[] = Array.from({ length: 200 }, (_, i) =>
      i === 50 ? { module: 'faults', function: 'loop_forever' } : add(i, 0),
    );
    const results = await p.runBatch(tasks, { timeoutMs: 200 });
    expect(results[50]!.error?.code).toBe('TIMEOUT');
    expect(results.filter((r) => r.success)).toHaveLength(199);
  });

  test('throwing workerCreate and error listeners do not stall a pool that grows from no worker', async () => {
    const p = await pool({ minWorkers: 0 });
    const seen: string[] = [];
    p.on('workerCreate', (id) => {
      seen.push(`create ${id}`);
      throw Object.create(null) as Error;
    });
    p.on('error', (error) => {
      seen.push(error.message);
      throw new Error('error listener fault');
    });
    const results = await p.runBatch(Array.from({ length: 100 }, (_, i) => add(i, 1)));
    expect(results.every((r, i) => r.output === i + 1)).toBe(true);
    expect(seen).toContain("a 'workerCreate' listener threw: object");
  });

  test('bad options: null, numbers and strings are INVALID_PARAMS, never a TypeError', async () => {
    const p = await pool();
    for (const options of [null, 5, 'x', [], true]) {
      expect(await rejectionOf(p.run(add(1, 1), options as never))).toMatchObject({ code: 'INVALID_PARAMS' });
      expect(await rejectionOf(p.runBatch([add(1, 1)], options as never))).toMatchObject({
        code: 'INVALID_PARAMS',
      });
    }
    for (const tasks of [null, undefined, 5, 'tasks', {}]) {
      expect(await rejectionOf(p.runBatch(tasks as never))).toMatchObject({ code: 'INVALID_PARAMS' });
    }
    const getter = {
      get timeoutMs(): number {
        throw new Error('no');
      },
    };
    expect(await rejectionOf(p.run(add(1, 1), getter))).toMatchObject({ code: 'INVALID_PARAMS' });
  });

  test('throwing getters on a task are INVALID_PARAMS with a code, in run() and runBatch()', async () => {
    const p = await pool();
    for (const name of ['module', 'function', 'params', 'id'] as const) {
      const error = await rejectionOf(p.run(throwingTask(name)));
      expect(error).toBeInstanceOf(WasmPoolError);
      expect(error).toMatchObject({
        code: 'INVALID_PARAMS',
        message: expect.stringContaining(`getter of ${name}`),
      });
    }
    const params = [1, 2];
    Object.defineProperty(params, 1, {
      get() {
        throw new Error('element getter');
      },
    });
    expect(await rejectionOf(p.run({ module: 'math', function: 'add', params }))).toMatchObject({
      code: 'INVALID_PARAMS',
    });
    const results = await p.runBatch([throwingTask('module'), add(1, 2), throwingTask('params')]);
    expect(results.map((r) => r.error?.code ?? r.output)).toEqual(['INVALID_PARAMS', 3, 'INVALID_PARAMS']);
    const failures = p.stats().failures;
    expect(Object.keys(failures).sort()).toEqual(['INVALID_PARAMS']);
  });

  test('a sparse batch: one failed result per hole, the tasks present run', async () => {
    const p = await pool();
    const tasks: WasmTask[] = [add(1, 1)];
    tasks.length = 2_000_000;
    tasks[1_999_999] = add(2, 2);
    const results = await p.runBatch(tasks);
    expect(results).toHaveLength(2_000_000);
    expect(results[0]!.output).toBe(2);
    expect(results[1_999_999]!.output).toBe(4);
    expect(results[1]).toMatchObject({ id: '1', success: false, error: { code: 'INVALID_PARAMS' } });
    expect(results[1_999_998]!.id).toBe('1999998');
    expect(p.stats().failures.INVALID_PARAMS).toBe(1_999_998);
  });

  test('a batch array whose element getter or proxy trap throws: that task fails, the batch resolves', async () => {
    const p = await pool();
    const tasks = [add(1, 1), add(2, 2), add(3, 3)];
    Object.defineProperty(tasks, 1, {
      get() {
        throw new Error('element getter of the batch');
      },
    });
    const results = await p.runBatch(tasks);
    expect(results.map((r) => r.error?.code ?? r.output)).toEqual([2, 'INVALID_PARAMS', 6]);
    expect(results[1]!.error!.message).toContain('element getter of the batch');
    // A proxy whose `has` trap throws at a hole, and one whose `get` trap throws for one index.
    const holey = new Proxy(holeAt1([add(1, 1), add(0, 0), add(5, 5)]), {
      has() {
        throw new Error('has trap');
      },
    });
    expect((await p.runBatch(holey)).map((r) => r.error?.code ?? r.output)).toEqual([
      2,
      'INVALID_PARAMS',
      10,
    ]);
    const trapping = new Proxy([add(1, 1), add(4, 4)], {
      get(target, key, receiver) {
        if (key === '0') throw new Error('get trap');
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect((await p.runBatch(trapping)).map((r) => r.error?.code ?? r.output)).toEqual(['INVALID_PARAMS', 8]);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, failed: 3 });
  });

  test('a batch length no heap can hold is INVALID_PARAMS up front, never a RangeError or an abort', async () => {
    const p = await pool();
    const sparse: WasmTask[] = [add(1, 1)];
    sparse.length = 2 ** 32 - 1;
    const huge = await rejectionOf(p.runBatch(sparse));
    expect(huge).toBeInstanceOf(WasmPoolError);
    expect(huge).toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('stream()') });
    const lying = new Proxy([add(1, 1)], {
      get: (target, key) => (key === 'length' ? 2 ** 40 : (Reflect.get(target, key) as unknown)),
    });
    expect(await rejectionOf(p.runBatch(lying))).toMatchObject({ code: 'INVALID_PARAMS' });
    const throwing = new Proxy([add(1, 1)], {
      get: (target, key) => {
        if (key === 'length') throw new Error('length trap');
        return Reflect.get(target, key) as unknown;
      },
    });
    expect(await rejectionOf(p.runBatch(throwing))).toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('length trap'),
    });
    // Nothing was accepted, and the pool serves on.
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, completed: 0 });
    await expect(p.runBatch([add(2, 3)])).resolves.toMatchObject([{ output: 5 }]);
  });

  test('a Uint8Array subclass cannot lie about its length; a proxy of one is refused', async () => {
    const p = await pool();
    class Liar extends Uint8Array {
      override get length(): number {
        return 1e9;
      }
      override get byteLength(): number {
        return 1e9;
      }
    }
    const liar = new Liar(8).fill(7);
    const expected = createHash('sha256').update(new Uint8Array(8).fill(7)).digest();
    const digest = await p.run<Uint8Array>({
      module: 'sha256',
      function: 'sha256',
      params: [liar],
      output: 'bytes',
    });
    expect(Buffer.from(digest).equals(expected)).toBe(true);
    const proxy = new Proxy(new Uint8Array(8), {});
    const refused = await rejectionOf(
      p.run({ module: 'sha256', function: 'sha256', params: [proxy], output: 'bytes' }),
    );
    expect(refused).toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('param 0') });
    expect(p.stats().failures).toEqual({ INVALID_PARAMS: 1 });
  });

  test('methods work detached from the pool; destroy() called again and again tears down once', async () => {
    const p = await pool();
    const { run, runBatch, stats, destroy } = p;
    await expect(run(add(2, 3))).resolves.toBe(5);
    await expect(runBatch([add(1, 1)])).resolves.toMatchObject([{ output: 2 }]);
    expect(stats().completed).toBe(2);
    const exits: string[] = [];
    p.on('workerExit', (id, reason) => exits.push(`${id} ${reason}`));
    // run() from a listener while destroy() settles the tasks: refused, the pool is closed.
    const lateRuns: Promise<unknown>[] = [];
    // A taskComplete listener that destroys the pool on every result, as callers have written.
    p.on('taskComplete', () => {
      void destroy();
      if (lateRuns.length < 3) lateRuns.push(run(add(1, 1)).catch((error: WasmPoolError) => error.code));
    });
    const results = await runBatch(Array.from({ length: 500 }, (_, i) => add(i, 1)));
    expect(
      results.filter((r) => r.success).length + results.filter((r) => r.error?.code === 'POOL_CLOSED').length,
    ).toBe(500);
    const first = destroy();
    expect(destroy()).toBe(first);
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(p.stats().workers.total).toBe(0);
    // Each worker was ended once (a re-entered teardown ended each again and again).
    expect(exits.sort()).toEqual([...new Set(exits)].sort());
    expect(exits).toHaveLength(2);
    expect(await Promise.all(lateRuns)).toEqual(lateRuns.map(() => 'POOL_CLOSED'));
  });

  test('one signal shared by many calls carries one listener; aborting it aborts them all', async () => {
    const p = await pool();
    const controller = new AbortController();
    const { signal } = controller;
    const endless: WasmTask = { module: 'faults', function: 'loop_forever' };
    const runs = Array.from({ length: 50 }, () =>
      p.run(endless, { signal }).then(
        () => 'resolved',
        (error: WasmPoolError) => error.code,
      ),
    );
    const batch = p.runBatch([endless, endless], { signal });
    const results: string[] = [];
    const streamed = (async () => {
      for await (const result of p.stream([endless, endless], { signal })) results.push(result.error!.code);
    })();
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 50 }, () => 'ABORTED'));
    expect((await batch).map((r) => r.error?.code)).toEqual(['ABORTED', 'ABORTED']);
    await streamed;
    expect(results).toEqual(['ABORTED', 'ABORTED']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0 });
  });

  test('every method of a closed pool rejects with POOL_CLOSED', async () => {
    const p = await pool();
    await p.close();
    expect(await rejectionOf(p.run(add(1, 1)))).toMatchObject({ code: 'POOL_CLOSED' });
    expect(await rejectionOf(p.runBatch([add(1, 1)]))).toMatchObject({ code: 'POOL_CLOSED' });
    expect(await rejectionOf(p.registerModule('x', { source: example('math') }))).toMatchObject({
      code: 'POOL_CLOSED',
    });
    await expect(p.unregisterModule(42 as never)).resolves.toBe(false);
  });
});
