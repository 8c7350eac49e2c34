import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { WasmPool, WasmPoolError } from '@wasmpool/pool';
import { example, fixture, hostImportsPath, rejectionOf, trackPools } from './helpers';

const track = trackPools();
const math = example('math');
const mathBytes = readFileSync(math);
const mathSha = createHash('sha256').update(mathBytes).digest('hex');

describe('modules', () => {
  test('registered from a path, a file URL, bytes and an ArrayBuffer', async () => {
    const buffer = mathBytes.buffer.slice(mathBytes.byteOffset, mathBytes.byteOffset + mathBytes.byteLength);
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        maxWorkers: 1,
        modules: {
          fromPath: { source: math },
          fromUrl: { source: pathToFileURL(math) },
          fromBytes: { source: new Uint8Array(mathBytes) },
          fromBuffer: { source: buffer },
        },
      }),
    );
    for (const name of ['fromPath', 'fromUrl', 'fromBytes', 'fromBuffer']) {
      await expect(pool.run({ module: name, function: 'add', params: [40, 2] })).resolves.toBe(42);
    }
  });

  test('modules() lists exports with signatures read from the binary', async () => {
    const pool = track(
      await WasmPool.create({ minWorkers: 0, modules: { math: { source: math, memoryLimitMb: 8 } } }),
    );
    const [info] = pool.modules();
    expect(info).toMatchObject({ name: 'math', sha256: mathSha, size: mathBytes.length, memoryLimitMb: 8 });
    const byName = Object.fromEntries(info!.exports.map((e) => [e.name, e.signature]));
    expect(byName.add).toEqual({ params: ['i32', 'i32'], results: ['i32'] });
    expect(byName.add64).toEqual({ params: ['i64', 'i64'], results: ['i64'] });
    expect(byName.addf).toEqual({ params: ['f64', 'f64'], results: ['f64'] });
    expect(byName.fib).toEqual({ params: ['i32'], results: ['i64'] });
  });

  test('sha256 pinning: a matching digest is accepted, another is INTEGRITY_MISMATCH', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 0,
        modules: { math: { source: math, sha256: mathSha.toUpperCase() } },
      }),
    );
    expect(pool.modules()[0]!.sha256).toBe(mathSha);
    const error = await rejectionOf(
      WasmPool.create({ minWorkers: 0, modules: { math: { source: math, sha256: '0'.repeat(64) } } }),
    );
    expect(error.code).toBe('INTEGRITY_MISMATCH');
    expect(error.message).toContain(mathSha);
    await expect(
      pool.registerModule('other', { source: math, sha256: 'f'.repeat(64) }),
    ).rejects.toMatchObject({
      code: 'INTEGRITY_MISMATCH',
    });
    await expect(pool.registerModule('other', { source: math, sha256: 'xyz' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });

  test("invalid bytes are INVALID_MODULE with the engine's reason", async () => {
    const error = await rejectionOf(
      WasmPool.create({
        minWorkers: 0,
        modules: { bad: { source: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]) } },
      }),
    );
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/module 'bad' is not valid WebAssembly: WebAssembly.compile\(\)/);
    const text = await rejectionOf(
      WasmPool.create({ minWorkers: 0, modules: { txt: { source: Buffer.from('hello') } } }),
    );
    expect(text.code).toBe('INVALID_MODULE');
    const missing = await rejectionOf(
      WasmPool.create({ minWorkers: 0, modules: { gone: { source: '/nope/x.wasm' } } }),
    );
    expect(missing).toMatchObject({
      code: 'INVALID_MODULE',
      message: expect.stringMatching(/cannot read \/nope\/x.wasm/),
    });
  });

  test('imports nobody provides are refused; a start function that traps fails create()', async () => {
    const error = await rejectionOf(
      WasmPool.create({ minWorkers: 0, modules: { host: { source: fixture('host') } } }),
    );
    expect(error.code).toBe('INVALID_MODULE');
    expect(error.message).toMatch(/imports host.exit \(function\).*hostImports/);
    const start = await rejectionOf(
      WasmPool.create({ minWorkers: 1, modules: { s: { source: fixture('start-trap') } } }),
    );
    expect(start.code).toBe('INVALID_MODULE');
    expect(start.message).toMatch(/cannot be instantiated/);
  });

  test('a compiled WebAssembly.Module: its bytes are read back, typed and capped like bytes', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        modules: {
          math: { source: new WebAssembly.Module(mathBytes), sha256: mathSha },
          sha: { source: new WebAssembly.Module(readFileSync(example('sha256'))) },
          mem: {
            source: new WebAssembly.Module(readFileSync(fixture('imported-memory'))),
            memoryLimitMb: 0.5,
          },
          faults: { source: new WebAssembly.Module(readFileSync(fixture('faults'))), memoryLimitMb: 1 },
        },
      }),
    );
    const math = pool.modules().find((m) => m.name === 'math')!;
    expect(math).toMatchObject({ sha256: mathSha, size: mathBytes.length });
    expect(math.exports.find((e) => e.name === 'add')!.signature).toEqual({
      params: ['i32', 'i32'],
      results: ['i32'],
    });
    await expect(pool.run({ module: 'math', function: 'add', params: [40, 2] })).resolves.toBe(42);
    await expect(pool.run({ module: 'math', function: 'add64', params: [1n, 2n] })).resolves.toBe(3n);
    await expect(pool.run({ module: 'math', function: 'add', params: [1] })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
    const digest = await pool.run<Uint8Array>({
      module: 'sha',
      function: 'sha256',
      params: ['abc'],
      output: 'bytes',
    });
    expect(Buffer.from(digest).toString('hex')).toBe(createHash('sha256').update('abc').digest('hex'));
    // An imported memory gets the cap as its maximum (0.5 MiB = 8 pages).
    await expect(pool.run({ module: 'mem', function: 'grow', params: [7] })).resolves.toBe(1);
    await expect(pool.run({ module: 'mem', function: 'grow', params: [1] })).resolves.toBe(-1);
    // A memory of its own is capped in the binary too: memory.grow past the cap returns -1.
    await expect(pool.run({ module: 'faults', function: 'grow', params: [20] })).resolves.toBe(-1);
    await expect(pool.run({ module: 'faults', function: 'pages' })).resolves.toBe(1);
    await expect(
      WasmPool.create({
        minWorkers: 0,
        modules: { m: { source: new WebAssembly.Module(mathBytes), sha256: '0'.repeat(64) } },
      }),
    ).rejects.toMatchObject({ code: 'INTEGRITY_MISMATCH' });
    await expect(
      WasmPool.create({
        minWorkers: 0,
        modules: {
          big: { source: new WebAssembly.Module(readFileSync(fixture('big-initial'))), memoryLimitMb: 1 },
        },
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_MODULE',
      message: expect.stringMatching(/initial memory of 6.25 MiB/),
    });
  });

  test('registerModule and unregisterModule while tasks run lose no task', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 2,
        maxWorkers: 2,
        maxQueue: 1_000_000,
        modules: { m: { source: math } },
      }),
    );
    const tasks = Array.from({ length: 50_000 }, (_, i) => ({
      module: 'm',
      function: 'add',
      params: [i, 1],
    }));
    const first = pool.runBatch(tasks);
    // Replace the module with another one under the same name while the first batch is in flight.
    const info = await pool.registerModule('m', { source: fixture('faults') });
    expect(info.exports.map((e) => e.name)).toContain('ok');
    const second = pool.runBatch(tasks.map((_, i) => ({ module: 'm', function: 'ok', params: [i] })));
    const removed = pool.unregisterModule('m');
    const [a, b] = await Promise.all([first, second]);
    await expect(removed).resolves.toBe(true);
    expect(a.every((r, i) => r.success && r.output === i + 1)).toBe(true);
    expect(b.every((r, i) => r.success && r.output === i + 1)).toBe(true);
    await expect(pool.run({ module: 'm', function: 'ok', params: [1] })).rejects.toMatchObject({
      code: 'MODULE_NOT_FOUND',
    });
    await expect(pool.unregisterModule('m')).resolves.toBe(false);
    expect(pool.modules()).toEqual([]);
    await pool.registerModule('again', { source: math });
    await expect(pool.run({ module: 'again', function: 'add', params: [2, 2] })).resolves.toBe(4);
  });

  test('run() after a module is replaced or unregistered reaches the new version, or none', async () => {
    const pool = track(
      await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules: { m: { source: math } } }),
    );
    const add = { module: 'm', function: 'add', params: [2, 3] };
    await expect(pool.run(add)).resolves.toBe(5);
    // The same name, another module without `add`: the old version must not answer.
    await pool.registerModule('m', { source: example('sha256') });
    expect(await rejectionOf(pool.run(add))).toMatchObject({ code: 'FUNCTION_NOT_FOUND' });
    await pool.registerModule('m', { source: math });
    await expect(pool.run(add)).resolves.toBe(5);
    await expect(pool.unregisterModule('m')).resolves.toBe(true);
    expect(await rejectionOf(pool.run(add))).toMatchObject({ code: 'MODULE_NOT_FOUND' });
    expect(pool.stats().failures).toEqual({ FUNCTION_NOT_FOUND: 1, MODULE_NOT_FOUND: 1 });
  });

  test('hostile options and specs are INVALID_CONFIG or INVALID_MODULE, never the raw error', async () => {
    const throwing = (what: string): PropertyDescriptor => ({
      enumerable: true,
      get() {
        throw new Error(`${what} getter`);
      },
    });
    const cases: [unknown, string, string][] = [
      [Object.defineProperty({}, 'maxWorkers', throwing('option')), 'INVALID_CONFIG', 'option getter'],
      [
        {
          modules: new Proxy(
            {},
            {
              ownKeys: () => {
                throw new Error('keys trap');
              },
            },
          ),
        },
        'INVALID_CONFIG',
        'keys trap',
      ],
      [{ modules: Object.defineProperty({}, 'm', throwing('module')) }, 'INVALID_CONFIG', 'module getter'],
      [
        { modules: { m: Object.defineProperty({}, 'source', throwing('source')) } },
        'INVALID_CONFIG',
        'source getter',
      ],
      [
        { modules: { m: { source: math, wasi: Object.defineProperty({}, 'args', throwing('wasi')) } } },
        'INVALID_CONFIG',
        'wasi getter',
      ],
    ];
    for (const [options, code, text] of cases) {
      const error = await rejectionOf(WasmPool.create(options as never));
      expect(error).toBeInstanceOf(WasmPoolError);
      expect(error).toMatchObject({ code, message: expect.stringContaining(text) });
    }
    const pool = track(await WasmPool.create({ minWorkers: 1, maxWorkers: 1 }));
    // A Uint8Array subclass that lies about its length: the real bytes are compiled and hashed.
    class Liar extends Uint8Array {
      override get length(): number {
        return 5;
      }
      override get byteLength(): number {
        return 5;
      }
    }
    const info = await pool.registerModule('liar', { source: new Liar(mathBytes), sha256: mathSha });
    expect(info).toMatchObject({ size: mathBytes.length, sha256: mathSha });
    await expect(pool.run({ module: 'liar', function: 'add', params: [1, 2] })).resolves.toBe(3);
    const detached = mathBytes.buffer.slice(mathBytes.byteOffset, mathBytes.byteOffset + mathBytes.length);
    structuredClone(detached, { transfer: [detached] });
    for (const source of [new Proxy(new Uint8Array(mathBytes), {}), detached]) {
      expect(await rejectionOf(pool.registerModule('bad', { source: source as Uint8Array }))).toMatchObject({
        code: 'INVALID_MODULE',
      });
    }
    expect(pool.modules().map((m) => m.name)).toEqual(['liar']);
  });

  test('of overlapping register and unregister calls for a name, the last made wins, not the last done', async () => {
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2 }));
    const large = fixture('large'); // about 1 MiB: it compiles and loads after math does
    const size = (name: string): number | undefined => pool.modules().find((m) => m.name === name)?.size;
    // A slow registration, then a quick one of the same name: the quick one (made last) serves.
    const [slow, quick] = await Promise.all([
      pool.registerModule('m', { source: large }),
      pool.registerModule('m', { source: math }),
    ]);
    expect(slow.size).toBeGreaterThan(1_000_000);
    expect(size('m')).toBe(quick.size);
    await expect(pool.run({ module: 'm', function: 'add', params: [2, 3] })).resolves.toBe(5);
    // A registration, then an unregistration made before it finished: the name ends up unused.
    const registering = pool.registerModule('n', { source: large });
    await expect(pool.unregisterModule('n')).resolves.toBe(false);
    await registering;
    expect(size('n')).toBeUndefined();
    // A later call that fails decides nothing: the earlier one stands.
    const [kept, failed] = await Promise.allSettled([
      pool.registerModule('o', { source: large }),
      pool.registerModule('o', { source: new Uint8Array([0, 97, 115, 109]) }),
    ]);
    expect(kept.status).toBe('fulfilled');
    expect(failed).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_MODULE' } });
    expect(size('o')).toBeGreaterThan(1_000_000);
  });

  test("what modules() and registerModule() return is the caller's copy: editing it changes no task", async () => {
    const pool = track(
      await WasmPool.create({ minWorkers: 1, maxWorkers: 1, modules: { m: { source: math } } }),
    );
    const listed = pool.modules()[0]!;
    const add = listed.exports.find((e) => e.name === 'add')!;
    add.signature.params.length = 0;
    add.name = 'renamed';
    listed.exports.length = 0;
    const info = await pool.registerModule('n', { source: math });
    info.exports.find((e) => e.name === 'add')!.signature.params.push('i32');
    for (const module of ['m', 'n']) {
      await expect(pool.run({ module, function: 'add', params: [2, 3] })).resolves.toBe(5);
      const again = pool.modules().find((m) => m.name === module)!;
      expect(again.exports.find((e) => e.name === 'add')?.signature).toEqual({
        params: ['i32', 'i32'],
        results: ['i32'],
      });
    }
  });

  test('host imports are loaded inside the workers', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        modules: { host: { source: fixture('host'), hostImports: hostImportsPath } },
      }),
    );
    await expect(pool.run({ module: 'host', function: 'ok' })).resolves.toBe(7);
    expect(typeof (await pool.run({ module: 'host', function: 'now' }))).toBe('number');
  });
});
