import { availableParallelism } from 'node:os';
import { WasmPool, WasmPoolError } from '@wasmpool/pool';
import { resolveOptions } from '../src/options';

function configError(run: () => unknown): WasmPoolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WasmPoolError);
    expect((error as WasmPoolError).code).toBe('INVALID_CONFIG');
    return error as WasmPoolError;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('options', () => {
  test('defaults when nothing is given', () => {
    const options = resolveOptions({}, {});
    expect(options).toMatchObject({
      idleTimeoutMs: 300_000,
      maxQueue: 100_000,
      taskTimeoutMs: 5_000,
      memoryLimitMb: 64,
      maxTasksPerWorker: 0,
      enableJit: true,
      workerMemoryLimitMb: 0,
      niceIncrement: 0,
    });
    expect(options.maxWorkers).toBeGreaterThanOrEqual(1);
    expect(options.minWorkers).toBeLessThanOrEqual(options.maxWorkers);
  });

  test('environment variables give defaults', () => {
    const options = resolveOptions(
      {},
      {
        WASM_MAX_WORKERS: '6',
        WASM_INITIAL_WORKERS: '3',
        WASM_MAX_MEMORY_MB: '32',
        WASM_IDLE_TIMEOUT_SECS: '7',
        WASM_ENABLE_JIT: 'false',
        WASM_TASK_TIMEOUT_MS: '250',
        WASM_MAX_QUEUE: '10',
      },
    );
    expect(options).toMatchObject({
      maxWorkers: 6,
      minWorkers: 3,
      memoryLimitMb: 32,
      idleTimeoutMs: 7000,
      enableJit: false,
      taskTimeoutMs: 250,
      maxQueue: 10,
    });
  });

  test('options win over environment variables', () => {
    expect(resolveOptions({ maxWorkers: 2 }, { WASM_MAX_WORKERS: '6' }).maxWorkers).toBe(2);
  });

  test.each([
    [{ maxWorkers: 0 }, /maxWorkers must be an integer from 1 to 1024; got 0/],
    [{ maxWorkers: 1.5 }, /maxWorkers must be an integer from 1 to 1024; got 1.5/],
    [{ minWorkers: -1 }, /minWorkers must be an integer from 0 to 1024/],
    [{ minWorkers: 4, maxWorkers: 2 }, /minWorkers .* not above maxWorkers; got 4 with maxWorkers 2/],
    [{ taskTimeoutMs: 0 }, /taskTimeoutMs must be an integer from 1 to 2147483647/],
    [{ memoryLimitMb: 0 }, /memoryLimitMb must be a number from 0.0625 .* to 4096/],
    [{ memoryLimitMb: 5000 }, /memoryLimitMb must be a number from 0.0625 .* to 4096/],
    [{ maxQueue: 0 }, /maxQueue must be an integer from 1/],
    [{ enableJit: 'yes' }, /enableJit must be true or false; got "yes"/],
    [{ idleTimeoutMs: -5 }, /idleTimeoutMs must be an integer from 0/],
    [{ resourceLimits: { stackSizeMb: -1 } }, /resourceLimits must be/],
    [{ niceIncrement: -1 }, /niceIncrement must be an integer from 0 to 19; got -1/],
    [{ niceIncrement: 20 }, /niceIncrement must be an integer from 0 to 19; got 20/],
    [{ niceIncrement: 2.5 }, /niceIncrement must be an integer from 0 to 19; got 2.5/],
    [{ bogus: 1 }, /unknown option 'bogus'/],
  ])('%j is refused with a message naming the option and its range', (options, message) => {
    const error = configError(() => resolveOptions(options as never, {}));
    expect(error.message).toMatch(message);
  });

  test('a bad environment variable is named in the error', () => {
    const error = configError(() => resolveOptions({}, { WASM_MAX_WORKERS: 'lots' }));
    expect(error.message).toMatch(
      /maxWorkers \(from WASM_MAX_WORKERS="lots"\) must be an integer from 1 to 1024/,
    );
    expect(configError(() => resolveOptions({}, { WASM_ENABLE_JIT: 'maybe' })).message).toMatch(
      /WASM_ENABLE_JIT/,
    );
  });

  test('minWorkers above maxWorkers is refused, whether maxWorkers is given or the default', () => {
    const cores = availableParallelism();
    expect(configError(() => resolveOptions({ minWorkers: cores + 3 }, {})).message).toMatch(
      new RegExp(`got ${cores + 3} with maxWorkers ${cores} \\(the default: ${cores} CPU cores`),
    );
    expect(
      configError(() => resolveOptions({}, { WASM_INITIAL_WORKERS: String(cores + 3) })).message,
    ).toMatch(/minWorkers \(from WASM_INITIAL_WORKERS=.*CPU cores/);
    configError(() => resolveOptions({ minWorkers: 3 }, { WASM_MAX_WORKERS: '2' }));
    expect(resolveOptions({ minWorkers: cores + 3, maxWorkers: cores + 3 }, {}).minWorkers).toBe(cores + 3);
  });

  test('create() rejects with INVALID_CONFIG', async () => {
    await expect(WasmPool.create({ maxWorkers: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(
      WasmPool.create({ modules: { x: { source: 'a.wasm', memoryLimitMb: 0 } } }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/modules.x.memoryLimitMb/),
    });
  });
});
