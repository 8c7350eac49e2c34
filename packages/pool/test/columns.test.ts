import fc from 'fast-check';
import { WasmPool, WasmPoolError, type ColumnArray } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();

async function pool(options: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      modules: {
        math: { source: example('math') },
        faults: { source: fixture('faults') },
        shapes: { source: fixture('columns') },
      },
      ...options,
    }),
  );
}

describe('runColumns()', () => {
  test('i32 add over 1,000,000 rows: every value right, in one Int32Array', async () => {
    const p = await pool();
    const n = 1_000_000;
    const xs = Int32Array.from({ length: n }, (_, i) => i);
    const ys = Int32Array.from({ length: n }, (_, i) => (i * 7) | 0);
    const running = p.runColumns<Int32Array>({ module: 'math', function: 'add', params: [xs, ys] });
    // The columns were read once: changing them afterwards changes nothing.
    xs.fill(0);
    const { values, failures } = await running;
    expect(values).toBeInstanceOf(Int32Array);
    expect(values).toHaveLength(n);
    expect(failures).toEqual([]);
    for (let i = 0; i < n; i++)
      if (values[i] !== ((i + i * 7) | 0)) throw new Error(`row ${i}: ${values[i]}`);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, failed: 0 });
  });

  test('i64, f64 and a Uint32Array column; results of the export’s type', async () => {
    const p = await pool();
    const big = await p.runColumns<BigInt64Array>({
      module: 'math',
      function: 'add64',
      params: [BigInt64Array.from([1n, 2n ** 40n, -5n]), BigInt64Array.from([2n, 1n, 5n])],
    });
    expect(big.values).toEqual(BigInt64Array.from([3n, 2n ** 40n + 1n, 0n]));
    const floats = await p.runColumns<Float64Array>({
      module: 'math',
      function: 'addf',
      params: [Float64Array.from([0.5, 1.25]), Float32Array.from([0.25, 2])],
    });
    expect(floats.values).toEqual(Float64Array.from([0.75, 3.25]));
    const unsigned = await p.runColumns<Int32Array>({
      module: 'math',
      function: 'add',
      params: [Uint32Array.from([0xffffffff]), Int32Array.from([1])],
    });
    expect(unsigned.values).toEqual(Int32Array.from([0]));
  });

  test('a row that traps is a failure with its index and a 0 value; the other rows run', async () => {
    const p = await pool();
    const n = 10_000;
    const a = Int32Array.from({ length: n }, (_, i) => i * 10);
    const b = Int32Array.from({ length: n }, (_, i) => (i % 1000 === 3 ? 0 : 10));
    const { values, failures } = await p.runColumns<Int32Array>({
      module: 'faults',
      function: 'div',
      params: [a, b],
    });
    expect(failures.map((f) => f.index)).toEqual(Array.from({ length: 10 }, (_, k) => k * 1000 + 3));
    expect(failures.every((f) => f.code === 'TRAP' && /divide by zero/.test(f.message))).toBe(true);
    for (let i = 0; i < n; i++) {
      const want = i % 1000 === 3 ? 0 : i;
      if (values[i] !== want) throw new Error(`row ${i}: ${values[i]} != ${want}`);
    }
  });

  test('a slice past its time limit fails its rows with TIMEOUT; the pool serves on', async () => {
    const p = await pool();
    const { values, failures } = await p.runColumns<Int32Array>({
      module: 'faults',
      function: 'busy',
      params: [Int32Array.from([10, 2_000_000_000, 10])],
      timeoutMs: 100,
    });
    expect(failures.some((f) => f.code === 'TIMEOUT' && f.index === 1)).toBe(true);
    expect(values[1]).toBe(0);
    await expect(p.run({ module: 'math', function: 'add', params: [1, 2] })).resolves.toBe(3);
  });

  test('hostile columns: a lying length, a proxy, a params array whose items change as they are read', async () => {
    const p = await pool();
    // A subclass whose length says 2 while it holds 1,000 rows: the engine's length counts.
    class Lying extends Int32Array {
      override get length(): number {
        return 2;
      }
    }
    const lying = new Lying(1000).fill(3);
    const honest = new Int32Array(1000).fill(4);
    const fromLying = await p.runColumns<Int32Array>({
      module: 'math',
      function: 'add',
      params: [lying, honest],
    });
    expect(fromLying.values.length).toBe(1000);
    expect(fromLying.values.every((v) => v === 7)).toBe(true);
    // A proxy passes instanceof but is not a typed array: refused, as a WasmPoolError.
    const proxy = new Proxy(new Int32Array(4), {});
    const refused = await rejectionOf(
      p.runColumns({ module: 'math', function: 'add', params: [proxy, new Int32Array(4)] }),
    );
    expect(refused).toBeInstanceOf(WasmPoolError);
    expect(refused.code).toBe('INVALID_PARAMS');
    // Each column is read once: a getter that answers differently the second time changes nothing.
    let reads = 0;
    const columns = [new Int32Array(8).fill(1), new Int32Array(8).fill(2)];
    const shifty = new Proxy(columns, {
      get(target, key, receiver) {
        if (key === '0' && reads++ > 0) return new Int32Array(3);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const read = await p.runColumns<Int32Array>({ module: 'math', function: 'add', params: shifty });
    expect(Array.from(read.values)).toEqual(new Array(8).fill(3));
    expect(reads).toBe(1);
  });

  test('zero rows resolve at once; bad specs are INVALID_PARAMS, unknown names as for tasks', async () => {
    const p = await pool();
    const empty = await p.runColumns({
      module: 'math',
      function: 'add',
      params: [new Int32Array(0), new Int32Array(0)],
    });
    expect(empty).toEqual({ values: new Int32Array(0), failures: [] });
    const bad: [unknown, string][] = [
      [null, 'INVALID_PARAMS'],
      [{ module: 'math', function: 'add', params: [new Int32Array(2)] }, 'INVALID_PARAMS'],
      [{ module: 'math', function: 'add', params: [new Int32Array(2), new Int32Array(3)] }, 'INVALID_PARAMS'],
      [
        { module: 'math', function: 'add', params: [new Float64Array(2), new Int32Array(2)] },
        'INVALID_PARAMS',
      ],
      [
        {
          module: 'math',
          function: 'add',
          params: [
            [1, 2],
            [3, 4],
          ],
        },
        'INVALID_PARAMS',
      ],
      [
        { module: 'math', function: 'add', params: [new Int32Array(1), new Int32Array(1)], timeoutMs: -1 },
        'INVALID_PARAMS',
      ],
      [{ module: 'nope', function: 'add', params: [] }, 'MODULE_NOT_FOUND'],
      [{ module: 'math', function: 'nope', params: [] }, 'FUNCTION_NOT_FOUND'],
    ];
    for (const [spec, code] of bad) {
      const error = await rejectionOf(p.runColumns(spec as never));
      expect(error).toBeInstanceOf(WasmPoolError);
      expect(error.code).toBe(code);
    }
  });

  test('destroy() fails the rows that had not run with POOL_CLOSED', async () => {
    const p = await pool();
    const running = p.runColumns<Int32Array>({
      module: 'faults',
      function: 'busy',
      params: [Int32Array.from({ length: 2000 }, () => 2_000_000)],
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 50));
    await p.destroy();
    const { failures } = await running;
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => f.code === 'POOL_CLOSED')).toBe(true);
  });

  test('the values are the caller’s own array, right after calls of other sizes and after a failed call', async () => {
    const p = await pool();
    const add = (n: number, k: number): Promise<{ values: Int32Array }> =>
      p.runColumns<Int32Array>({
        module: 'math',
        function: 'add',
        params: [Int32Array.from({ length: n }, (_, i) => i), new Int32Array(n).fill(k)],
      });
    const big = await add(300_000, 1);
    // The pool's shared memory is reused by the next call: the values must not be a view of it.
    expect(Object.prototype.toString.call(big.values.buffer)).toBe('[object ArrayBuffer]');
    const small = await add(1000, 2);
    expect(small.values).toEqual(Int32Array.from({ length: 1000 }, (_, i) => i + 2));
    for (let i = 0; i < 300_000; i++)
      if (big.values[i] !== i + 1) throw new Error(`row ${i}: ${big.values[i]}`);
    // A call whose slice timed out: its memory may still be written to, the next call must not share it.
    const timedOut = await p.runColumns<Int32Array>({
      module: 'faults',
      function: 'busy',
      params: [Int32Array.from([10, 2_000_000_000, 10])],
      timeoutMs: 50,
    });
    expect(timedOut.failures.some((f) => f.code === 'TIMEOUT')).toBe(true);
    const after = await add(5000, 3);
    expect(after.values).toEqual(Int32Array.from({ length: 5000 }, (_, i) => i + 3));
  });

  // Columns of every type a param takes, against the same arithmetic in JS: the column drivers load
  // each type, convert f32/f64 columns to the param's type, and store each result type.
  type Shape = 'mix' | 'scale' | 'wrap' | 'pick';
  interface Call {
    shape: Shape;
    columns: ColumnArray[];
  }
  const i32Column = (values: number[], unsigned: boolean): ColumnArray =>
    unsigned ? Uint32Array.from(values, (v) => v >>> 0) : Int32Array.from(values);
  const floatColumn = (values: number[], single: boolean): ColumnArray =>
    single ? Float32Array.from(values) : Float64Array.from(values);
  const callOf = (rows: number): fc.Arbitrary<Call> => {
    const i32s = fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
      minLength: rows,
      maxLength: rows,
    });
    const i64s = fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), {
      minLength: rows,
      maxLength: rows,
    });
    const floats = fc.array(fc.double(), { minLength: rows, maxLength: rows });
    return fc.oneof(
      fc
        .tuple(i32s, fc.boolean(), i64s, floats, fc.boolean(), floats, fc.boolean(), i32s, fc.boolean())
        .map(([a, ua, b, c, sc, d, sd, e, ue]) => ({
          shape: 'mix' as const,
          columns: [
            i32Column(a, ua),
            BigInt64Array.from(b),
            floatColumn(c, sc),
            floatColumn(d, sd),
            i32Column(e, ue),
          ],
        })),
      fc
        .tuple(floats, fc.boolean())
        .map(([x, single]) => ({ shape: 'scale' as const, columns: [floatColumn(x, single)] })),
      i64s.map((x) => ({ shape: 'wrap' as const, columns: [BigInt64Array.from(x)] })),
      fc
        .tuple(i32s, fc.array(fc.constantFrom(0, -1, 1, 7, -3), { minLength: rows, maxLength: rows }))
        .map(([a, b]) => ({ shape: 'pick' as const, columns: [Int32Array.from(a), Int32Array.from(b)] })),
    );
  };
  /** The row's value in JS, or undefined when the wasm function traps. */
  function expected(call: Call, row: number): number | bigint | undefined {
    const at = (k: number): number | bigint => call.columns[k]![row]!;
    const toF32 = (v: number | bigint): number => Math.fround(Number(v));
    switch (call.shape) {
      case 'mix': {
        const [a, b, c, d, e] = [
          Number(at(0)) | 0,
          Number(at(1)),
          toF32(at(2)),
          Number(at(3)),
          Number(at(4)) | 0,
        ];
        return a + b * 2 + c + d - e;
      }
      case 'scale':
        return Math.fround(toF32(at(0)) * 1.5);
      case 'wrap':
        return BigInt.asIntN(64, (at(0) as bigint) * 3n + 1n);
      case 'pick': {
        const [a, b] = [at(0) as number, at(1) as number];
        return b === 0 || (a === -(2 ** 31) && b === -1) ? undefined : Math.trunc(a / b) | 0;
      }
    }
  }
  const same = (a: number | bigint, b: number | bigint): boolean =>
    Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));

  test('property: every column type and result type, calls of any size, one after another and at once', async () => {
    const p = await pool();
    const calls = fc.integer({ min: 0, max: 3000 }).chain((rows) => callOf(rows));
    await fc.assert(
      fc.asyncProperty(fc.array(calls, { minLength: 1, maxLength: 3 }), async (batch) => {
        const settled = await Promise.all(
          batch.map((call) => p.runColumns({ module: 'shapes', function: call.shape, params: call.columns })),
        );
        settled.forEach(({ values, failures }, k) => {
          const call = batch[k]!;
          const failed = new Set(failures.map((f) => f.index));
          expect(values).toHaveLength(call.columns[0]!.length);
          for (let row = 0; row < values.length; row++) {
            const want = expected(call, row);
            const got = values[row]!;
            if (want === undefined) {
              if (!failed.has(row) || Number(got) !== 0) throw new Error(`${call.shape} row ${row}: no trap`);
            } else if (failed.has(row) || !same(got, want)) {
              throw new Error(`${call.shape} row ${row}: ${String(got)}, expected ${String(want)}`);
            }
          }
        });
      }),
      { numRuns: 40 },
    );
  });
});
