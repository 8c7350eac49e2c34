// Self-check of the WebAssembly binaries produced by scripts/build-wasm.mjs (run by `npm test` before Jest).
// Plain WebAssembly on the main thread: no pool involved.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES = path.join(ROOT, 'examples', 'modules', 'build');
const FIXTURES_SRC = path.join(__dirname, 'fixtures');
const FIXTURES = path.join(FIXTURES_SRC, 'build');

type Fn = (...args: (number | bigint)[]) => number | bigint;

interface Loaded {
  instance: WebAssembly.Instance;
  fn: (name: string) => Fn;
  memory: () => WebAssembly.Memory;
}

/** Reads an AssemblyScript string (UTF-16, byte length stored at ptr - 4). */
function asString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || ptr === 0) return '';
  const len = new Uint32Array(memory.buffer.slice(ptr - 4, ptr))[0];
  return Buffer.from(memory.buffer.slice(ptr, ptr + len)).toString('utf16le');
}

async function load(file: string, extraImports: WebAssembly.Imports = {}): Promise<Loaded> {
  const state: { memory?: WebAssembly.Memory } = {};
  const imports: WebAssembly.Imports = {
    env: {
      abort: (msg: number, fileName: number, line: number, col: number) => {
        throw new Error(
          `abort: ${asString(state.memory, msg)} at ${asString(state.memory, fileName)}:${line}:${col}`,
        );
      },
    },
    ...extraImports,
  };
  const module = new WebAssembly.Module(readFileSync(file));
  // Only pass the import modules the binary asks for.
  const wanted = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
  const filtered = Object.fromEntries(Object.entries(imports).filter(([k]) => wanted.has(k)));
  const instance = await WebAssembly.instantiate(module, filtered);
  const memory = instance.exports.memory as WebAssembly.Memory | undefined;
  state.memory = memory;
  return {
    instance,
    fn: (name) => {
      const f = instance.exports[name];
      if (typeof f !== 'function') throw new Error(`${file}: no export ${name}`);
      return f as Fn;
    },
    memory: () => {
      if (!memory) throw new Error(`${file}: no exported memory`);
      return memory;
    },
  };
}

function unpack(ret: number | bigint): { ptr: number; len: number } {
  const v = BigInt.asUintN(64, BigInt(ret));
  return { ptr: Number(v >> 32n), len: Number(v & 0xffffffffn) };
}

/** The bytes calling convention: alloc/copy each input, call, read the (ptr<<32)|len output, dealloc all. */
function callBytes(m: Loaded, name: string, ...inputs: (Uint8Array | string)[]): Buffer {
  const alloc = m.fn('alloc');
  const dealloc = m.fn('dealloc');
  const args: number[] = [];
  const allocated: [number, number][] = [];
  for (const input of inputs) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    const ptr = Number(alloc(bytes.length)) >>> 0;
    new Uint8Array(m.memory().buffer, ptr, bytes.length).set(bytes);
    args.push(ptr, bytes.length);
    allocated.push([ptr, bytes.length]);
  }
  const { ptr, len } = unpack(m.fn(name)(...args));
  const buf = m.memory().buffer;
  if (ptr + len > buf.byteLength) throw new RangeError(`output [${ptr}, ${ptr + len}) out of bounds`);
  const out = Buffer.from(new Uint8Array(buf, ptr, len)); // copies
  for (const [p, l] of allocated) dealloc(p, l);
  dealloc(ptr, len);
  return out;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

describe('examples/modules/build/math.wasm', () => {
  let m: Loaded;
  beforeAll(async () => {
    m = await load(path.join(EXAMPLES, 'math.wasm'));
  });

  it('does arithmetic', () => {
    expect(m.fn('add')(1, 2)).toBe(3);
    expect(m.fn('add')(0x7fffffff, 1)).toBe(-0x80000000);
    expect(m.fn('sub')(5, 7)).toBe(-2);
    expect(m.fn('mul')(6, 7)).toBe(42);
    expect(m.fn('add64')(2n ** 62n, 2n ** 62n)).toBe(-(2n ** 63n));
    expect(m.fn('add64')(40n, 2n)).toBe(42n);
    expect(m.fn('addf')(0.5, 0.25)).toBe(0.75);
    expect(m.fn('fib')(0)).toBe(0n);
    expect(m.fn('fib')(10)).toBe(55n);
    expect(m.fn('fib')(90)).toBe(2880067194370816120n);
    expect(m.memory().buffer.byteLength).toBe(65536);
  });

  it('spin is deterministic and depends on the iteration count', async () => {
    const other = await load(path.join(EXAMPLES, 'math.wasm'));
    expect(m.fn('spin')(0)).toBe(0x811c9dc5 | 0);
    const a = m.fn('spin')(100_000);
    expect(other.fn('spin')(100_000)).toBe(a);
    expect(m.fn('spin')(100_001)).not.toBe(a);
  });
});

describe('examples/modules/build/sha256.wasm', () => {
  let m: Loaded;
  beforeAll(async () => {
    m = await load(path.join(EXAMPLES, 'sha256.wasm'));
  });

  it('matches node:crypto', () => {
    const inputs: (string | Buffer)[] = ['', 'abc', randomBytes(1 << 20)];
    for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000]) inputs.push(randomBytes(n));
    for (const input of inputs) {
      expect(callBytes(m, 'sha256', input).toString('hex')).toBe(sha256(input).toString('hex'));
      expect(callBytes(m, 'sha256_hex', input).toString('latin1')).toBe(sha256(input).toString('hex'));
    }
    expect(callBytes(m, 'sha256_hex', 'abc').toString()).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('frees what it allocates (memory stays flat over many calls)', () => {
    const input = randomBytes(4096);
    for (let i = 0; i < 100; i++) callBytes(m, 'sha256_hex', input);
    const size = m.memory().buffer.byteLength;
    for (let i = 0; i < 20_000; i++) callBytes(m, i % 2 ? 'sha256' : 'sha256_hex', input);
    expect(m.memory().buffer.byteLength).toBe(size);
  });
});

describe('examples/modules/build/text.wasm', () => {
  let m: Loaded;
  beforeAll(async () => {
    m = await load(path.join(EXAMPLES, 'text.wasm'));
  });

  it('wordstats returns JSON', () => {
    const stats = (s: string) => JSON.parse(callBytes(m, 'wordstats', s).toString('utf8'));
    expect(stats('hello world\nfoo  bar\tbaz\n')).toEqual({ bytes: 25, words: 5, lines: 2 });
    expect(stats('a\nb')).toEqual({ bytes: 3, words: 2, lines: 2 });
    expect(stats('')).toEqual({ bytes: 0, words: 0, lines: 0 });
    expect(stats('héllo wörld')).toEqual({ bytes: 13, words: 2, lines: 1 });
    const big = 'lorem ipsum dolor\n'.repeat(100_000);
    expect(stats(big)).toEqual({ bytes: big.length, words: 300_000, lines: 100_000 });
  });

  it('upper uppercases ASCII only', () => {
    expect(callBytes(m, 'upper', 'Hello, wörld 123!').toString('utf8')).toBe('HELLO, WöRLD 123!');
    expect(callBytes(m, 'upper', '').length).toBe(0);
  });
});

describe('packages/pool/test/fixtures/build/bytes.wasm', () => {
  let m: Loaded;
  beforeEach(async () => {
    m = await load(path.join(FIXTURES, 'bytes.wasm'));
  });

  it('round-trips bytes and counts alloc/dealloc', () => {
    const input = randomBytes(100_000); // forces memory.grow
    expect(callBytes(m, 'echo', input).equals(input)).toBe(true);
    expect(m.fn('live')()).toBe(0);
    expect(m.fn('allocs')()).toBe(2);
    expect(m.fn('deallocs')()).toBe(2);
    expect(callBytes(m, 'concat', 'foo', 'bar').toString()).toBe('foobar');
    expect(m.fn('live')()).toBe(0);
  });

  it('alloc is 8-byte aligned and rewinds when nothing is live', () => {
    const a = Number(m.fn('alloc')(3));
    const b = Number(m.fn('alloc')(5));
    expect(a % 8).toBe(0);
    expect(b % 8).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 3);
    expect(m.fn('live')()).toBe(2);
    m.fn('dealloc')(a, 3);
    m.fn('dealloc')(b, 5);
    expect(m.fn('live')()).toBe(0);
    expect(Number(m.fn('alloc')(1))).toBe(a);
  });

  it('has string, json, number and bad-pointer functions', () => {
    const { ptr: p1, len: l1 } = unpack(m.fn('hello')());
    expect(Buffer.from(new Uint8Array(m.memory().buffer, p1, l1)).toString()).toBe('hello, wasm');
    const { ptr: p2, len: l2 } = unpack(m.fn('json')());
    expect(JSON.parse(Buffer.from(new Uint8Array(m.memory().buffer, p2, l2)).toString())).toEqual({
      ok: true,
      n: 42,
    });
    expect(m.fn('live')()).toBe(2);
    expect(m.fn('len')(0, 17)).toBe(17);
    const p = Number(m.fn('alloc')(3));
    new Uint8Array(m.memory().buffer, p, 3).set([1, 2, 250]);
    expect(m.fn('sum')(p, 3)).toBe(253);
    for (const name of ['bad_ptr', 'bad_ptr_high']) {
      const { ptr, len } = unpack(m.fn(name)());
      expect(ptr + len).toBeGreaterThan(m.memory().buffer.byteLength);
    }
  });
});

describe('packages/pool/test/fixtures/build/faults.wasm', () => {
  let m: Loaded;
  beforeAll(async () => {
    m = await load(path.join(FIXTURES, 'faults.wasm'));
  });

  it('behaves', () => {
    expect(m.fn('ok')(41)).toBe(42);
    expect(() => m.fn('trap')()).toThrow(WebAssembly.RuntimeError);
    expect(() => m.fn('trap')()).toThrow(/unreachable/);
    expect(m.fn('div')(7, 2)).toBe(3);
    expect(() => m.fn('div')(1, 0)).toThrow(/divide by zero/);
    expect(m.fn('busy')(1000)).toBe(m.fn('busy')(1000));
    expect(() => m.fn('recurse')(0)).toThrow(RangeError);
    expect(m.fn('pages')()).toBe(1);
    expect(m.fn('grow')(2)).toBe(1);
    expect(m.fn('pages')()).toBe(3);
  });
});

describe('other fixtures', () => {
  it('imported-memory grows up to the maximum of the given memory', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const m = await load(path.join(FIXTURES, 'imported-memory.wasm'), { env: { memory } });
    expect(m.fn('pages')()).toBe(1);
    expect(m.fn('grow')(1)).toBe(1);
    expect(m.fn('grow')(1)).toBe(-1);
    expect(m.fn('pages')()).toBe(2);
  });

  it('no-alloc has take but no alloc', () => {
    const mod = new WebAssembly.Module(readFileSync(path.join(FIXTURES, 'no-alloc.wasm')));
    const names = WebAssembly.Module.exports(mod).map((e) => e.name);
    expect(names).toContain('take');
    expect(names).not.toContain('alloc');
  });

  it('host calls host-imports.js', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const createImports = require(path.join(FIXTURES_SRC, 'host-imports.js')) as (
      ctx: unknown,
    ) => WebAssembly.Imports;
    const m = await load(path.join(FIXTURES, 'host.wasm'), createImports({}));
    expect(m.fn('ok')()).toBe(7);
    expect(typeof m.fn('now')()).toBe('number');
  });

  it('start-trap fails to instantiate', async () => {
    await expect(load(path.join(FIXTURES, 'start-trap.wasm'))).rejects.toThrow(WebAssembly.RuntimeError);
  });

  it('big-initial starts at 100 pages', async () => {
    const m = await load(path.join(FIXTURES, 'big-initial.wasm'));
    expect(m.memory().buffer.byteLength).toBe(100 * 65536);
    expect(m.fn('pages')()).toBe(100);
  });

  it('invalid.txt is not wasm', () => {
    expect(WebAssembly.validate(readFileSync(path.join(FIXTURES_SRC, 'invalid.txt')))).toBe(false);
  });

  it('large.wasm is about 1 MiB and works', async () => {
    const file = path.join(FIXTURES, 'large.wasm');
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(1_000_000);
    expect(size).toBeLessThan(1_200_000);
    const m = await load(file);
    expect(m.fn('add')(2, 3)).toBe(5);
    const data = new Uint8Array(m.memory().buffer, 1024, 1 << 20);
    let sum = 0;
    for (const b of data) sum = (sum + b) | 0;
    expect(sum).toBeGreaterThan(0);
    expect(m.fn('checksum')()).toBe(sum);
  });
});
