import wabtInit from 'wabt';
import {
  WASM_PAGE_BYTES,
  WasmBinaryError,
  capResources,
  limitMemory,
  parseWasmBinary,
  type MemoryLimits,
} from '../src/modules/wasm-binary';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
type Features = Parameters<Wabt['parseWat']>[2];

let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

/** Compiles WAT to bytes with wabt; `features` may name any wabt feature (e.g. multi_memory). */
function wat(src: string, features: Record<string, boolean> = {}): Uint8Array {
  const m = wabt.parseWat('x.wat', new TextEncoder().encode(src), features as Features);
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

/** Validates with wabt (for features Node 20 does not enable, such as multi-memory or memory64). */
function wabtValidates(bytes: Uint8Array, features: Record<string, boolean>): boolean {
  let m: ReturnType<Wabt['readWasm']> | undefined;
  try {
    m = wabt.readWasm(bytes, { check: true, ...features });
    // wabt's typings omit it, but validate() takes the feature set too
    (m as unknown as { validate(f: Features): void }).validate(features as Features);
    return true;
  } catch {
    return false;
  } finally {
    m?.destroy();
  }
}

// ---- hand-made binaries ---------------------------------------------------------------------------------
const leb = (v: number): number[] => {
  const out: number[] = [];
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 ? b | 0x80 : b);
  } while (v > 0);
  return out;
};
const str = (s: string): number[] => {
  const b = Buffer.from(s, 'utf8');
  return [...leb(b.length), ...b];
};
const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const moduleOf = (...sections: number[][]): Uint8Array =>
  new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);

/** Top-level sections of a (valid) module: id and [start, end) including the header. */
function sectionsOf(bytes: Uint8Array): { id: number; start: number; end: number }[] {
  const out: { id: number; start: number; end: number }[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++];
      size += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    pos += size;
    out.push({ id, start, end: pos });
  }
  return out;
}

/** Asserts that every section except the memory section is byte-identical in `a` and `b`. */
function expectOtherSectionsIdentical(a: Uint8Array, b: Uint8Array): void {
  const sa = sectionsOf(a);
  const sb = sectionsOf(b);
  expect(sb.map((s) => s.id)).toEqual(sa.map((s) => s.id));
  sa.forEach((s, i) => {
    if (s.id === 5) return;
    expect(Buffer.from(b.subarray(sb[i].start, sb[i].end))).toEqual(Buffer.from(a.subarray(s.start, s.end)));
  });
}

function expectWasmError(fn: () => unknown, message?: RegExp): WasmBinaryError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WasmBinaryError);
  const err = caught as WasmBinaryError;
  expect(err.name).toBe('WasmBinaryError');
  if (message) expect(err.message).toMatch(message);
  return err;
}

const mem = (initial: number, maximum?: number, extra: Partial<MemoryLimits> = {}): MemoryLimits => ({
  initial,
  ...(maximum === undefined ? {} : { maximum }),
  shared: false,
  memory64: false,
  ...extra,
});

const GROW_SRC = `(module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size))`;

// ---- parsing --------------------------------------------------------------------------------------------
describe('parseWasmBinary', () => {
  it('reads exported functions with their signatures, shifted by imported functions', () => {
    const bytes = wat(`(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "now" (func $now (result f64)))
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "mul64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul)
      (func (export "scale") (param f32 f64) (result f32) local.get 0)
      (func (export "pair") (param i32) (result i32 i64) local.get 0 i64.const 7)
      (func (export "nothing"))
      (export "log_again" (func $log))
      (export "now" (func $now))
      (memory (export "memory") 1 16)
      (global (export "g") i32 (i32.const 1))
      (table (export "tbl") 1 funcref))`);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const info = parseWasmBinary(bytes);
    expect(info.exports).toEqual([
      { name: 'add', kind: 'function', signature: { params: ['i32', 'i32'], results: ['i32'] } },
      { name: 'mul64', kind: 'function', signature: { params: ['i64', 'i64'], results: ['i64'] } },
      { name: 'scale', kind: 'function', signature: { params: ['f32', 'f64'], results: ['f32'] } },
      { name: 'pair', kind: 'function', signature: { params: ['i32'], results: ['i32', 'i64'] } },
      { name: 'nothing', kind: 'function', signature: { params: [], results: [] } },
      { name: 'log_again', kind: 'function', signature: { params: ['i32'], results: [] } },
      { name: 'now', kind: 'function', signature: { params: [], results: ['f64'] } },
      { name: 'memory', kind: 'memory', memory: mem(1, 16) },
      { name: 'g', kind: 'global' },
      { name: 'tbl', kind: 'table' },
    ]);
    const native = WebAssembly.Module.exports(new WebAssembly.Module(bytes));
    expect(info.exports.map((e) => e.name)).toEqual(native.map((e) => e.name));
    expect(info.memories).toEqual([mem(1, 16)]);
    expect(info.hasStart).toBe(false);
  });

  it('reads v128 and reference types', () => {
    const bytes = wat(`(module
      (func (export "refs") (param v128 externref) (result funcref) ref.null func))`);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(parseWasmBinary(bytes).exports[0].signature).toEqual({
      params: ['v128', 'externref'],
      results: ['funcref'],
    });
  });

  it('reads imports of every kind', () => {
    const bytes = wat(
      `(module
        (type $t (func (param i32 f32)))
        (import "m" "f" (func (param i64) (result i32)))
        (import "m" "t" (table 2 10 funcref))
        (import "m" "mem" (memory 1 2))
        (import "m" "g" (global (mut i32)))
        (import "m" "e" (tag (type $t)))
        (import "ünï" "😀" (func (result f64)))
        (func (export "call2") (result f64) call 1)
        (export "mem" (memory 0))
        (export "e" (tag 0)))`,
      { exceptions: true },
    );
    expect(WebAssembly.validate(bytes)).toBe(true);
    const info = parseWasmBinary(bytes);
    expect(info.imports).toEqual([
      { module: 'm', name: 'f', kind: 'function', signature: { params: ['i64'], results: ['i32'] } },
      {
        module: 'm',
        name: 't',
        kind: 'table',
        table: { element: 'funcref', limits: { initial: 2, maximum: 10, shared: false, memory64: false } },
      },
      { module: 'm', name: 'mem', kind: 'memory', memory: mem(1, 2) },
      { module: 'm', name: 'g', kind: 'global' },
      { module: 'm', name: 'e', kind: 'tag', signature: { params: ['i32', 'f32'], results: [] } },
      { module: 'ünï', name: '😀', kind: 'function', signature: { params: [], results: ['f64'] } },
    ]);
    const native = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
    expect(info.imports.map(({ module, name, kind }) => ({ module, name, kind }))).toEqual(native);
    expect(info.exports).toEqual([
      { name: 'call2', kind: 'function', signature: { params: [], results: ['f64'] } },
      { name: 'mem', kind: 'memory', memory: mem(1, 2) },
      { name: 'e', kind: 'tag', signature: { params: ['i32', 'f32'], results: [] } },
    ]);
    expect(info.memories).toEqual([]);
  });

  it('reads memories with and without maximum, shared and 64-bit', () => {
    const noMax = parseWasmBinary(wat('(module (memory 2))')).memories;
    expect(noMax).toEqual([mem(2)]);
    expect(noMax[0]).not.toHaveProperty('maximum');
    expect(parseWasmBinary(wat('(module (memory 0 65536))')).memories).toEqual([mem(0, 65536)]);
    const shared = wat('(module (memory 1 8 shared))', { threads: true });
    expect(WebAssembly.validate(shared)).toBe(true);
    expect(parseWasmBinary(shared).memories).toEqual([mem(1, 8, { shared: true })]);
    const m64 = wat('(module (memory i64 3 5) (memory i64 1))', { memory64: true, multi_memory: true });
    expect(parseWasmBinary(m64).memories).toEqual([
      mem(3, 5, { memory64: true }),
      mem(1, undefined, { memory64: true }),
    ]);
    const imported = wat('(module (import "env" "memory" (memory 1 4 shared)))', { threads: true });
    expect(parseWasmBinary(imported).imports[0].memory).toEqual(mem(1, 4, { shared: true }));
  });

  it('detects the start section and skips custom sections', () => {
    expect(parseWasmBinary(wat('(module (func $s) (start $s))')).hasStart).toBe(true);
    const bytes = moduleOf(
      section(0, [...str('name'), 1, 2, 3]),
      section(5, [1, 0, 1]),
      section(0, str('x')),
    );
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(parseWasmBinary(bytes)).toEqual({
      imports: [],
      exports: [],
      memories: [mem(1)],
      tables: [],
      hasStart: false,
    });
    expect(parseWasmBinary(moduleOf())).toEqual({
      imports: [],
      exports: [],
      memories: [],
      tables: [],
      hasStart: false,
    });
  });
});

// ---- malformed input ------------------------------------------------------------------------------------
describe('parseWasmBinary on malformed input', () => {
  const rich = (): Uint8Array =>
    wat(
      `(module
        (type $t (func (param i32)))
        (import "env" "f" (func (param i32) (result i32)))
        (import "env" "m" (memory 1))
        (import "env" "e" (tag (type $t)))
        (memory 1 4)
        (global $g (mut i32) (i32.const 0))
        (func (export "run") (param i32) (result i32) local.get 0 call 0)
        (func $s)
        (start $s)
        (data (memory 0) (i32.const 0) "hello"))`,
      { exceptions: true, multi_memory: true },
    );

  it('rejects bad headers', () => {
    expectWasmError(() => parseWasmBinary(new Uint8Array()), /too short.*byte offset 0/);
    expectWasmError(() => parseWasmBinary(new Uint8Array([0, 0x61, 0x73])), /too short/);
    expectWasmError(() => parseWasmBinary(new TextEncoder().encode('hello world!')), /magic/);
    expectWasmError(() => parseWasmBinary(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), /version/);
    expectWasmError(() => parseWasmBinary(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0])), /component/);
  });

  it('rejects every truncation that is not a valid module, with WasmBinaryError only', () => {
    const bytes = rich();
    let thrown = 0;
    for (let n = 0; n < bytes.length; n++) {
      const prefix = bytes.subarray(0, n);
      try {
        parseWasmBinary(prefix);
      } catch (e) {
        expect(e).toBeInstanceOf(WasmBinaryError);
        expect((e as Error).message).toMatch(/byte offset \d+/);
        thrown++;
      }
    }
    // only prefixes ending exactly at a section boundary can parse
    expect(thrown).toBeGreaterThanOrEqual(bytes.length - sectionsOf(bytes).length - 1);
  });

  it('throws only WasmBinaryError on random corruption', () => {
    const bytes = rich();
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const copy = bytes.slice();
      for (let k = 1 + rand(3); k > 0; k--) copy[8 + rand(copy.length - 8)] = rand(256);
      try {
        parseWasmBinary(copy);
      } catch (e) {
        if (!(e instanceof WasmBinaryError)) throw e;
      }
    }
    for (let i = 0; i < 500; i++) {
      const junk = moduleOf(Array.from({ length: rand(64) }, () => rand(256)));
      try {
        parseWasmBinary(junk);
      } catch (e) {
        if (!(e instanceof WasmBinaryError)) throw e;
      }
    }
  });

  it('explains specific problems with their offsets', () => {
    const gc = expectWasmError(() => parseWasmBinary(moduleOf(section(1, [1, 0x4e, 0]))), /GC proposal/);
    expect(gc.offset).toBe(11);
    expectWasmError(() => parseWasmBinary(moduleOf([5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])), /LEB128/);
    expectWasmError(() => parseWasmBinary(moduleOf([5, 10, 1, 0])), /extends past the end.*byte offset 8/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(14, []))), /unknown section id 14/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(5, [1, 0, 1]), section(5, []))), /duplicate/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(5, [1, 0x08, 1]))), /limits flags 0x08/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(5, [1, 0, 1, 0]))), /section 5 is 4 bytes/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(5, [2, 0, 1]))), /end of section/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(1, [1, 0x60, 1, 0x64, 0]))), /value type 0x64/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(7, [1, 2, 0xc3, 0x28, 0, 0]))), /UTF-8/);
    expectWasmError(
      () => parseWasmBinary(moduleOf(section(7, [1, ...str('f'), 0, 0]))),
      /export "f" refers to function 0/,
    );
    expectWasmError(() => parseWasmBinary(moduleOf(section(3, [1, 0]))), /type index 0 out of range/);
    expectWasmError(() => parseWasmBinary(moduleOf(section(7, [1, ...str('f'), 9, 0]))), /export kind 0x09/);
  });

  it('parses a 1 MiB module in well under a few milliseconds', () => {
    const body = [0, ...new Array<number>(1024 * 1024).fill(0x01), 0x0b]; // no locals, nop × 1 Mi, end
    const bytes = moduleOf(
      section(1, [1, 0x60, 0, 0]),
      section(3, [1, 0]),
      section(5, [1, 0, 1]),
      section(7, [1, ...str('run'), 0, 0]),
      section(10, [1, ...leb(body.length), ...body]),
      section(0, [...str('big'), ...new Array<number>(256 * 1024).fill(7)]),
    );
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const time = (fn: () => unknown): number => {
      const runs: number[] = [];
      for (let i = 0; i < 25; i++) {
        const t0 = performance.now();
        fn();
        runs.push(performance.now() - t0);
      }
      return runs.sort((a, b) => a - b)[12];
    };
    expect(time(() => parseWasmBinary(bytes))).toBeLessThan(2);
    expect(time(() => limitMemory(bytes, 16))).toBeLessThan(10);
    expect(parseWasmBinary(limitMemory(bytes, 16)).memories).toEqual([mem(1, 16)]);
  });
});

// ---- limitMemory ----------------------------------------------------------------------------------------
describe('limitMemory', () => {
  it('gives a memory without maximum the limit, enforced by memory.grow', async () => {
    const bytes = wat(GROW_SRC);
    const out = limitMemory(bytes, 4);
    expect(out).not.toBe(bytes);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(parseWasmBinary(out).memories).toEqual([mem(1, 4)]);
    expect(parseWasmBinary(out).exports[0]).toEqual({ name: 'memory', kind: 'memory', memory: mem(1, 4) });
    expectOtherSectionsIdentical(bytes, out);
    const module = new WebAssembly.Module(out);
    expect(WebAssembly.Module.exports(module)).toEqual(
      WebAssembly.Module.exports(new WebAssembly.Module(bytes)),
    );
    const { exports } = await WebAssembly.instantiate(module);
    const grow = exports.grow as (n: number) => number;
    expect(grow(3)).toBe(1);
    expect(grow(1)).toBe(-1);
    expect((exports.size as () => number)()).toBe(4);
    expect((exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(4 * WASM_PAGE_BYTES);
    // the input is not modified
    expect(parseWasmBinary(bytes).memories).toEqual([mem(1)]);
  });

  it('lowers a larger declared maximum and keeps a smaller one', () => {
    const big = wat('(module (memory 1 100))');
    const out = limitMemory(big, 10);
    expect(out.length).toBe(big.length);
    expect(parseWasmBinary(out).memories).toEqual([mem(1, 10)]);
    expect(WebAssembly.validate(out)).toBe(true);
    const small = wat('(module (memory 1 2))');
    expect(limitMemory(small, 10)).toBe(small);
    expect(limitMemory(small, 2)).toBe(small);
    const none = wat('(module (func (export "f")))');
    expect(limitMemory(none, 1)).toBe(none);
  });

  it('throws when the initial size already exceeds the limit, in pages and MiB', () => {
    const err = expectWasmError(() => limitMemory(wat('(module (memory 20))'), 16));
    expect(err.message).toContain('20 pages (1.25 MiB)');
    expect(err.message).toContain('16 pages (1 MiB)');
    expect(err.message).toContain('memory 0');
    expect(limitMemory(wat('(module (memory 16))'), 16)).toBeDefined();
  });

  it('leaves imported memories alone', () => {
    const bytes = wat(`(module (import "env" "memory" (memory 100)) (memory 1))`, { multi_memory: true });
    const out = limitMemory(bytes, 10);
    const info = parseWasmBinary(out);
    expect(info.imports[0].memory).toEqual(mem(100));
    expect(info.memories).toEqual([mem(1, 10)]);
    const err = expectWasmError(() =>
      limitMemory(wat(`(module (import "e" "m" (memory 1)) (memory 30))`), 10),
    );
    expect(err.message).toContain('memory 1 ');
    const onlyImported = wat(`(module (import "env" "memory" (memory 100)))`);
    expect(limitMemory(onlyImported, 10)).toBe(onlyImported);
  });

  it('re-encodes a memory section that grows (longer maximum LEB128)', () => {
    const bytes = wat(GROW_SRC);
    const out = limitMemory(bytes, 60000); // 3-byte LEB128
    expect(out.length).toBe(bytes.length + 3);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(parseWasmBinary(out).memories).toEqual([mem(1, 60000)]);
    expectOtherSectionsIdentical(bytes, out);
    const capped = limitMemory(bytes, 1_000_000); // 32-bit memories cannot declare more than 65536 pages
    expect(parseWasmBinary(capped).memories).toEqual([mem(1, 65536)]);
    expect(WebAssembly.validate(capped)).toBe(true);
  });

  it('re-encodes the section size when its LEB128 gets longer', () => {
    const count = 30;
    const memories = Array.from({ length: count }, () => [0x00, 0x01]).flat(); // 61-byte section
    const bytes = moduleOf(
      section(1, [1, 0x60, 0, 0]),
      section(5, [count, ...memories]),
      section(0, [...str('after'), 1, 2, 3]),
    );
    expect(wabtValidates(bytes, { multi_memory: true })).toBe(true);
    expect(wabtValidates(bytes, {})).toBe(false); // the check is real: one memory only without multi-memory
    const out = limitMemory(bytes, 1000); // each memory gains a 2-byte maximum: 121 bytes
    expect(out.length).toBe(bytes.length + 2 * count);
    expect(parseWasmBinary(out).memories).toEqual(new Array(count).fill(mem(1, 1000)));
    expect(wabtValidates(out, { multi_memory: true })).toBe(true);
    const out2 = limitMemory(out, 100_000); // unchanged: all maxima already lower
    expect(out2).toBe(out);
    const bigger = limitMemory(bytes, 20000); // 3-byte maxima: 151 bytes, section size needs 2 bytes
    expect(bigger.length).toBe(bytes.length + 3 * count + 1);
    expect(parseWasmBinary(bigger).memories).toEqual(new Array(count).fill(mem(1, 20000)));
    expect(wabtValidates(bigger, { multi_memory: true })).toBe(true);
    expectOtherSectionsIdentical(bytes, bigger);
  });

  it('keeps shared and 64-bit memories valid', () => {
    const shared = limitMemory(wat('(module (memory 1 100 shared))', { threads: true }), 8);
    expect(WebAssembly.validate(shared)).toBe(true);
    expect(parseWasmBinary(shared).memories).toEqual([mem(1, 8, { shared: true })]);
    const m64 = limitMemory(wat('(module (memory i64 1))', { memory64: true }), 2 ** 20);
    expect(parseWasmBinary(m64).memories).toEqual([mem(1, 2 ** 20, { memory64: true })]);
    expect(wabtValidates(m64, { memory64: true })).toBe(true);
  });

  it('refuses a bad limit and malformed input', () => {
    const bytes = wat(GROW_SRC);
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => limitMemory(bytes, bad)).toThrow(RangeError);
    expectWasmError(() => limitMemory(bytes.subarray(0, bytes.length - 1), 4));
    expectWasmError(() => limitMemory(bytes, 0), /limit of 0 pages \(0 MiB\)/);
    expect(parseWasmBinary(limitMemory(wat('(module (memory 0))'), 0)).memories).toEqual([mem(0, 0)]);
  });
});

describe('capResources', () => {
  const caps = { memoryPages: 4, tableElements: 10 };
  const instantiate = (
    bytes: Uint8Array,
    imports: WebAssembly.Imports = {},
  ): Record<string, CallableFunction> =>
    new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as Record<
      string,
      CallableFunction
    >;

  test('caps every defined table and memory; table.grow and memory.grow past the cap return -1', () => {
    const bytes = wat(`(module
      (memory 1)
      (table $a 2 externref)
      (table $b 3 100000 funcref)
      (table $c 1 5 externref)
      (func (export "ga") (param i32) (result i32) (table.grow $a (ref.null extern) (local.get 0)))
      (func (export "gb") (param i32) (result i32) (table.grow $b (ref.null func) (local.get 0)))
      (func (export "gc") (param i32) (result i32) (table.grow $c (ref.null extern) (local.get 0)))
      (func (export "gm") (param i32) (result i32) (memory.grow (local.get 0))))`);
    const out = capResources(bytes, caps);
    const info = parseWasmBinary(out);
    expect(info.tables.map((t) => t.limits.maximum)).toEqual([10, 10, 5]);
    expect(info.memories.map((m) => m.maximum)).toEqual([4]);
    const { ga, gb, gc, gm } = instantiate(out);
    expect([ga!(8), ga!(1), gb!(8), gc!(5), gc!(4), gm!(4), gm!(3)]).toEqual([2, -1, -1, -1, 1, -1, 1]);
  });

  test('caps imported tables and memories: a provided one that could grow past the cap does not link', () => {
    const bytes = wat(`(module
      (import "env" "t" (table 1 funcref))
      (import "env" "m" (memory 1 100)))`);
    const out = capResources(bytes, caps);
    const imports = parseWasmBinary(out).imports;
    expect(imports.map((i) => (i.table ?? { limits: i.memory })!.limits!.maximum)).toEqual([10, 4]);
    const table = (maximum?: number): WebAssembly.Table =>
      new WebAssembly.Table({
        element: 'anyfunc',
        initial: 1,
        ...(maximum === undefined ? {} : { maximum }),
      });
    const memory = (maximum: number): WebAssembly.Memory => new WebAssembly.Memory({ initial: 1, maximum });
    expect(() => instantiate(out, { env: { t: table(10), m: memory(4) } })).not.toThrow();
    expect(() => instantiate(out, { env: { t: table(), m: memory(4) } })).toThrow(WebAssembly.LinkError);
    expect(() => instantiate(out, { env: { t: table(11), m: memory(4) } })).toThrow(WebAssembly.LinkError);
    expect(() => instantiate(out, { env: { t: table(10), m: memory(5) } })).toThrow(WebAssembly.LinkError);
  });

  test('returns the input itself when every maximum is within the caps', () => {
    const bytes = wat('(module (import "e" "t" (table 0 1 funcref)) (memory 1 2) (table 1 3 funcref))');
    expect(capResources(bytes, caps)).toBe(bytes);
  });

  test('refuses an initial size past a cap, naming what and how much', () => {
    expect(() => capResources(wat('(module (table 11 funcref))'), caps)).toThrow(
      /table 0 needs 11 elements, more than the limit of 10 initially/,
    );
    expect(() =>
      capResources(wat('(module (import "e" "t" (table 1 funcref)) (table 12 funcref))'), caps),
    ).toThrow(/table 1 needs 12 elements/);
    expect(() => capResources(wat('(module (import "e" "m" (memory 5)))'), caps)).toThrow(
      /imported memory 0 needs 5 pages \(0.3125 MiB\)/,
    );
    expect(() => capResources(wat('(module)'), { memoryPages: -1, tableElements: 1 })).toThrow(RangeError);
    expect(() => capResources(wat('(module)'), { memoryPages: 1, tableElements: 0.5 })).toThrow(RangeError);
  });

  test('re-encodes a section whose size crosses a LEB128 byte boundary', () => {
    // 42 tables of 3 bytes and their count: 127 bytes, a one-byte size. Each entry gains a byte (the
    // maximum 10): 169 bytes, a two-byte size.
    const tables = Array.from({ length: 42 }, () => '(table 0 externref)').join(' ');
    const bytes = wat(`(module ${tables})`);
    const out = capResources(bytes, caps);
    expect(out.length).toBe(bytes.length + 42 + 1);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(parseWasmBinary(out).tables.every((t) => t.limits.maximum === 10)).toBe(true);
  });

  describe('exportMemoryAs', () => {
    const hidden = { ...caps, exportMemoryAs: '__wasmpool_memory' };
    const exportsOf = (bytes: Uint8Array): string[] =>
      WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => `${e.name}:${e.kind}`);

    test('adds an export section in its place when there is none (before start, element and code)', () => {
      const bytes = wat(`(module (memory 1) (table 1 funcref) (elem (i32.const 0) $f)
        (func $f) (start $f) (data (i32.const 0) "x"))`);
      const out = capResources(bytes, hidden);
      expect(exportsOf(out)).toEqual(['__wasmpool_memory:memory']);
    });

    test('adds an entry to an export section, for a defined or an imported memory', () => {
      const defined = capResources(wat('(module (memory 1) (func (export "f")))'), hidden);
      expect(exportsOf(defined)).toEqual(['f:function', '__wasmpool_memory:memory']);
      const imported = capResources(
        wat('(module (import "e" "m" (memory 1 2)) (func (export "f")))'),
        hidden,
      );
      expect(exportsOf(imported)).toEqual(['f:function', '__wasmpool_memory:memory']);
    });

    test('adds nothing when the memory is exported, there is none, or the name is taken', () => {
      const exported = wat('(module (memory (export "mem") 1 2))');
      expect(capResources(exported, hidden)).toBe(exported);
      const none = wat('(module (func (export "f")))');
      expect(capResources(none, hidden)).toBe(none);
      const taken = wat('(module (memory 1 2) (func (export "__wasmpool_memory")))');
      expect(capResources(taken, hidden)).toBe(taken);
    });
  });
});
