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
