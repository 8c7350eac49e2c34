import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import {
  BUDGET_EXPORT,
  CHECK_IMPORT,
  InstrumentError,
  REFUSED_IMPORT,
  instrument,
} from '../src/modules/instrument';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
type Features = Parameters<Wabt['parseWat']>[2];
const ALL_FEATURES = {
  simd: true,
  threads: true,
  exceptions: true,
  tail_call: true,
  reference_types: true,
  bulk_memory: true,
  multi_value: true,
} as Features;

let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

function wat(src: string): Uint8Array {
  const m = wabt.parseWat('x.wat', src, ALL_FEATURES);
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'packages/pool/test/fixtures/build');
const EXAMPLES = join(ROOT, 'examples/modules/build');

/** Every built fixture and example, plus wasm binaries embedded (base64) in installed packages. */
function corpus(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const dir of [FIXTURES, EXAMPLES]) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wasm'))) {
      out.push([file, new Uint8Array(readFileSync(join(dir, file)))]);
    }
  }
  for (const js of ['node_modules/cjs-module-lexer/dist/lexer.js', 'node_modules/prettier/plugins/flow.js']) {
    const text = readFileSync(join(ROOT, js), 'utf8');
    for (const match of text.matchAll(/AGFzbQ[A-Za-z0-9+/=]{100,}/g)) {
      out.push([js, new Uint8Array(Buffer.from(match[0], 'base64'))]);
    }
  }
  return out;
}

interface Instrumented {
  exports: WebAssembly.Exports;
  checks: () => number;
  budget: () => number;
  refused: () => number;
}

/** Instantiates an instrumented module whose check hands out `slice` units, or throws `stop()`. */
function instantiate(
  bytes: Uint8Array,
  imports: WebAssembly.Imports = {},
  slice = 1000,
  stop?: () => Error | undefined,
): Instrumented {
  let checks = 0;
  let refused = 0;
  const check = (): number => {
    checks++;
    const error = stop?.();
    if (error !== undefined) throw error;
    return slice;
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    ...imports,
    [CHECK_IMPORT.module]: { [CHECK_IMPORT.name]: check, [REFUSED_IMPORT.name]: () => refused++ },
  });
  const global = (name: string): WebAssembly.Global => instance.exports[name] as WebAssembly.Global;
  return {
    exports: instance.exports,
    checks: () => checks,
    budget: () => global(BUDGET_EXPORT).value as number,
    refused: () => refused,
  };
}

describe('instrument: every binary at hand', () => {
  const binaries = corpus();

  it('finds real binaries to rewrite (fixtures, AssemblyScript examples, embedded in packages)', () => {
    expect(binaries.length).toBeGreaterThanOrEqual(15);
  });

  it.each(binaries.map(([name, bytes], i) => [`${i}: ${name}`, bytes] as const))(
    '%s validates after rewriting',
    (_name, bytes) => {
      expect(WebAssembly.validate(bytes)).toBe(true);
      const out = instrument(bytes);
      expect(WebAssembly.validate(out)).toBe(true);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(out));
      expect(imports).toContainEqual({ ...CHECK_IMPORT, kind: 'function' });
      expect(imports).toContainEqual({ ...REFUSED_IMPORT, kind: 'function' });
    },
  );
});

describe('instrument: same results', () => {
  const features = readFileSync(join(FIXTURES, 'instrument-features.wasm'));

  it.each(['interruptible', 'metered'] as const)(
    '%s: computes what the original computes, every instruction family',
    (mode) => {
      const original = new WebAssembly.Instance(new WebAssembly.Module(features)).exports;
      const rewritten = instantiate(instrument(new Uint8Array(features), { mode }), {}, 7);
      const calls: [string, unknown[]][] = [
        ['fact', [20n]],
        ['indirect', [0, 5]],
        ['indirect', [1, 5]],
        ['loops', [1000]],
        ['numeric', [1e12]],
        ['numeric', [-3.7]],
        ['bulk', []],
        ['simd', [3, 7]],
        ['atomics', [12]],
        ['exceptions', [41]],
        ['select_typed', [0]],
        ['select_typed', [1]],
        ['ref_func', []],
        ['grow', [1]],
        ['grow', [5]],
      ];
      for (const [name, args] of calls) {
        const f = (exports: WebAssembly.Exports): unknown =>
          (exports[name] as (...a: unknown[]) => unknown)(...args);
        expect([name, f(rewritten.exports)]).toEqual([name, f(original)]);
      }
      // A slice of 7 units across 1000 loop iterations and tail calls means many checks.
      expect(rewritten.checks()).toBeGreaterThan(mode === 'metered' ? 100 : 10);
    },
  );

  it('metered: counts one unit per loop iteration and per entry into a function that calls', () => {
    const { exports, budget } = instantiate(
      instrument(new Uint8Array(features), { mode: 'metered' }),
      {},
      1_000_000,
    );
    const loops = exports.loops as (n: number) => number;
    loops(0); // the first call asks for a budget
    let before = budget();
    loops(10);
    // 11 passes through the loop header; `loops` calls nothing: no entry unit.
    expect(before - budget()).toBe(11);
    const fact = exports.fact as (n: bigint) => bigint;
    before = budget();
    expect(fact(5n)).toBe(120n);
    // fact calls fact_acc (1 entry), which tail-calls itself 4 times (5 entries): 6 units.
    expect(before - budget()).toBe(6);
  });

  it('interruptible: loops claim units 100 at a time, never fewer than they run', () => {
    const { exports, budget } = instantiate(instrument(new Uint8Array(features)), {}, 1_000_000);
    const loops = exports.loops as (n: number) => number;
    loops(0);
    let before = budget();
    loops(10); // 11 iterations: one claim
    expect(before - budget()).toBe(100);
    before = budget();
    loops(250); // 251 iterations: three claims
    expect(before - budget()).toBe(300);
  });

  it('records a grow refused by the declared maximum, and not a granted one', () => {
    const { exports, refused } = instantiate(instrument(new Uint8Array(features)));
    const grow = exports.grow as (pages: number) => number;
    expect(grow(1)).toBe(1);
    expect(refused()).toBe(0);
    expect(grow(1)).toBe(-1);
    expect(refused()).toBe(1);
  });

  it('records a refused table.grow', () => {
    const bytes = instrument(
      wat(`(module (table 1 3 externref)
        (func (export "g") (param i32) (result i32) (table.grow 0 (ref.null extern) (local.get 0))))`),
    );
    const { exports, refused } = instantiate(bytes);
    const g = exports.g as (n: number) => number;
    expect(g(2)).toBe(1);
    expect(refused()).toBe(0);
    expect(g(1)).toBe(-1);
    expect(refused()).toBe(1);
  });

  it('computes the same SHA-256 as the original AssemblyScript module', () => {
    const bytes = readFileSync(join(EXAMPLES, 'sha256.wasm'));
    const digest = (exports: WebAssembly.Exports): string => {
      const alloc = exports.alloc as (n: number) => number;
      const sha = exports.sha256 as (p: number, n: number) => bigint;
      const memory = exports.memory as WebAssembly.Memory;
      const input = new Uint8Array(10_000).map((_, i) => i * 7);
      const ptr = alloc(input.length);
      new Uint8Array(memory.buffer, ptr, input.length).set(input);
      const packed = sha(ptr, input.length);
      const at = Number(packed >> 32n);
      return Buffer.from(new Uint8Array(memory.buffer, at, Number(packed & 0xffffffffn))).toString('hex');
    };
    const abort = { env: { abort: () => undefined } };
    const original = new WebAssembly.Instance(new WebAssembly.Module(bytes), abort).exports;
    expect(digest(instantiate(instrument(new Uint8Array(bytes)), abort, 3).exports)).toBe(digest(original));
  });

  it('keeps call, return_call, ref.func, element segments, exports and start pointing at the same functions', () => {
    const bytes = wat(`(module
      (import "env" "log" (func $log (param i32)))
      (global $started (mut i32) (i32.const 0))
      (global $f funcref (ref.func $seven))
      (table 2 funcref)
      (elem (i32.const 0) $seven $eight)
      (func $seven (result i32) (i32.const 7))
      (func $eight (result i32) (i32.const 8))
      (func $start (global.set $started (i32.const 1)) (call $log (i32.const 3)))
      (func (export "via_table") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
      (func (export "via_call") (result i32) (i32.add (call $seven) (call $eight)))
      (func (export "via_tail") (result i32) (return_call $eight))
      (func (export "started") (result i32) (global.get $started))
      (export "seven" (func $seven))
      (start $start))`);
    const logged: number[] = [];
    const { exports } = instantiate(instrument(bytes), { env: { log: (x: number) => logged.push(x) } });
    const call = (name: string, ...args: number[]): unknown =>
      (exports[name] as (...a: number[]) => unknown)(...args);
    expect([call('via_table', 0), call('via_table', 1), call('via_call'), call('via_tail')]).toEqual([
      7, 8, 15, 8,
    ]);
    expect(call('seven')).toBe(7);
    expect(call('started')).toBe(1);
    expect(logged).toEqual([3]);
  });

  it('keeps function names (the name section) on the same functions', () => {
    // The import is function 0 and $boom function 1; the added import takes index 1 and $boom moves
    // to 2: without renumbering, the trace would name the wrong function.
    const m = wabt.parseWat(
      'x.wat',
      '(module (import "env" "f" (func $imported)) (func $boom (export "boom") unreachable))',
      ALL_FEATURES,
    );
    const named = new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
    m.destroy();
    const { exports } = instantiate(instrument(named), { env: { f: () => undefined } });
    expect(() => (exports.boom as () => void)()).toThrow(
      expect.objectContaining({ stack: expect.stringMatching(/boom \(wasm:/) }) as Error,
    );
  });
});

describe('instrument: stopping code', () => {
  class Stop extends Error {}

  it('stops an endless loop at a check', () => {
    const bytes = instrument(wat('(module (func (export "spin") (loop $l (br $l))))'));
    let n = 0;
    const { exports } = instantiate(bytes, {}, 100, () => (++n > 50 ? new Stop('stop') : undefined));
    expect(() => (exports.spin as () => void)()).toThrow(Stop);
    expect(n).toBe(51);
  });

  it('stops unbounded tail recursion (checks at function entry)', () => {
    const bytes = instrument(wat('(module (func $f (export "f") (return_call $f)))'));
    let n = 0;
    const { exports } = instantiate(bytes, {}, 100, () => (++n > 10 ? new Stop('stop') : undefined));
    expect(() => (exports.f as () => void)()).toThrow(Stop);
  });

  it('a module cannot swallow the stop with catch_all in a loop', () => {
    const bytes = instrument(
      wat(`(module (func $work (loop $l (br $l)))
        (func (export "stubborn") (result i32) (local $caught i32)
          (loop $again
            (try (do (call $work))
              (catch_all (local.set $caught (i32.add (local.get $caught) (i32.const 1)))))
            (br $again))
          (local.get $caught)))`),
    );
    let stopping = false;
    let n = 0;
    const { exports } = instantiate(bytes, {}, 100, () => {
      if (++n > 20) stopping = true;
      return stopping ? new Stop('stop') : undefined;
    });
    expect(() => (exports.stubborn as () => number)()).toThrow(Stop);
  });

  it('asks the host during a start function', () => {
    const bytes = instrument(wat('(module (func $s (loop $l (br $l))) (start $s))'));
    expect(() => instantiate(bytes, {}, 10, () => new Stop('stop'))).toThrow(Stop);
  });

  it('without checkpoints, rewrites only the grows', () => {
    const bytes = wat('(module (func (export "spin") (param i32) (loop $l (br_if $l (local.get 0)))))');
    const { exports, checks } = instantiate(instrument(bytes, { mode: 'none' }), {}, 1, () => new Stop('x'));
    (exports.spin as (n: number) => void)(0);
    expect(checks()).toBe(0);
  });
});

describe('instrument: loops of a few iterations are counted once, at entry', () => {
  /** A module whose `run(n) -> i32` is a `for (i = 0; i < C; i += k)` loop with `body` inside. */
  const forLoop = (body: string, { bound = 64, step = 1, compare = 'i32.lt_u' } = {}): Uint8Array =>
    wat(`(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
      (loop $l
        (if (${compare} (local.get $i) (i32.const ${bound}))
          (then
            ${body}
            (local.set $sum (i32.add (local.get $sum) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const ${step})))
            (br $l))))
      (local.get $sum)))`);

  it('a bounded loop claims once per entry and computes the same', () => {
    const bytes = forLoop('');
    const original = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    const { exports, budget } = instantiate(instrument(bytes), {}, 1_000_000);
    const run = exports.run as (n: number) => number;
    run(0);
    const before = budget();
    for (let k = 0; k < 10; k++) expect(run(0)).toBe((original.run as (n: number) => number)(0));
    // One claim of LOOP_CHUNK (100) units per call, not one check per iteration.
    expect(before - budget()).toBe(10 * 100);
  });

  class Stop extends Error {}
  it.each([
    ['the body resets the counter', '(local.set $i (i32.const 0))', {}],
    ['the body writes the counter with local.tee', '(drop (local.tee $i (i32.const 1)))', {}],
    ['a second branch back to the loop', '(br_if $l (i32.const 1))', {}],
    ['a br_table naming the loop', '(block $b (br_table $b $l (i32.const 1)))', {}],
    ['a step of 0', '', { step: 0 }],
    ['an endless loop nested in a bounded one', '(loop $inner (br $inner))', {}],
    [
      'a bound above 100',
      '(if (i32.eq (local.get $i) (i32.const 150)) (then (local.set $i (i32.const 0))))',
      { bound: 200 },
    ],
  ])('not bounded: %s — counted at every iteration, and stoppable', (_what, body, shape) => {
    // Each of these runs forever (or would, for the shapes the bound check rejects).
    const bytes = forLoop(body, shape);
    let checks = 0;
    const { exports } = instantiate(instrument(bytes), {}, 100, () =>
      ++checks > 20 ? new Stop('stop') : undefined,
    );
    const run = exports.run as (n: number) => number;
    expect(() => run(0)).toThrow(Stop);
  });

  it('not bounded: a signed comparison (a counter starting at -2^31 would run 2^31 times)', () => {
    const bytes = wat(`(module (func (export "run") (param $i i32)
      (loop $l (if (i32.lt_s (local.get $i) (i32.const 64))
        (then (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))))`);
    let checks = 0;
    const { exports } = instantiate(instrument(bytes), {}, 100, () =>
      ++checks > 20 ? new Stop('stop') : undefined,
    );
    expect(() => (exports.run as (i: number) => void)(-(2 ** 31))).toThrow(Stop);
  });
});

describe('instrument: mutated modules', () => {
  it('every mutant the engine accepts is rewritten into a valid module or refused with InstrumentError', () => {
    // Deterministic xorshift32, so that a failure can be replayed.
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const seeds = corpus()
      .filter(([, bytes]) => bytes.length < 20_000)
      .map(([, bytes]) => bytes);
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const mutant = seeds[n % seeds.length]!.slice();
      for (let flips = 1 + random(3); flips > 0; flips--)
        mutant[8 + random(mutant.length - 8)] ^= 1 << random(8);
      if (!WebAssembly.validate(mutant)) continue;
      try {
        expect(WebAssembly.validate(instrument(mutant))).toBe(true);
        accepted++;
      } catch (error) {
        if (!(error instanceof InstrumentError)) throw error;
        refused++;
      }
    }
    // Most flips break a module; enough of them leave one the engine accepts.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeLessThan(accepted);
  });
});

describe('instrument: refuses what it does not know', () => {
  /** A module with one function `() -> ()` whose body (after its locals) is `code`. */
  function withBody(code: number[], locals: number[] = [0]): Uint8Array {
    const body = [...locals, ...code];
    return new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      0x01,
      0x04,
      0x01,
      0x60,
      0x00,
      0x00, // type () -> ()
      0x03,
      0x02,
      0x01,
      0x00, // one function
      0x0a,
      body.length + 2,
      0x01,
      body.length,
      ...body,
    ]);
  }

  it('reads a well-formed hand-made body', () => {
    expect(WebAssembly.validate(instrument(withBody([0x01, 0x0b])))).toBe(true);
  });

  it.each([
    ['GC prefix 0xFB', [0xfb, 0x00, 0x0b]],
    ['exnref try_table 0x1F', [0x1f, 0x40, 0x00, 0x0b]],
    ['call_ref 0x14', [0x14, 0x00, 0x0b]],
    ['an unassigned SIMD opcode', [0xfd, 0x9a, 0x01, 0x0b]],
    ['relaxed SIMD (0xFD 0x100)', [0xfd, 0x80, 0x02, 0x0b]],
    ['an unknown 0xFC sub-opcode', [0xfc, 0x12, 0x0b]],
    ['an unknown atomic', [0xfe, 0x4f, 0x0b]],
    ['a multi-memory memarg', [0x41, 0x00, 0x28, 0x40, 0x01, 0x00, 0x1a, 0x0b]],
    ['memory.size of memory 1', [0x3f, 0x01, 0x1a, 0x0b]],
    ['a truncated LEB128', [0x41, 0x80, 0x80]],
    ['an over-long LEB128', [0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b]],
    ['a body without its end', [0x01, 0x01]],
    ['bytes after the end', [0x0b, 0x01]],
  ])('%s', (_what, code) => {
    expect(() => instrument(withBody(code))).toThrow(InstrumentError);
  });

  it('refuses a local of a type it does not know', () => {
    expect(() => instrument(withBody([0x0b], [1, 1, 0x64]))).toThrow(InstrumentError);
  });

  it('refuses a module that already uses its reserved names', () => {
    expect(() => instrument(wat('(module (import "__wasmpool" "x" (func)))'))).toThrow(InstrumentError);
    expect(() => instrument(wat(`(module (global (export "${BUDGET_EXPORT}") i32 (i32.const 0)))`))).toThrow(
      InstrumentError,
    );
  });
});
