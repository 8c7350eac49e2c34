import { createHash, randomBytes } from 'node:crypto';
import { WasmPool, WasmPoolError, type WasmTask } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';

const track = trackPools();
let pool: WasmPool;

beforeEach(async () => {
  pool = track(
    await WasmPool.create({
      minWorkers: 1,
      maxWorkers: 1,
      modules: {
        math: { source: example('math') },
        sha: { source: example('sha256') },
        text: { source: example('text') },
        bytes: { source: fixture('bytes') },
        faults: { source: fixture('faults') },
        noAlloc: { source: fixture('no-alloc') },
      },
    }),
  );
});

describe('numbers and bigints follow the signature', () => {
  test('i32, i64, f64 in and out', async () => {
    await expect(pool.run({ module: 'math', function: 'add', params: [2, 3] })).resolves.toBe(5);
    await expect(pool.run({ module: 'math', function: 'add', params: [0x7fffffff, 1] })).resolves.toBe(
      -0x80000000,
    );
    await expect(pool.run({ module: 'math', function: 'add', params: [0xffffffff, 1] })).resolves.toBe(0);
    await expect(pool.run({ module: 'math', function: 'add', params: [-(2 ** 31), -0] })).resolves.toBe(
      -(2 ** 31),
    );
    await expect(
      pool.run({ module: 'math', function: 'add64', params: [2n ** 62n, 2n ** 62n] }),
    ).resolves.toBe(-(2n ** 63n));
    await expect(pool.run({ module: 'math', function: 'add64', params: [5, 6n] })).resolves.toBe(11n);
    await expect(pool.run({ module: 'math', function: 'addf', params: [0.25, 0.5] })).resolves.toBe(0.75);
    await expect(pool.run({ module: 'math', function: 'fib', params: [90] })).resolves.toBe(
      2880067194370816120n,
    );
  });

  test('output conversions', async () => {
    await expect(pool.run({ module: 'math', function: 'fib', params: [10], output: 'number' })).resolves.toBe(
      55,
    );
    await expect(
      pool.run({ module: 'math', function: 'add', params: [1, 2], output: 'bigint' }),
    ).resolves.toBe(3n);
    await expect(
      pool.run({ module: 'math', function: 'add', params: [1, 2], output: 'void' }),
    ).resolves.toBeUndefined();
  });

  test.each([
    [{ params: [1] }, /math.add\(i32, i32\) -> i32 cannot take \(1\): too few params/],
    [{ params: [1, 2, 3] }, /too many params/],
    [{ params: [1.5, 2] }, /param 0 \(i32\) must be an integer/],
    [{ params: [2 ** 33, 2] }, /param 0 \(i32\) must be an integer from -2\^31 to 2\^32-1/],
    [{ params: [1, 2 ** 32] }, /param 1 \(i32\) must be an integer from -2\^31 to 2\^32-1/],
    [{ params: [-(2 ** 31) - 1, 2] }, /param 0 \(i32\) must be an integer/],
    [{ params: [NaN, 2] }, /param 0 \(i32\) must be an integer/],
    [{ params: [1n, 2] }, /param 0 is i32; a bigint fits only an i64/],
    [{ params: [{}, 2] }, /param 0 must be a number, bigint, Uint8Array or string/],
    [{ params: 'x' }, /params must be an array/],
    [{ params: [1, 2], output: 'bytes' }, /cannot give a 'bytes' output/],
    [{ params: [1, 2], output: 'xml' }, /output must be one of/],
  ])('%p is refused with INVALID_PARAMS naming the signature', async (task, message) => {
    const error = await rejectionOf(pool.run({ module: 'math', function: 'add', ...(task as object) }));
    expect(error).toBeInstanceOf(WasmPoolError);
    expect(error.code).toBe('INVALID_PARAMS');
    expect(error.message).toMatch(message);
    expect(pool.stats().queued).toBe(0);
  });

  test('in a batch, each task is checked on its own: the in-range ones run, the others are refused', async () => {
    const params = [
      [1, 2],
      [2 ** 32, 0],
      [0xffffffff, 1],
      [1.5, 1],
      [-(2 ** 31), 0],
      ['1', 2],
      [3, 4],
    ];
    const results = await pool.runBatch(params.map((p) => ({ module: 'math', function: 'add', params: p })));
    expect(results.map((r) => (r.success ? r.output : r.error?.code))).toEqual([
      3,
      'INVALID_PARAMS',
      0,
      'INVALID_PARAMS',
      -(2 ** 31),
      'INVALID_PARAMS',
      7,
    ]);
  });

  test('i64 accepts safe integers and bigints in range only', async () => {
    const unsafe = await rejectionOf(pool.run({ module: 'math', function: 'add64', params: [2 ** 60, 1] }));
    expect(unsafe.message).toMatch(/bigint or a safe integer/);
    const big = await rejectionOf(pool.run({ module: 'math', function: 'add64', params: [2n ** 64n, 1n] }));
    expect(big.code).toBe('INVALID_PARAMS');
  });

  test('unknown module or function is refused at submission', async () => {
    const noModule = await rejectionOf(pool.run({ module: 'nope', function: 'add', id: 'mine' }));
    expect(noModule).toMatchObject({ code: 'MODULE_NOT_FOUND', taskId: 'mine' });
    const noFunction = await rejectionOf(pool.run({ module: 'math', function: 'nope' }));
    expect(noFunction.code).toBe('FUNCTION_NOT_FOUND');
    expect(noFunction.message).toMatch(/exports no function "nope"; it exports .*add/);
    const results = await pool.runBatch([
      { module: 'nope', function: 'x' },
      { module: 'math', function: 'add', params: [1, 1] },
    ]);
    expect(results[0]).toMatchObject({ success: false, error: { code: 'MODULE_NOT_FOUND' } });
    expect(results[1]).toMatchObject({ success: true, output: 2 });
  });
});

describe('bytes calling convention', () => {
  test('Uint8Array and string params in, bytes / string / json out, dealloc called', async () => {
    const data = randomBytes(1000);
    const echoed = await pool.run<Uint8Array>({
      module: 'bytes',
      function: 'echo',
      params: [data],
      output: 'bytes',
    });
    expect(Buffer.from(echoed).equals(data)).toBe(true);
    await expect(pool.run({ module: 'bytes', function: 'sum', params: ['AB'] })).resolves.toBe(65 + 66);
    await expect(pool.run({ module: 'bytes', function: 'len', params: [new Uint8Array(0)] })).resolves.toBe(
      0,
    );
    await expect(
      pool.run({
        module: 'bytes',
        function: 'concat',
        params: ['héllo ', new Uint8Array([0x77])],
        output: 'string',
      }),
    ).resolves.toBe('héllo w');
    await expect(pool.run({ module: 'bytes', function: 'hello', output: 'string' })).resolves.toBe(
      'hello, wasm',
    );
    await expect(pool.run({ module: 'bytes', function: 'json', output: 'json' })).resolves.toEqual({
      ok: true,
      n: 42,
    });
    // Every input and output buffer went back through dealloc.
    await expect(pool.run({ module: 'bytes', function: 'live' })).resolves.toBe(0);
  });

  test('SHA-256 (AssemblyScript) matches node:crypto', async () => {
    for (const size of [0, 3, 4096, 1 << 20]) {
      const data = randomBytes(size);
      const digest = await pool.run<Uint8Array>({
        module: 'sha',
        function: 'sha256',
        params: [data],
        output: 'bytes',
      });
      expect(Buffer.from(digest).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
    await expect(
      pool.run({ module: 'sha', function: 'sha256_hex', params: ['abc'], output: 'string' }),
    ).resolves.toBe(createHash('sha256').update('abc').digest('hex'));
    await expect(
      pool.run({ module: 'text', function: 'wordstats', params: ['a b\nc'], output: 'json' }),
    ).resolves.toEqual({
      bytes: 5,
      words: 3,
      lines: 2,
    });
  });

  test('SharedArrayBuffer-backed inputs, whole or a view at an offset', async () => {
    const data = randomBytes(70_000);
    const shared = new Uint8Array(new SharedArrayBuffer(data.length + 100));
    shared.set(data, 100);
    const view = shared.subarray(100);
    const digest = await pool.run<Uint8Array>({
      module: 'sha',
      function: 'sha256',
      params: [view],
      output: 'bytes',
    });
    expect(Buffer.from(digest).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const results = await pool.runBatch(
      Array.from({ length: 50 }, () => ({
        module: 'bytes',
        function: 'sum',
        params: [shared.subarray(0, 100)],
      })),
    );
    expect(results.every((r) => r.output === 0)).toBe(true);
  });

  test('an output outside memory is INVALID_OUTPUT; bytes without alloc are refused', async () => {
    const error = await rejectionOf(pool.run({ module: 'bytes', function: 'bad_ptr', output: 'bytes' }));
    expect(error.code).toBe('INVALID_OUTPUT');
    expect(error.message).toMatch(/outside the instance's memory/);
    const noAlloc = await rejectionOf(
      pool.run({ module: 'noAlloc', function: 'take', params: [new Uint8Array(4)] }),
    );
    expect(noAlloc.code).toBe('INVALID_PARAMS');
    expect(noAlloc.message).toMatch(/alloc/);
    await expect(pool.run({ module: 'noAlloc', function: 'take', params: [0, 4] })).resolves.toBe(4);
  });
});

describe('traps', () => {
  test('a trapping task fails with TRAP and the wasm reason; the instance is replaced, the worker keeps serving', async () => {
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    await pool.run({ module: 'faults', function: 'grow', params: [3] });
    await expect(pool.run({ module: 'faults', function: 'pages' })).resolves.toBe(4);
    const trap = await rejectionOf(pool.run({ module: 'faults', function: 'trap' }));
    expect(trap).toMatchObject({ code: 'TRAP', message: 'wasm trap: unreachable' });
    // A fresh instance: memory is back to its initial single page.
    await expect(pool.run({ module: 'faults', function: 'pages' })).resolves.toBe(1);
    const div = await rejectionOf(pool.run({ module: 'faults', function: 'div', params: [1, 0] }));
    expect(div.message).toMatch(/divide by zero/);
    await expect(pool.run({ module: 'faults', function: 'ok', params: [1] })).resolves.toBe(2);
    expect(exits).toEqual([]);
    expect(pool.stats()).toMatchObject({ workerRestarts: 0, failures: { TRAP: 2 } });
  });

  test('in a batch, a trap fails only its own task', async () => {
    const results = await pool.runBatch([
      { module: 'faults', function: 'ok', params: [1], id: 'a' },
      { module: 'faults', function: 'trap', id: 'b' },
      { module: 'faults', function: 'ok', params: [2], id: 'c' },
    ]);
    expect(results.map((r) => [r.id, r.success])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
    ]);
    expect(results[1]!.error).toEqual({ code: 'TRAP', message: 'wasm trap: unreachable' });
    expect(results.every((r) => typeof r.executionTimeMs === 'number' && r.executionTimeMs >= 0)).toBe(true);
  });

  test('in a batch, an id that is not a string refuses its task only, whichever task carries it', async () => {
    const tasks = [
      { module: 'faults', function: 'ok', params: [1] },
      { module: 'faults', function: 'ok', params: [2], id: 7 },
      { module: 'faults', function: 'ok', params: [3], id: 'three' },
    ] as unknown as WasmTask[];
    const results = await pool.runBatch(tasks);
    expect(results.map((r) => [r.id, r.success, r.output ?? r.error?.code])).toEqual([
      ['0', true, 2],
      ['1', false, 'INVALID_PARAMS'],
      ['three', true, 4],
    ]);
    expect(results[1]!.error!.message).toBe('task.id must be a string; got 7');
  });
});
