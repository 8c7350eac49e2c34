// Adapters: npm packages' shipped binaries run unchanged (xxhash-wasm, hash-wasm), every answer
// compared with an independent reference; and adapters that misbehave.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WasmPool, type ModuleSpec } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';
import { randomBytes, randomText, xxh32, xxh64 } from './helpers/references';

const track = trackPools();
const root = join(__dirname, '..', '..', '..');
const adapters = join(root, 'examples', 'adapters');
const xxhashWasm = join(root, 'node_modules', 'xxhash-wasm', 'workerd', 'xxhash.wasm');
const testAdapter = join(__dirname, 'fixtures', 'test-adapter.mjs');

/** hash-wasm's SHA-256 binary as the package ships it (base64 inside its bundle). */
function hashWasmSha256(): Uint8Array {
  const bundle = readFileSync(require.resolve('hash-wasm'), 'utf8');
  const match = /var name\$(\w+) = "sha256";\s*var data\$\1 = "([A-Za-z0-9+/=]+)"/.exec(bundle);
  return new Uint8Array(Buffer.from(match![2]!, 'base64'));
}

async function poolOf(modules: Record<string, ModuleSpec>): Promise<WasmPool> {
  return track(await WasmPool.create({ minWorkers: 1, maxWorkers: 2, modules }));
}

const sha256 = (data: Uint8Array | string): Uint8Array =>
  new Uint8Array(createHash('sha256').update(data).digest());

describe('third-party binaries through adapters', () => {
  test('the JS references agree with xxHash’s published values', () => {
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh64(new Uint8Array(0))).toBe(0xef46db3751d8e999n);
    expect(xxh32(new TextEncoder().encode('abc'))).toBe(0x32d153ff);
    expect(xxh64(new TextEncoder().encode('abc'))).toBe(0x44bc2cf5ad770999n);
  });

  test('xxhash-wasm’s xxhash.wasm: h32 and h64 of strings and bytes (also past its initial memory)', async () => {
    const pool = await poolOf({ xxhash: { source: xxhashWasm, adapter: join(adapters, 'xxhash.mjs') } });
    const inputs: (string | Uint8Array)[] = [
      '',
      'abc',
      randomText(50, 3),
      ...Array.from({ length: 40 }, (_, i) => randomBytes(i * 97 + (i % 7), i + 1)),
      randomBytes(300_000, 77),
    ];
    const bytesOf = (input: string | Uint8Array): Uint8Array =>
      typeof input === 'string' ? new TextEncoder().encode(input) : input;
    const h32 = await pool.runBatch<number>(
      inputs.map((data, i) => ({ module: 'xxhash', function: 'h32', params: [data, i] })),
    );
    h32.forEach((result, i) => expect(result.output).toBe(xxh32(bytesOf(inputs[i]!), i)));
    const h64 = await pool.runBatch<bigint>(
      inputs.map((data, i) => ({
        module: 'xxhash',
        function: 'h64',
        params: [data, BigInt(i) * 0x1234567n],
      })),
    );
    h64.forEach((result, i) =>
      expect(result.output).toBe(xxh64(bytesOf(inputs[i]!), BigInt(i) * 0x1234567n)),
    );
  });

  test('hash-wasm’s SHA-256 binary: matches node:crypto for sizes around its 16 KiB buffer', async () => {
    const pool = await poolOf({
      sha: { source: hashWasmSha256(), adapter: pathToFileURL(join(adapters, 'hash-wasm-sha256.mjs')) },
    });
    const sizes = [0, 1, 55, 56, 64, 1000, 16_383, 16_384, 16_385, 50_000, 200_000];
    const inputs = sizes.map((size, i) => randomBytes(size, i + 9));
    const results = await pool.runBatch<Uint8Array>(
      inputs.map((data) => ({ module: 'sha', function: 'sha256', params: [data] })),
    );
    results.forEach((result, i) => {
      expect(result.success).toBe(true);
      expect(result.output).toEqual(sha256(inputs[i]!));
    });
    expect(await pool.run({ module: 'sha', function: 'sha256', params: ['abc'] })).toEqual(sha256('abc'));
  });

  test('an adapter stays under the memory cap: growing past it fails the task with OUT_OF_MEMORY', async () => {
    const pool = await poolOf({
      xxhash: { source: xxhashWasm, adapter: join(adapters, 'xxhash.mjs'), memoryLimitMb: 1 },
    });
    const error = await rejectionOf(
      pool.run({ module: 'xxhash', function: 'h32', params: [new Uint8Array(2 << 20)] }),
    );
    expect(error.code).toBe('OUT_OF_MEMORY');
    const small = randomBytes(100_000, 4);
    expect(await pool.run({ module: 'xxhash', function: 'h32', params: [small] })).toBe(xxh32(small));
  });

  test('pool.modules() lists the adapter functions; the binary’s own exports stay callable', async () => {
    const pool = await poolOf({ xxhash: { source: xxhashWasm, adapter: join(adapters, 'xxhash.mjs') } });
    const info = pool.modules().find((m) => m.name === 'xxhash')!;
    expect(info.adapterFunctions).toEqual(['h32', 'h64']);
    expect(info.exports.map((e) => e.name)).toContain('xxh32');
    expect(await pool.run({ module: 'xxhash', function: 'xxh32', params: [0, 0, 0] })).toBe(0x02cc5d05 | 0);
  });
});

describe('adapters that misbehave', () => {
  const spec: ModuleSpec = { source: fixture('init-exports'), adapter: testAdapter, init: ['setup'] };

  test('params and structured-cloneable values pass through; a view into memory comes back as a copy of its bytes', async () => {
    const pool = await poolOf({ m: spec });
    expect(await pool.run({ module: 'm', function: 'readyPlus', params: [8] })).toBe(50);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(await pool.run({ module: 'm', function: 'echo', params: [1, 2n, 'x', bytes] })).toEqual({
      params: [1, 2n, 'x', bytes],
      count: 4,
    });
    const head = await pool.run<Uint8Array>({ module: 'm', function: 'memoryHead' });
    expect(head.byteLength).toBe(4);
    expect(head.buffer.byteLength).toBe(4);
  });

  test('a trap inside an adapter fails its task only; the instance is made again (init included)', async () => {
    const pool = await poolOf({ m: spec });
    expect((await rejectionOf(pool.run({ module: 'm', function: 'trap' }))).code).toBe('TRAP');
    expect(await pool.run({ module: 'm', function: 'readyPlus', params: [0] })).toBe(42);
  });

  test('a throwing adapter is TRAP with its message; an uncloneable value is INVALID_OUTPUT', async () => {
    const pool = await poolOf({ m: spec });
    const thrown = await rejectionOf(pool.run({ module: 'm', function: 'throws' }));
    expect([thrown.code, thrown.message]).toEqual(['TRAP', 'adapter function throws threw: adapter says no']);
    expect((await rejectionOf(pool.run({ module: 'm', function: 'returnsFunction' }))).code).toBe(
      'INVALID_OUTPUT',
    );
    const results = await pool.runBatch([
      { module: 'm', function: 'throws' },
      { module: 'm', function: 'readyPlus', params: [1] },
    ]);
    expect(results.map((r) => r.output ?? r.error?.code)).toEqual(['TRAP', 43]);
  });

  test('an adapter that returns or leaves a rejected promise, or throws an unprintable value, ends no worker', async () => {
    const pool = await poolOf({ m: spec });
    const exits: string[] = [];
    pool.on('workerExit', (_id, reason) => exits.push(reason));
    const returned = await rejectionOf(pool.run({ module: 'm', function: 'returnsRejected' }));
    expect(returned.code).toBe('INVALID_OUTPUT');
    await expect(pool.run({ module: 'm', function: 'leavesRejected' })).resolves.toBe(42);
    const unprintable = await rejectionOf(pool.run({ module: 'm', function: 'throwsNullProto' }));
    expect([unprintable.code, unprintable.message]).toEqual([
      'TRAP',
      'adapter function throwsNullProto threw: [object Object]',
    ]);
    // Unhandled rejections surface after the task: give them a few turns of the worker's loop.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(pool.run({ module: 'm', function: 'readyPlus', params: [1] })).resolves.toBe(43);
    expect(exits).toEqual([]);
    expect(pool.stats().workerRestarts).toBe(0);
  });

  test('bad tasks and specs: unknown functions, output set, params of other types, missing or empty adapters', async () => {
    const pool = await poolOf({ m: spec });
    expect((await rejectionOf(pool.run({ module: 'm', function: 'notAFunction' }))).code).toBe(
      'FUNCTION_NOT_FOUND',
    );
    expect((await rejectionOf(pool.run({ module: 'm', function: 'echo', output: 'bytes' }))).code).toBe(
      'INVALID_PARAMS',
    );
    expect(
      (await rejectionOf(pool.run({ module: 'm', function: 'echo', params: [{} as unknown as string] })))
        .code,
    ).toBe('INVALID_PARAMS');
    for (const adapter of [
      join(__dirname, 'fixtures', 'nope.mjs'),
      join(__dirname, 'fixtures', 'empty-adapter.mjs'),
      join(__dirname, 'fixtures', 'hanging-adapter.mjs'),
      42,
    ]) {
      const error = await rejectionOf(
        WasmPool.create({
          minWorkers: 0,
          modules: { m: { source: fixture('init-exports'), adapter: adapter as string } },
        }),
      );
      expect(error.code).toBe('INVALID_CONFIG');
    }
  });
});
