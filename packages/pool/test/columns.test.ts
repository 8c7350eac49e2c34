import { WasmPool, WasmPoolError } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();

async function pool(options: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      modules: { math: { source: example('math') }, faults: { source: fixture('faults') } },
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
});
