// Issue 12, points 1-4: tables and heaps capped, instantiation under a time limit, unsendable
// results, every memory capped and counted. The hostile modules are WAT fixtures (fixtures/*.wat).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmPool, type WasmPoolOptions } from '@wasmpool/pool';
import { resolveOptions } from '../src/options';
import { fixture, hostImportsPath, rejectionOf, trackPools } from './helpers';
import { recordEvents } from './helpers/limits-fixtures';

const track = trackPools();
const compiled = (name: string): WebAssembly.Module => new WebAssembly.Module(readFileSync(fixture(name)));
const ok = { source: fixture('faults') };
const pages = (n: number): number => n * 65536;

function pool(options: WasmPoolOptions): Promise<WasmPool> {
  return WasmPool.create({ minWorkers: 1, maxWorkers: 1, ...options }).then(track);
}

describe('tables (tableLimit) and worker heaps', () => {
  test('thirty 10,000,000-element tables are refused in every source form, before anything runs', async () => {
    const p = await pool({ modules: { ok } });
    for (const source of [
      fixture('huge-tables'),
      readFileSync(fixture('huge-tables')),
      compiled('huge-tables'),
    ]) {
      const error = await rejectionOf(p.registerModule('huge', { source }));
      expect(error).toMatchObject({ code: 'INVALID_MODULE' });
      expect(error.message).toMatch(
        /module 'huge': its table 0 of 10000000 elements exceeds its table limit of 10000/,
      );
    }
    const raised = await rejectionOf(
      p.registerModule('huge', { source: compiled('huge-tables'), tableLimit: 1_000_000 }),
    );
    expect(raised.code).toBe('INVALID_MODULE');
    await expect(p.run({ module: 'ok', function: 'ok', params: [1] })).resolves.toBe(2);
    expect(p.stats().workerRestarts).toBe(0);
  });

  test('tableLimit and instantiateTimeoutMs out of range are INVALID_CONFIG', async () => {
    await expect(WasmPool.create({ minWorkers: 0, tableLimit: 10_000_000 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/tableLimit must be an integer from 0 to 1000000/),
    });
    await expect(WasmPool.create({ minWorkers: 0, tableLimit: 1.5 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    await expect(WasmPool.create({ minWorkers: 0, instantiateTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/instantiateTimeoutMs must be an integer from 1/),
    });
    const p = await pool({ minWorkers: 0 });
    await expect(
      p.registerModule('t', { source: fixture('table-grow'), tableLimit: -1 }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/modules\.t\.tableLimit/),
    });
  });

  test('table.grow past the limit returns -1: defined tables, imported tables, pool and module limits', async () => {
    const p = await pool({
      tableLimit: 100,
      modules: {
        grow: { source: fixture('table-grow') },
        small: { source: fixture('table-grow'), tableLimit: 5 },
        imported: { source: fixture('imported-table'), tableLimit: 5 },
        imported0: { source: compiled('imported-table'), tableLimit: 2 },
      },
    });
    const run = (module: string, fn: string, params: number[] = []): Promise<unknown> =>
      p.run({ module, function: fn, params });
    await expect(run('grow', 'grow', [100])).resolves.toBe(0);
    await expect(run('grow', 'grow', [1])).resolves.toBe(-1);
    await expect(run('grow', 'size')).resolves.toBe(100);
    // Every one of the thirty tables is capped, not only the first (which is full already).
    await expect(run('grow', 'grow_all', [60])).resolves.toBe(1);
    await expect(run('grow', 'grow_all', [60])).resolves.toBe(30);
    await expect(run('small', 'grow', [6])).resolves.toBe(-1);
    await expect(run('small', 'grow', [5])).resolves.toBe(0);
    // The imported table starts at 2 elements; the worker creates it with the cap as its maximum.
    await expect(run('imported', 'grow', [3])).resolves.toBe(2);
    await expect(run('imported', 'grow', [1])).resolves.toBe(-1);
    await expect(run('imported0', 'grow', [1])).resolves.toBe(-1);
    await expect(run('imported0', 'size')).resolves.toBe(2);
  });

  test('tables that could hold more than 4,000,000 elements together are refused', async () => {
    const p = await pool({ minWorkers: 0 });
    const error = await rejectionOf(
      p.registerModule('t', { source: fixture('table-grow'), tableLimit: 1_000_000 }),
    );
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/30 tables may grow to 30000000 elements together/);
  });

  test('a task that exhausts its worker heap growing tables ends that worker only', async () => {
    const p = await pool({
      resourceLimits: { maxOldGenerationSizeMb: 16 },
      modules: { ok, heap: { source: fixture('heap-grow'), tableLimit: 1_000_000 } },
    });
    const events = recordEvents(p);
    const results = await p.runBatch([
      { module: 'heap', function: 'fill', params: [100_000] },
      { module: 'ok', function: 'ok', params: [1] },
    ]);
    expect(results[0]).toMatchObject({ success: false, error: { code: 'WORKER_CRASHED' } });
    expect(results[0]!.error!.message).toMatch(/memory limit|heap/);
    expect(results[1]).toMatchObject({ success: true, output: 2 });
    expect(events.count('crashed')).toBe(1);
    // The replacement serves both modules; the heap task is not run again on its own.
    await expect(p.run({ module: 'heap', function: 'size' })).resolves.toBe(0);
    await expect(p.run({ module: 'ok', function: 'ok', params: [2] })).resolves.toBe(3);
    expect(p.stats().failures).toEqual({ WORKER_CRASHED: 1 });
  });

  test('under the default tableLimit the same task just sees table.grow fail', async () => {
    const p = await pool({
      resourceLimits: { maxOldGenerationSizeMb: 16 },
      modules: { heap: { source: fixture('heap-grow') } },
    });
    const events = recordEvents(p);
    // 10,000 elements per table, 1,000 at a time: ten grows of each of the four tables succeed.
    await expect(p.run({ module: 'heap', function: 'fill', params: [1_000] })).resolves.toBe(40);
    expect(events.exits).toEqual([]);
  });

  test('with the default heap limit, a worker that exhausts its heap ends alone, not the process', async () => {
    // Without a limit, a worker's out-of-heap is V8's fatal error: the whole process aborts.
    const p = await pool({
      modules: { ok, host: { source: fixture('host'), hostImports: hostImportsPath } },
    });
    const events = recordEvents(p);
    const error = await rejectionOf(p.run({ module: 'host', function: 'hog' }, { timeoutMs: 60_000 }));
    expect(error.code).toBe('WORKER_CRASHED');
    expect(error.message).toMatch(/memory limit|heap/);
    expect(events.count('crashed')).toBe(1);
    await expect(p.run({ module: 'ok', function: 'ok', params: [1] })).resolves.toBe(2);
  });

  test('workers get a default JS heap limit; one given keeps the other defaults', async () => {
    expect(resolveOptions({}, {}).resourceLimits).toEqual({ maxOldGenerationSizeMb: 512 });
    expect(resolveOptions({ resourceLimits: { stackSizeMb: 2 } }, {}).resourceLimits).toEqual({
      maxOldGenerationSizeMb: 512,
      stackSizeMb: 2,
    });
    expect(resolveOptions({ resourceLimits: { maxOldGenerationSizeMb: 64 } }, {}).resourceLimits).toEqual({
      maxOldGenerationSizeMb: 64,
    });
  });
});

describe('instantiation under a time limit (instantiateTimeoutMs)', () => {
  test('a start function that never ends is refused by registerModule, naming it; the pool keeps serving', async () => {
    const p = await pool({ instantiateTimeoutMs: 300, modules: { ok } });
    const events = recordEvents(p);
    const busy = p.runBatch(
      Array.from({ length: 200 }, (_, i) => ({ module: 'ok', function: 'ok', params: [i] })),
    );
    const error = await rejectionOf(p.registerModule('loop', { source: fixture('start-loop') }));
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/module 'loop' cannot be instantiated: it did not finish within 300 ms/);
    const results = await busy;
    expect(results.every((result) => result.success)).toBe(true);
    await expect(p.run({ module: 'ok', function: 'ok', params: [1] }, { timeoutMs: 2_000 })).resolves.toBe(2);
    await expect(p.run({ module: 'loop', function: 'add', params: [1, 2] })).rejects.toMatchObject({
      code: 'MODULE_NOT_FOUND',
    });
    expect(p.modules().map((m) => m.name)).toEqual(['ok']);
    expect(events.count('startup-failed')).toBe(0);
    expect(p.stats().failures).toEqual({ MODULE_NOT_FOUND: 1 });
    await p.close();
    expect(p.stats().workers.total).toBe(0);
  });

  test('an _initialize that never ends is refused by create(), naming the module', async () => {
    const error = await rejectionOf(
      WasmPool.create({
        minWorkers: 2,
        instantiateTimeoutMs: 300,
        modules: { ok, reactor: { source: fixture('initialize-loop') } },
      }),
    );
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/module 'reactor' cannot be instantiated: it did not finish within 300 ms/);
  });

  test('a compiled module with a start function that never ends does not block the main thread', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const p = await pool({ instantiateTimeoutMs: 500, modules: { ok } });
      const error = await rejectionOf(p.registerModule('loop', { source: compiled('start-loop') }));
      expect(error).toMatchObject({
        code: 'INVALID_MODULE',
        message: expect.stringMatching(/module 'loop'/),
      });
    } finally {
      clearInterval(timer);
    }
    // The event loop kept turning while the start function ran (in a worker): timers fired.
    expect(ticks).toBeGreaterThan(10);
  });

  test('a start function that traps is refused at once; _initialize runs after instantiation', async () => {
    const p = await pool({ modules: { reactor: { source: fixture('initialize') } } });
    await expect(p.run({ module: 'reactor', function: 'ready' })).resolves.toBe(42);
    await expect(p.registerModule('trap', { source: fixture('start-trap') })).rejects.toMatchObject({
      code: 'INVALID_MODULE',
      message: expect.stringMatching(/cannot be instantiated/),
    });
    await expect(p.run({ module: 'reactor', function: 'ready' })).resolves.toBe(42);
  });

  test('with no worker running, a hanging module is removed when a worker first loads it', async () => {
    const p = await pool({ minWorkers: 0, instantiateTimeoutMs: 300, modules: { ok } });
    const errors: Error[] = [];
    p.on('error', (error) => errors.push(error));
    await p.registerModule('loop', { source: fixture('start-loop') });
    const outcome = await rejectionOf(p.run({ module: 'loop', function: 'add', params: [1, 2] }));
    expect(['INVALID_MODULE', 'WORKER_CRASHED']).toContain(outcome.code);
    await expect(p.run({ module: 'ok', function: 'ok', params: [1] })).resolves.toBe(2);
    expect(p.modules().map((m) => m.name)).toEqual(['ok']);
    expect(errors.map((e) => e.message).join()).toMatch(
      /module 'loop' cannot be instantiated: it did not finish within 300 ms.*; module 'loop' was removed/,
    );
  });
});

describe('results the wire cannot carry', () => {
  test('funcref, externref and v128 functions are listed but refused for tasks; the others run', async () => {
    const p = await pool({ modules: { u: { source: compiled('unsendable') } } });
    const events = recordEvents(p);
    const exports = p.modules()[0]!.exports.map((e) => e.name);
    expect(exports).toEqual(expect.arrayContaining(['ok', 'pair', 'ext', 'vec', 'takes_vec']));
    const messages: Record<string, RegExp> = {
      pair: /u\.pair\(\) -> \(funcref, i32\) returns a funcref, which cannot be sent back/,
      ext: /returns an externref/,
      vec: /returns a v128/,
      takes_vec: /takes a v128, which a task cannot pass/,
    };
    for (const [fn, message] of Object.entries(messages)) {
      await expect(p.run({ module: 'u', function: fn })).rejects.toMatchObject({
        code: 'FUNCTION_NOT_FOUND',
        message: expect.stringMatching(message),
      });
    }
    const results = await p.runBatch([
      { module: 'u', function: 'pair' },
      { module: 'u', function: 'ok' },
    ]);
    expect(results.map((r) => r.error?.code ?? r.output)).toEqual(['FUNCTION_NOT_FOUND', 7]);
    expect(events.exits).toEqual([]);
  });
});

describe('every memory capped and counted', () => {
  test('a memory the module does not export: capped and in stats, from path, bytes or compiled', async () => {
    const p = await pool({
      modules: {
        path: { source: fixture('hidden-memory'), memoryLimitMb: 1 },
        bytes: { source: readFileSync(fixture('hidden-memory')), memoryLimitMb: 1 },
        compiled: { source: compiled('hidden-memory'), memoryLimitMb: 1 },
      },
    });
    for (const module of ['path', 'bytes', 'compiled']) {
      await expect(p.run({ module, function: 'grow', params: [16_000] })).resolves.toBe(-1);
      await expect(p.run({ module, function: 'grow', params: [16] })).resolves.toBe(-1);
      await expect(p.run({ module, function: 'grow', params: [15] })).resolves.toBe(1);
      await expect(p.run({ module, function: 'pages' })).resolves.toBe(16);
      expect(p.stats().modules[module]!.memoryBytes).toBe(pages(16));
    }
  });

  describe('a memory given by host imports', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'wasmpool-sandbox-'));
      for (const [name, maximum] of [
        ['unbounded', undefined],
        ['large', 64],
        ['small', 4],
      ] as const) {
        const descriptor = maximum === undefined ? '{ initial: 1 }' : `{ initial: 1, maximum: ${maximum} }`;
        writeFileSync(
          join(dir, `${name}.cjs`),
          `module.exports = () => ({ env: { memory: new WebAssembly.Memory(${descriptor}) } });\n`,
        );
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('is used when within the cap, refused when it could grow past it', async () => {
      const p = await pool({ memoryLimitMb: 0.5 });
      for (const name of ['unbounded', 'large']) {
        await expect(
          p.registerModule(name, {
            source: fixture('imported-memory'),
            hostImports: join(dir, `${name}.cjs`),
          }),
        ).rejects.toMatchObject({
          code: 'INVALID_MODULE',
          message: expect.stringMatching(/memory hostImports provides/),
        });
      }
      await p.registerModule('small', {
        source: fixture('imported-memory'),
        hostImports: join(dir, 'small.cjs'),
      });
      await expect(p.run({ module: 'small', function: 'grow', params: [3] })).resolves.toBe(1);
      await expect(p.run({ module: 'small', function: 'grow', params: [1] })).resolves.toBe(-1);
      expect(p.stats().modules.small!.memoryBytes).toBe(pages(4));
    });
  });
});
