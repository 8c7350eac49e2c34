// Reactors and init exports, allocator names, AssemblyScript strings and memories given by
// hostImports, with real binaries built from source (C, Rust, AssemblyScript) and JS references.
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { WasmPool, type ModuleSpec } from '@wasmpool/pool';
import { example, fixture, rejectionOf, trackPools } from './helpers';
import { fnv1a64, randomBytes, randomText } from './helpers/references';

const track = trackPools();
const native = (name: string): string =>
  join(__dirname, '..', '..', '..', 'examples', 'modules', 'native', 'wasm', `${name}.wasm`);
const providedImports = join(__dirname, 'fixtures', 'provided-memory-imports.js');

async function poolOf(modules: Record<string, ModuleSpec>): Promise<WasmPool> {
  return track(await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules }));
}

const crcSpec: ModuleSpec = {
  source: native('crc32-reactor'),
  wasi: true,
  abi: { alloc: 'malloc', dealloc: 'free' },
};

describe('reactors and init exports', () => {
  test('a C reactor gets _initialize (its constructor builds the CRC table): 200 of 200 CRC-32s right', async () => {
    const pool = await poolOf({ crc: crcSpec });
    const inputs = Array.from({ length: 200 }, (_, i) => randomBytes(i * 37, i + 1));
    const results = await pool.runBatch<number>(
      inputs.map((data) => ({ module: 'crc', function: 'crc32', params: [data] })),
    );
    results.forEach((result, i) => {
      expect(result.success).toBe(true);
      expect(result.output! >>> 0).toBe(crc32(inputs[i]!));
    });
  });

  test('_initialize runs again after a trap re-instantiates the module', async () => {
    const pool = await poolOf({ crc: crcSpec });
    // An out-of-bounds read traps; the instance is made again for the next task.
    const trap = await rejectionOf(
      pool.run({ module: 'crc', function: 'crc32', params: [0x7fff0000, 1 << 20] }),
    );
    expect(trap.code).toBe('TRAP');
    expect(await pool.run({ module: 'crc', function: 'table_entry', params: [1] })).toBe(0x77073096);
    const data = new TextEncoder().encode('The quick brown fox');
    expect((await pool.run<number>({ module: 'crc', function: 'crc32', params: [data] })) >>> 0).toBe(
      crc32(data),
    );
  });

  test('ModuleSpec.init runs its exports once after every instantiation, including after a trap', async () => {
    const source = fixture('init-exports');
    const pool = await poolOf({ plain: { source }, init: { source, init: ['setup'] } });
    expect(await pool.run({ module: 'plain', function: 'ready' })).toBe(0);
    expect(await pool.run({ module: 'init', function: 'ready' })).toBe(42);
    expect((await rejectionOf(pool.run({ module: 'init', function: 'boom' }))).code).toBe('TRAP');
    expect(await pool.run({ module: 'init', function: 'ready' })).toBe(42);
  });

  test('an init export that traps makes the module fail to load (INVALID_MODULE)', async () => {
    const error = await rejectionOf(
      WasmPool.create({ minWorkers: 1, modules: { m: { source: fixture('init-exports'), init: ['boom'] } } }),
    );
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/unreachable/);
  });

  test('init names that are not exports, or take params, are INVALID_CONFIG', async () => {
    const source = fixture('init-exports');
    for (const init of [['nope'], ['needs_param'], 'setup']) {
      const error = await rejectionOf(
        WasmPool.create({ minWorkers: 0, modules: { m: { source, init: init as string[] } } }),
      );
      expect(error.code).toBe('INVALID_CONFIG');
    }
  });
});

describe('allocator names', () => {
  const rust: ModuleSpec = { source: native('text-lib'), abi: { alloc: 'rs_alloc', dealloc: 'rs_free' } };

  test('a Rust library with rs_alloc/rs_free: i64, bytes and string outputs match JS references', async () => {
    const pool = await poolOf({ rust });
    const inputs = Array.from({ length: 60 }, (_, i) => randomBytes(i * 53, 7 * i + 3));
    const hashes = await pool.runBatch<bigint>(
      inputs.map((data) => ({ module: 'rust', function: 'fnv1a64', params: [data] })),
    );
    hashes.forEach((result, i) => expect(result.output).toBe(fnv1a64(inputs[i]!)));
    const hex = await pool.runBatch<Uint8Array>(
      inputs.map((data) => ({
        module: 'rust',
        function: 'to_hex',
        params: [data],
        output: 'bytes' as const,
      })),
    );
    hex.forEach((result, i) =>
      expect(Buffer.from(result.output!).toString()).toBe(Buffer.from(inputs[i]!).toString('hex')),
    );
    const texts = Array.from({ length: 30 }, (_, i) => randomText(i * 5, i + 11));
    const reversed = await pool.runBatch<string>(
      texts.map((text) => ({
        module: 'rust',
        function: 'reverse_text',
        params: [text],
        output: 'string' as const,
      })),
    );
    reversed.forEach((result, i) => expect(result.output).toBe([...texts[i]!].reverse().join('')));
  });

  test('inputs and outputs are freed through the named dealloc: memory stays flat over many big tasks', async () => {
    const pool = await poolOf({ rust: { ...rust, memoryLimitMb: 4 } });
    const big = randomBytes(256 * 1024, 99);
    const results = await pool.runBatch(
      Array.from({ length: 100 }, () => ({
        module: 'rust',
        function: 'to_hex',
        params: [big],
        output: 'bytes' as const,
      })),
    );
    // 100 × (256 KiB in + 512 KiB out) would need 75 MiB if nothing were freed; the cap is 4 MiB.
    expect(results.every((r) => r.success)).toBe(true);
  });

  test('without the names, bytes are refused; names that are not exports are INVALID_CONFIG', async () => {
    const pool = await poolOf({ bare: { source: native('text-lib') } });
    const error = await rejectionOf(pool.run({ module: 'bare', function: 'fnv1a64', params: ['x'] }));
    expect(error.code).toBe('INVALID_PARAMS');
    expect(error.message).toMatch(/alloc/);
    for (const abi of [{ alloc: 'malloc' }, { dealloc: 7 }, 'rust']) {
      const bad = await rejectionOf(
        WasmPool.create({
          minWorkers: 0,
          modules: { m: { source: native('text-lib'), abi: abi as ModuleSpec['abi'] } },
        }),
      );
      expect(bad.code).toBe('INVALID_CONFIG');
    }
  });
});

describe("abi: 'assemblyscript'", () => {
  const strings: ModuleSpec = { source: example('strings'), abi: 'assemblyscript' };

  test('strings in and out through __new/__pin/__unpin match JS references (including surrogate pairs)', async () => {
    const pool = await poolOf({ strings });
    const texts = [
      '',
      'Bob',
      'héllo wörld',
      '😀 emoji 👍🏽',
      ...Array.from({ length: 40 }, (_, i) => randomText(i * 3, i + 5)),
    ];
    const greetings = await pool.runBatch<string>(
      texts.map((text) => ({
        module: 'strings',
        function: 'greet',
        params: [text],
        output: 'string' as const,
      })),
    );
    greetings.forEach((result, i) => expect(result.output).toBe(`Hello, ${texts[i]}!`));
    const reversed = await pool.runBatch<string>(
      texts.map((text) => ({
        module: 'strings',
        function: 'reverse',
        params: [text],
        output: 'string' as const,
      })),
    );
    reversed.forEach((result, i) => expect(result.output).toBe([...texts[i]!].reverse().join('')));
    const lengths = await pool.runBatch<number>(
      texts.map((text) => ({ module: 'strings', function: 'utf8Length', params: [text] })),
    );
    lengths.forEach((result, i) => expect(result.output).toBe(Buffer.byteLength(texts[i]!)));
    expect(await pool.run({ module: 'strings', function: 'count', params: ['abcabcab', 'ab'] })).toBe(3);
    expect(
      await pool.run({ module: 'strings', function: 'repeatJoin', params: ['ab', 3, '-'], output: 'string' }),
    ).toBe('ab-ab-ab');
  });

  test('Uint8Array in and bytes out cross as ArrayBuffers', async () => {
    const pool = await poolOf({ strings });
    const data = randomBytes(10_000, 5);
    const out = await pool.run<Uint8Array>({
      module: 'strings',
      function: 'xorBytes',
      params: [data, 0x5a],
      output: 'bytes',
    });
    expect(out).toEqual(data.map((byte) => byte ^ 0x5a));
  });

  test('many large strings: pinned inputs are unpinned and collected (memory cap holds)', async () => {
    const pool = await poolOf({ strings: { ...strings, memoryLimitMb: 2 } });
    const big = 'x'.repeat(100_000);
    const results = await pool.runBatch<number>(
      Array.from({ length: 200 }, () => ({ module: 'strings', function: 'utf8Length', params: [big] })),
    );
    expect(results.every((r) => r.output === 100_000)).toBe(true);
  });

  test('wrong shapes are refused: param types, counts, outputs; a number read as a string is INVALID_OUTPUT', async () => {
    const pool = await poolOf({ strings });
    const bad: unknown[][] = [[], ['a', 'b'], [1n], [{}], [null]];
    for (const params of bad) {
      const error = await rejectionOf(
        pool.run({ module: 'strings', function: 'greet', params: params as string[], output: 'string' }),
      );
      expect(error.code).toBe('INVALID_PARAMS');
    }
    const voidAsString = await rejectionOf(
      pool.run({ module: 'strings', function: 'count', params: ['a', 'b', 'c'], output: 'string' }),
    );
    expect(voidAsString.code).toBe('INVALID_PARAMS');
    // utf8Length returns an i32 count: read as a string it is not a pointer to a String object.
    const misread = await rejectionOf(
      pool.run({ module: 'strings', function: 'utf8Length', params: ['abc'], output: 'string' }),
    );
    expect(misread.code).toBe('INVALID_OUTPUT');
    // A pointer to an object of another class (an ArrayBuffer) is refused by its runtime type id.
    const wrongClass = await rejectionOf(
      pool.run({ module: 'strings', function: 'xorBytes', params: [new Uint8Array(4), 1], output: 'string' }),
    );
    expect(wrongClass.code).toBe('INVALID_OUTPUT');
    expect(wrongClass.message).toMatch(/class id 1/);
    expect(await pool.run({ module: 'strings', function: 'greet', params: ['ok'], output: 'string' })).toBe(
      'Hello, ok!',
    );
  });

  test('a module built without --exportRuntime is INVALID_CONFIG', async () => {
    const error = await rejectionOf(
      WasmPool.create({
        minWorkers: 0,
        modules: { sha: { source: example('sha256'), abi: 'assemblyscript' } },
      }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/exportRuntime/);
  });
});

describe('hostImports: provided memories and the instance exports', () => {
  test('a provided memory within the cap is used as given (not replaced), and grows only to its maximum', async () => {
    const pool = await poolOf({
      capped: { source: fixture('provided-memory'), hostImports: providedImports, memoryLimitMb: 1 },
    });
    expect(await pool.run({ module: 'capped', function: 'peek' })).toBe(0x2a);
    expect(await pool.run({ module: 'capped', function: 'grow', params: [3] })).toBe(1);
    expect(await pool.run({ module: 'capped', function: 'grow', params: [1] })).toBe(-1);
  });

  test('a provided memory without a maximum, or above the cap, is refused (INVALID_MODULE)', async () => {
    for (const name of ['uncapped', 'large']) {
      const error = await rejectionOf(
        WasmPool.create({
          minWorkers: 1,
          maxWorkers: 1,
          modules: {
            [name]: { source: fixture('provided-memory'), hostImports: providedImports, memoryLimitMb: 1 },
          },
        }),
      );
      expect(error.code).toBe('INVALID_MODULE');
      expect(error.message).toMatch(/maximum of at most 16 pages/);
    }
  });

  test('allocator exports of the wrong shape are not called: bytes are refused, not failed after the fact', async () => {
    const pool = await poolOf({
      odd: { source: fixture('odd-allocators') },
      oddFree: { source: fixture('odd-allocators'), abi: { alloc: 'good_alloc', dealloc: 'free_three' } },
    });
    const bytes = new Uint8Array([7, 8, 9]);
    // alloc(i64) -> f64 cannot take a length: bytes are refused before the task is queued.
    const refused = await rejectionOf(pool.run({ module: 'odd', function: 'len', params: [bytes] }));
    expect(refused).toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('alloc(len: i32) -> i32'),
    });
    // A dealloc of three i64s is left alone: the task succeeds (it used to fail with TRAP after the call).
    await expect(pool.run({ module: 'oddFree', function: 'first', params: [bytes] })).resolves.toBe(7);
    expect(pool.stats().failures).toEqual({ INVALID_PARAMS: 1 });
  });

  test('the hostImports context reaches the live instance’s exports', async () => {
    const pool = await poolOf({
      capped: { source: fixture('provided-memory'), hostImports: providedImports, memoryLimitMb: 1 },
    });
    expect(await pool.run({ module: 'capped', function: 'triple', params: [14] })).toBe(42);
  });
});
