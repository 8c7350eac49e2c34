// Issue 12, point 5: OUT_OF_MEMORY means exactly that the task failed after a memory.grow or
// table.grow was refused (by the cap or by the module's own declared maximum), or that the pool's
// allocation for its params failed. Any other trap is TRAP.
import { join } from 'node:path';
import wabtInit from 'wabt';
import { WasmPool, type WasmTask } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();
const hostImports = join(__dirname, 'fixtures', 'sandbox-imports.mjs');
const PAGE = 65536;

let wabt: Awaited<ReturnType<typeof wabtInit>>;
beforeAll(async () => {
  wabt = await wabtInit();
});

function wat(src: string): Uint8Array {
  const m = wabt.parseWat('x.wat', src, { reference_types: true, bulk_memory: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

/** One worker, so that successive tasks share an instance. */
async function pool(
  memoryLimitMb: number,
  extra: Record<string, { source: Uint8Array }> = {},
): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      modules: { sandbox: { source: fixture('sandbox'), hostImports, memoryLimitMb }, ...extra },
      minWorkers: 1,
      maxWorkers: 1,
    }),
  );
}

const task = (fn: string, ...params: number[]): WasmTask => ({ module: 'sandbox', function: fn, params });

test('growing in 150-page steps to a 256-page cap, then trapping: OUT_OF_MEMORY', async () => {
  const p = await pool(16);
  const error = await rejectionOf(p.run(task('grow_until', 150)));
  expect(error.code).toBe('OUT_OF_MEMORY');
  expect(error.message).toMatch(/a grow was refused, then wasm trap: unreachable/);
  expect(error.message).toMatch(/16 MiB \(256 pages\)/);
});

test('a divide-by-zero near the cap is TRAP; the refused grow of an earlier task does not count', async () => {
  const p = await pool(16);
  // 1 + 254 = 255 of 256 pages: within 1/16 of the cap (the old guess's OUT_OF_MEMORY).
  await expect(p.run(task('grow_soft', 254))).resolves.toBe(1);
  await expect(p.run(task('grow_soft', 10))).resolves.toBe(-1); // refused, handled: a success
  const error = await rejectionOf(p.run(task('div', 1, 0)));
  expect(error).toMatchObject({ code: 'TRAP', message: expect.stringMatching(/divide by zero/) });
});

test("running out against the module's own declared maximum is OUT_OF_MEMORY", async () => {
  const declared = wat(`(module (memory (export "memory") 1 4)
    (func (export "grow_until") (param $step i32) (result i32)
      (loop $more (br_if $more (i32.ne (memory.grow (local.get $step)) (i32.const -1))))
      unreachable))`);
  const p = await pool(16, { declared: { source: declared } });
  const error = await rejectionOf(p.run({ module: 'declared', function: 'grow_until', params: [2] }));
  expect(error.code).toBe('OUT_OF_MEMORY');
});

test('a refused table.grow, then a trap: OUT_OF_MEMORY; a plain trap stays TRAP', async () => {
  const tables = wat(`(module (table 1 3 funcref)
    (func (export "grow_table") (param $n i32)
      (if (i32.eq (table.grow (ref.null func) (local.get $n)) (i32.const -1)) (then unreachable)))
    (func (export "trap") unreachable))`);
  const p = await pool(16, { tables: { source: tables } });
  await expect(p.run({ module: 'tables', function: 'grow_table', params: [2] })).resolves.toBeUndefined();
  const error = await rejectionOf(p.run({ module: 'tables', function: 'grow_table', params: [5] }));
  expect(error.code).toBe('OUT_OF_MEMORY');
  await expect(rejectionOf(p.run({ module: 'tables', function: 'trap' }))).resolves.toMatchObject({
    code: 'TRAP',
  });
});

test('params the allocator cannot place (alloc returns null after a refused grow): OUT_OF_MEMORY', async () => {
  const p = await pool(1); // 16 pages
  const big = new Uint8Array(2 * 1024 * 1024).fill(1);
  const error = await rejectionOf(p.run({ module: 'sandbox', function: 'sum', params: [big] }));
  expect(error.code).toBe('OUT_OF_MEMORY');
  expect(error.message).toMatch(/alloc\(2097152\) returned 0/);
  // Bytes that fit still work on the same worker.
  await expect(
    p.run({ module: 'sandbox', function: 'sum', params: [new Uint8Array(PAGE).fill(1)] }),
  ).resolves.toBe(PAGE);
});

test('an allocator that returns a pointer outside memory: OUT_OF_MEMORY (the allocation failed)', async () => {
  const lying = wat(`(module (memory (export "memory") 1)
    (func (export "alloc") (param i32) (result i32) (i32.const 0x7fff0000))
    (func (export "len") (param i32 i32) (result i32) (local.get 1)))`);
  const p = await pool(16, { lying: { source: lying } });
  const error = await rejectionOf(p.run({ module: 'lying', function: 'len', params: [new Uint8Array(8)] }));
  expect(error).toMatchObject({
    code: 'OUT_OF_MEMORY',
    message: expect.stringMatching(/outside the instance's memory/),
  });
});
