// Issue 12, point 7: deterministic fuel. One unit per loop iteration and per entry into a function
// that calls others; the same task on the same module always uses the same fuel, on any worker.
// Metering is compiled in for modules registered with `fuel` (their tasks' default).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmPool, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();
const hostImports = join(__dirname, 'fixtures', 'sandbox-imports.mjs');
const sandbox = { source: fixture('sandbox'), hostImports };
/** The same module, metered: its tasks get 1e12 fuel unless their call gives them their own. */
const metered = { ...sandbox, fuel: 1e12 };
const count = (n: number): WasmTask => ({ module: 'sandbox', function: 'count', params: [n] });
const fib = (n: number): WasmTask => ({ module: 'sandbox', function: 'fib', params: [n] });

async function pool(extra: Partial<Parameters<typeof WasmPool.create>[0]> = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({ modules: { sandbox: metered }, minWorkers: 1, maxWorkers: 1, ...extra }),
  );
}

test('fuelUsed counts loop iterations and calls, exactly, across refills', async () => {
  const p = await pool();
  const results = await p.runBatch([count(0), count(10), count(50_000), count(1_000_000)]);
  // count(n): n + 1 passes through the loop header (count calls nothing: no entry unit).
  expect(results.map((r) => [r.output, r.fuelUsed])).toEqual([
    [0, 1],
    [10, 11],
    [50_000, 50_001],
    [1_000_000, 1_000_001],
  ]);
});

test('the same task uses the same fuel every time, on every worker', async () => {
  const p = await pool({ minWorkers: 2, maxWorkers: 2 });
  const tasks = Array.from({ length: 40 }, () => fib(18));
  const results = await p.runBatch(tasks, { fuel: 10_000_000 });
  const used = new Set(results.map((r) => r.fuelUsed));
  expect(results.every((r) => r.success && r.output === 2584)).toBe(true);
  // fib(n) makes fib(n+1)*2-1 calls: 8361 for n = 18, one unit each (no loops).
  expect([...used]).toEqual([8361]);
});

test('a metered task runs on an instance no task has run on: the same fuel whatever ran before', async () => {
  const p = track(
    await WasmPool.create({
      modules: {
        metered: { source: fixture('stateful'), fuel: 1e9 },
        plain: { source: fixture('stateful') },
      },
      minWorkers: 1,
      maxWorkers: 1,
    }),
  );
  const work = (module: string): WasmTask => ({ module, function: 'work', params: [100] });
  const metered = await p.runBatch([work('metered'), work('metered'), work('metered')]);
  // work(100) on a fresh instance: 101 passes through spin's loop header, and work's entry (it calls).
  expect(metered.map((r) => [r.output, r.fuelUsed])).toEqual([
    [100, 102],
    [100, 102],
    [100, 102],
  ]);
  const oneByOne: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const r = (await p.runBatch([work('metered')]))[0]!;
    oneByOne.push([r.output, r.fuelUsed]);
  }
  expect(oneByOne).toEqual([
    [100, 102],
    [100, 102],
    [100, 102],
  ]);
  // Unmetered tasks share their instance, as every task does (its state carries over).
  const plain = await p.runBatch([work('plain'), work('plain'), work('plain')]);
  expect(plain.map((r) => r.output)).toEqual([100, 101, 102]);
});

test.each(['stateful', 'stateful-big'])(
  '%s: state kept in memory is put back too, and a task that grew the memory leaves no trace',
  async (module) => {
    const p = track(
      await WasmPool.create({
        modules: { metered: { source: fixture(module), fuel: 1e9 } },
        minWorkers: 1,
        maxWorkers: 1,
      }),
    );
    const call = (fn: string): WasmTask => ({ module: 'metered', function: fn, params: [100] });
    const results = await p.runBatch([
      call('work_mem'),
      call('work_mem'),
      call('grow_work'),
      call('work_mem'),
      call('grow_work'),
      call('grow_work'),
      call('work'),
      call('work_mem'),
    ]);
    const firstFuel = results[0]!.fuelUsed!;
    expect(results.every((r) => r.success && r.output === 100)).toBe(true);
    expect(results.filter((_, i) => [0, 1, 3, 7].includes(i)).map((r) => r.fuelUsed)).toEqual([
      firstFuel,
      firstFuel,
      firstFuel,
      firstFuel,
    ]);
    expect(new Set([2, 4, 5].map((i) => results[i]!.fuelUsed)).size).toBe(1);
  },
);

test('running out fails with FUEL_EXHAUSTED, having used exactly the fuel; the worker carries on', async () => {
  const p = await pool();
  const exits: string[] = [];
  p.on('workerExit', (_id, reason) => exits.push(reason));
  const [spent, zero, enough] = await p
    .runBatch([count(1000)], { fuel: 500 })
    .then(async (first) => [
      ...first,
      ...(await p.runBatch([count(5)], { fuel: 0 })),
      ...(await p.runBatch([count(5)], { fuel: 7 })),
    ]);
  expect(spent).toMatchObject({
    success: false,
    error: { code: 'FUEL_EXHAUSTED', message: expect.stringMatching(/all of its fuel \(500\)/) },
    fuelUsed: 500,
  });
  expect(zero).toMatchObject({ success: false, error: { code: 'FUEL_EXHAUSTED' }, fuelUsed: 0 });
  expect(enough).toMatchObject({ success: true, output: 5, fuelUsed: 6 });
  const error = await rejectionOf(p.run({ module: 'sandbox', function: 'spin' }, { fuel: 100_000 }));
  expect(error.code).toBe('FUEL_EXHAUSTED');
  expect(exits).toEqual([]);
});

test("ModuleSpec.fuel is the default; a call's fuel overrides it; run() resolves the output alone", async () => {
  const p = await pool({ modules: { sandbox: { ...sandbox, fuel: 100 } } });
  const completions: WasmResult[] = [];
  p.on('taskComplete', (result) => completions.push(result));
  await expect(p.run(count(50))).resolves.toBe(50);
  expect(completions.at(-1)).toMatchObject({ success: true, output: 50, fuelUsed: 51 });
  await expect(rejectionOf(p.run(count(200)))).resolves.toMatchObject({ code: 'FUEL_EXHAUSTED' });
  await expect(p.run(count(200), { fuel: 1000 })).resolves.toBe(200);
  expect(completions.at(-1)?.fuelUsed).toBe(201);
  const [batch] = await p.runBatch([count(3)]);
  expect(batch).toMatchObject({ output: 3, fuelUsed: 4 });
});

test('a module registered without fuel is not metered: no fuelUsed, no limit, no per-call fuel', async () => {
  const p = await pool({ modules: { sandbox } });
  const completions: WasmResult[] = [];
  p.on('taskComplete', (result) => completions.push(result));
  const [result] = await p.runBatch([count(100_000)]);
  expect(result).toEqual({
    id: expect.any(String),
    success: true,
    output: 100_000,
    executionTimeMs: expect.any(Number),
  });
  expect(completions[0]).not.toHaveProperty('fuelUsed');
  await expect(rejectionOf(p.run(count(1), { fuel: 10 }))).resolves.toMatchObject({
    code: 'INVALID_PARAMS',
    message: expect.stringMatching(/is not metered: register it with fuel/),
  });
});

test('bad fuel is refused: INVALID_PARAMS per call, INVALID_CONFIG per module; a compiled module is metered like its bytes', async () => {
  const p = await pool();
  for (const fuel of [-1, 1.5, Number.NaN, '10', 2 ** 60]) {
    await expect(rejectionOf(p.run(count(1), { fuel: fuel as number }))).resolves.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringMatching(/fuel must be an integer/),
    });
    await expect(p.runBatch([count(1)], { fuel: fuel as number })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
  }
  await expect(p.registerModule('bad', { ...sandbox, fuel: -5 })).rejects.toMatchObject({
    code: 'INVALID_CONFIG',
  });
  const compiled = new WebAssembly.Module(readFileSync(fixture('faults')));
  // A compiled module is read back as bytes when it is registered: it is instrumented, and metered with fuel.
  await p.registerModule('compiledMetered', { source: compiled, fuel: 1_000 });
  const [metered] = await p.runBatch([{ module: 'compiledMetered', function: 'ok', params: [1] }]);
  expect(metered).toMatchObject({ output: 2, fuelUsed: expect.any(Number) });
  await expect(p.registerModule('plain', { ...sandbox, fuel: 10, instrument: false })).rejects.toMatchObject({
    code: 'INVALID_CONFIG',
  });
  await p.registerModule('compiled', { source: compiled });
  const ok: WasmTask = { module: 'compiled', function: 'ok', params: [1] };
  await expect(rejectionOf(p.run(ok, { fuel: 10 }))).resolves.toMatchObject({ code: 'INVALID_PARAMS' });
  const [refused] = await p.runBatch([ok], { fuel: 10 });
  expect(refused?.error?.code).toBe('INVALID_PARAMS');
  await expect(p.run(ok)).resolves.toBe(2);
});
