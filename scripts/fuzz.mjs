#!/usr/bin/env node
// Fuzzes the pool's sandbox with mutated modules (issue 12, point 9).
//
//   npm run fuzz -- --count 2000 --seed 1        (needs a build: `npm run fuzz` builds first)
//
// Mutants come from seed modules (the built examples and test fixtures) and from modules generated
// here with odd shapes (huge memory and table limits, many tables, imported tables and memories,
// start functions and _initialize that loop or trap, results of every value type), then get byte-level
// damage: bit flips, byte stores, truncation, section size/id/order corruption, over-long and huge
// LEB128 numbers. Each mutant is registered (as bytes, or now and then as a compiled module) in one
// pool with small caps; a registered one runs its numeric exports once each. Every third mutant is
// registered with fuel, and runs each export twice: the same task must use the same fuel.
//
// What must hold, else it is a violation: registration resolves or rejects with a WasmPoolError within
// a deadline; every task settles with a result or a WasmPoolError within a deadline; no instance's
// memory passes its cap in stats(); a canary task still runs after each mutant; and the process is
// never aborted. The pool runs in a child process: if the child dies or stops reporting, the parent
// reports the mutant (regenerated from seed and index, and written to fuzz-failures/) and exits 1.
//
// Prints counts: registered, refused by code, tasks run and their outcomes by code. Exit 0: no violation.

import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const SEED_DIRS = ['examples/modules/build', 'packages/pool/test/fixtures/build'];
/** Seeds larger than this are skipped (mutating them costs time, not coverage). */
const MAX_SEED_BYTES = 64 * 1024;

/** Caps of the fuzzed pool, small so that passing one would show. */
const LIMITS = { memoryLimitMb: 1, tableLimit: 1000, instantiateTimeoutMs: 250, taskTimeoutMs: 100 };
/** A registration or a task that has not settled by then is a hang (ms). */
const SETTLE_DEADLINE_MS = 10_000;
/** The parent gives up on a child that reports nothing for this long (ms). */
const SILENCE_MS = 30_000;

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    child: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const count = Number(args.count);
const seed = Number(args.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error('fuzz: --count must be a positive integer and --seed an integer');
  process.exit(2);
}

// ---- deterministic randomness: mutant i of seed s is always the same module ----

function prng(a) {
  let state = a >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rngFor(index) {
  const rand = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const int = (n) => Math.floor(rand() * n);
  const pick = (list) => list[int(list.length)];
  return { rand, int, pick, chance: (p) => rand() < p };
}

// ---- a small module builder for generated seeds ----

function uleb(n) {
  const out = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
const sleb32 = (n) => {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const str = (s) => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, body) => [id, ...uleb(body.length), ...body];
const T = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f };
const ZERO = {
  i32: [0x41, 0],
  i64: [0x42, 0],
  f32: [0x43, 0, 0, 0, 0],
  f64: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  v128: [0xfd, 0x0c, ...new Array(16).fill(0)],
  funcref: [0xd2, 0], // ref.func 0 (declared by an element segment)
  externref: [0xd0, 0x6f], // ref.null extern
};
const limits = (initial, maximum) =>
  maximum === undefined ? [0x00, ...uleb(initial)] : [0x01, ...uleb(initial), ...uleb(maximum)];

/** Sizes worth trying: zero, small, at and past the fuzz caps, engine limits, the largest LEB values. */
const SIZES = [0, 1, 2, 16, 17, 999, 1000, 1001, 65536, 65537, 1_000_000, 10_000_000, 2 ** 32 - 1];

/** A generated module with odd parts; every part is optional and sized at random. */
function generated(r) {
  const types = [];
  const typeOf = (params, results) => {
    const key = JSON.stringify([params, results]);
    let at = types.findIndex((t) => t.key === key);
    if (at < 0)
      at =
        types.push({
          key,
          bytes: [0x60, ...vec(params.map((p) => [T[p]])), ...vec(results.map((p) => [T[p]]))],
        }) - 1;
    return at;
  };
  const imports = [];
  const tables = [];
  const funcs = []; // { type, body, export? }
  const exports = [];
  let memory;
  let start;
  let importedTables = 0;
  let importedMemory = false;

  // A maximum is mostly absent or at least the initial size (else the engine refuses it at once).
  const maximumFor = (initial) =>
    r.chance(0.4) ? undefined : r.chance(0.85) ? Math.max(initial, r.pick(SIZES)) : r.pick(SIZES);
  if (r.chance(0.5)) {
    const initial = r.chance(0.8) ? r.pick([0, 1, 2, 16]) : r.pick(SIZES);
    memory = limits(initial, maximumFor(Math.min(initial, 65536)));
    if (r.chance(0.3)) {
      imports.push([...str('env'), ...str('memory'), 0x02, ...memory]);
      importedMemory = true;
      memory = undefined;
    }
  }
  const tableCount = r.chance(0.5) ? r.pick([1, 2, 5, 30, 200]) : 0;
  for (let t = 0; t < tableCount; t++) {
    const initial = r.chance(0.7) ? r.pick([0, 1, 10]) : r.pick(SIZES);
    const type = [r.pick([T.funcref, T.externref]), ...limits(initial, maximumFor(initial))];
    if (r.chance(0.2)) {
      imports.push([...str('env'), ...str(`table${t}`), 0x01, ...type]);
      importedTables++;
    } else tables.push(type);
  }
  if (r.chance(0.1)) imports.push([...str('env'), ...str('g'), 0x03, T.i32, 0x00]);
  const hasMemory = memory !== undefined || importedMemory;
  const tableTotal = importedTables + tables.length;

  // f0: a plain function, also the target of ref.func.
  funcs.push({ type: typeOf(['i32'], ['i32']), body: [0x20, 0, 0x0b], export: 'id' });
  if (hasMemory)
    funcs.push({ type: typeOf(['i32'], ['i32']), body: [0x20, 0, 0x40, 0, 0x0b], export: 'grow' });
  if (tableTotal > 0) {
    // table.grow on the last table, with a null of its type: externref (0x6f) or funcref (0x70).
    const index = tableTotal - 1;
    funcs.push({
      type: typeOf(['i32'], ['i32']),
      body: [0xd0, 0x70, 0x20, 0, 0xfc, 15, ...uleb(index), 0x0b],
      export: 'tgrow',
      nullOf: index,
    });
    // table.size of the same table: the parent checks it never passes tableLimit.
    funcs.push({ type: typeOf([], ['i32']), body: [0xfc, 16, ...uleb(index), 0x0b], export: 'tsize' });
  }
  // Results of every type, several at a time.
  for (let n = r.int(4); n > 0; n--) {
    const results = Array.from({ length: r.int(4) }, () => r.pick(Object.keys(T)));
    funcs.push({
      type: typeOf([], results),
      body: [...results.flatMap((type) => ZERO[type]), 0x0b],
      export: `odd${n}`,
    });
  }
  // A start function or _initialize: loops, traps, grows, or returns.
  if (r.chance(0.3)) {
    const body = r.pick([
      [0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b], // loop br 0 end: never ends
      [0x00, 0x0b], // unreachable
      hasMemory ? [0x41, ...sleb32(r.pick([1, 100, 65536])), 0x40, 0, 0x1a, 0x0b] : [0x0b],
      [0x0b],
    ]);
    const fn = funcs.push({ type: typeOf([], []), body }) - 1;
    if (r.chance(0.5)) start = fn;
    else funcs[fn].export = '_initialize';
  }
  // A function that spins, for timeouts.
  if (r.chance(0.2))
    funcs.push({ type: typeOf([], []), body: [0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b], export: 'spin' });

  for (const [i, f] of funcs.entries()) if (f.export) exports.push([...str(f.export), 0x00, ...uleb(i + 0)]);
  if (memory !== undefined && r.chance(0.5)) exports.push([...str('memory'), 0x02, 0]);
  // Fix the null type of tgrow to its table's element type (externref/funcref).
  const elementOf = (index) => (index < importedTables ? null : tables[index - importedTables][0]);
  for (const f of funcs) if (f.nullOf !== undefined) f.body[1] = elementOf(f.nullOf) ?? T.funcref;

  const body = (f) => {
    const code = [0x00, ...f.body]; // no locals
    return [...uleb(code.length), ...code];
  };
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(types.map((t) => t.bytes))));
  if (imports.length > 0) out.push(...section(2, vec(imports)));
  out.push(...section(3, vec(funcs.map((f) => uleb(f.type)))));
  if (tables.length > 0) out.push(...section(4, vec(tables)));
  if (memory !== undefined) out.push(...section(5, vec([memory])));
  out.push(...section(7, vec(exports)));
  if (start !== undefined) out.push(...section(8, uleb(start)));
  // Declarative element segment: makes ref.func 0 valid.
  out.push(...section(9, vec([[0x03, 0x00, ...vec([[0]])]])));
  out.push(...section(10, vec(funcs.map(body))));
  return Uint8Array.from(out);
}

// ---- byte-level damage ----

/** Offsets of the top-level sections: [id offset, content start, end]. */
function sectionsOf(bytes) {
  const out = [];
  let pos = 8;
  while (pos < bytes.length) {
    const at = pos;
    pos++;
    let size = 0;
    for (let shift = 0; pos < bytes.length && shift < 35; shift += 7) {
      const b = bytes[pos++];
      size += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    const end = pos + size;
    if (end > bytes.length) break;
    out.push([at, pos, end]);
    pos = end;
  }
  return out;
}

const DAMAGE = {
  flip(b, r) {
    for (let n = 1 + r.int(8); n > 0; n--) b[r.int(b.length)] ^= 1 << r.int(8);
    return b;
  },
  store(b, r) {
    for (let n = 1 + r.int(4); n > 0; n--)
      b[r.int(b.length)] = r.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x70, 0x6f, 0x7b, r.int(256)]);
    return b;
  },
  truncate(b, r) {
    return b.subarray(0, r.int(b.length));
  },
  sectionSize(b, r) {
    const s = sectionsOf(b);
    if (s.length === 0) return b;
    const [at, content] = r.pick(s);
    const size = r.pick([0, 1, 0x7f, 2 ** 31, 2 ** 32 - 1, content - at + r.int(5)]);
    return Uint8Array.from([...b.subarray(0, at + 1), ...uleb(size), ...b.subarray(content)]);
  },
  sectionId(b, r) {
    const s = sectionsOf(b);
    if (s.length === 0) return b;
    b[r.pick(s)[0]] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x7f]);
    return b;
  },
  sectionSwap(b, r) {
    const s = sectionsOf(b);
    if (s.length < 2) return b;
    const i = r.int(s.length - 1);
    const [a0, , a1] = s[i];
    const [, , b1] = s[i + 1];
    return Uint8Array.from([
      ...b.subarray(0, a0),
      ...b.subarray(a1, b1),
      ...b.subarray(a0, a1),
      ...b.subarray(b1),
    ]);
  },
  sectionDup(b, r) {
    const s = sectionsOf(b);
    if (s.length === 0) return b;
    const [at, , end] = r.pick(s);
    return Uint8Array.from([...b.subarray(0, end), ...b.subarray(at, end), ...b.subarray(end)]);
  },
  leb(b, r) {
    // Over-long or huge LEB128 at a byte that looks like the end of one.
    const at = 8 + r.int(Math.max(1, b.length - 8));
    const form = r.pick([
      [0x80, 0x80, 0x80, 0x80, 0x00], // over-long zero
      [0xff, 0xff, 0xff, 0xff, 0x0f], // 2^32 - 1
      [0xff, 0xff, 0xff, 0xff, 0x7f], // too large for u32
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80], // never ends
    ]);
    return Uint8Array.from([...b.subarray(0, at), ...form, ...b.subarray(at + 1)]);
  },
};
const DAMAGE_KINDS = Object.keys(DAMAGE);

function loadSeeds() {
  const seeds = [];
  for (const dir of SEED_DIRS) {
    const abs = path.join(ROOT, dir);
    let names;
    try {
      names = readdirSync(abs)
        .filter((n) => n.endsWith('.wasm'))
        .sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(abs, name);
      if (statSync(file).size <= MAX_SEED_BYTES)
        seeds.push({ name: `${dir}/${name}`, bytes: readFileSync(file) });
    }
  }
  if (seeds.length === 0) {
    console.error('fuzz: no seed modules found; run `npm run build` first');
    process.exit(2);
  }
  return seeds;
}

/** Mutant `index`: its bytes, how it was made, and whether to give it compiled. */
function mutant(seeds, index) {
  const r = rngFor(index);
  let origin;
  let bytes;
  if (r.chance(0.5)) {
    bytes = generated(r);
    origin = 'generated';
  } else {
    const s = r.pick(seeds);
    bytes = Uint8Array.from(s.bytes);
    origin = s.name;
  }
  const kinds = [];
  const rounds = origin === 'generated' ? r.int(2) : 1 + r.int(3);
  for (let n = 0; n < rounds && bytes.length > 0; n++) {
    const kind = r.pick(DAMAGE_KINDS);
    kinds.push(kind);
    bytes = DAMAGE[kind](bytes, r);
  }
  return { bytes, origin, damage: kinds, compiled: r.chance(0.05) };
}

// ---- the child: one pool, every mutant ----

async function child() {
  const { WasmPool, WasmPoolError } = await import(path.join(ROOT, 'packages/pool/dist/index.js'));
  const seeds = loadSeeds();
  const send = (message) => process.send(message);
  const pool = await WasmPool.create({
    minWorkers: 1,
    maxWorkers: 1,
    ...LIMITS,
    modules: { canary: { source: path.join(ROOT, 'examples/modules/build/math.wasm') } },
  });
  pool.on('error', () => undefined);
  const capBytes = LIMITS.memoryLimitMb * 1024 * 1024;

  const within = (promise, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} did not settle within ${SETTLE_DEADLINE_MS} ms`)),
        SETTLE_DEADLINE_MS,
      );
      promise.then(
        (value) => (clearTimeout(timer), resolve({ ok: true, value })),
        (error) => (clearTimeout(timer), resolve({ ok: false, error })),
      );
    });
  const violation = (index, why) => {
    send({ type: 'violation', index, why });
  };

  for (let index = 0; index < count; index++) {
    const m = mutant(seeds, index);
    send({ type: 'start', index });
    let source = m.bytes;
    if (m.compiled) {
      try {
        source = new WebAssembly.Module(m.bytes);
      } catch {
        // Not valid: give it as bytes.
      }
    }
    const name = `m${index}`;
    // Every third mutant is metered: its tasks run twice, and the same task must use the same fuel.
    const metered = index % 3 === 0;
    const registered = await within(
      pool.registerModule(name, metered ? { source, fuel: 1e7 } : { source }),
      'registerModule',
    );
    if (!registered.ok && !(registered.error instanceof WasmPoolError)) {
      violation(
        index,
        `registerModule rejected with a non-WasmPoolError: ${registered.error?.message ?? registered.error}`,
      );
      continue;
    }
    const tasks = {};
    if (registered.ok) {
      const info = registered.value;
      const r = rngFor(index);
      // tsize last: it reads what the others grew.
      const exports = info.exports.filter((e) => e.name !== '_initialize' && e.name !== 'tsize').slice(0, 4);
      for (const { name: fn, signature } of exports) {
        // Sizes around the caps (1 MiB = 16 pages, 1,000 table elements) and beyond.
        const params = signature.params.map((type) =>
          type === 'i64' ? 0n : r.pick([0, 1, 15, 16, 17, 999, 1000, 1001, 65536, -1]),
        );
        const task = { module: name, function: fn, params };
        if (metered) {
          const twice = await within(pool.runBatch([task, task]), `tasks ${fn}`);
          if (!twice.ok) {
            violation(index, `runBatch of ${fn} rejected: ${twice.error?.message ?? twice.error}`);
            continue;
          }
          const [first, second] = twice.value;
          const code = (r) => (r.success ? 'success' : r.error.code);
          // A trap's depth (stack overflow) and a timeout can differ from run to run; a success and
          // running out of fuel cannot.
          const exact = (r) => r.success || r.error.code === 'FUEL_EXHAUSTED';
          if (
            exact(first) &&
            exact(second) &&
            (code(first) !== code(second) || first.fuelUsed !== second.fuelUsed)
          ) {
            violation(
              index,
              `the same task of ${fn} ended ${code(first)} with fuel ${first.fuelUsed}, then ${code(second)} with ${second.fuelUsed}`,
            );
          }
          for (const r of twice.value) tasks[code(r)] = (tasks[code(r)] ?? 0) + 1;
          continue;
        }
        const done = await within(pool.run(task), `task ${fn}`);
        if (!done.ok && !(done.error instanceof WasmPoolError)) {
          violation(
            index,
            `task ${fn} rejected with a non-WasmPoolError: ${done.error?.message ?? done.error}`,
          );
        }
        const outcome = done.ok ? 'success' : done.error.code;
        tasks[outcome] = (tasks[outcome] ?? 0) + 1;
      }
      if (info.exports.some((e) => e.name === 'tsize')) {
        const size = await within(pool.run({ module: name, function: 'tsize' }), 'task tsize');
        if (size.ok && size.value > LIMITS.tableLimit) {
          violation(index, `a table holds ${size.value} elements, past tableLimit ${LIMITS.tableLimit}`);
        }
        const outcome = size.ok ? 'success' : size.error.code;
        tasks[outcome] = (tasks[outcome] ?? 0) + 1;
      }
      const stats = pool.stats().modules[name];
      if (stats !== undefined && stats.memoryBytes > capBytes * Math.max(1, stats.instances)) {
        violation(
          index,
          `memory ${stats.memoryBytes} bytes over ${stats.instances} instance(s) passes the cap of ${capBytes}`,
        );
      }
      await pool.unregisterModule(name);
    }
    const canary = await within(
      pool.run({ module: 'canary', function: 'add', params: [1, 2] }),
      'canary task',
    );
    if (!canary.ok || canary.value !== 3) {
      violation(
        index,
        `the canary task failed after this mutant: ${canary.ok ? canary.value : canary.error?.message}`,
      );
    }
    send({
      type: 'done',
      index,
      registered: registered.ok,
      code: registered.ok ? undefined : registered.error.code,
      valid: WebAssembly.validate(m.bytes),
      tasks,
    });
  }
  await within(pool.close(), 'close()');
  send({ type: 'finished', restarts: pool.stats().workerRestarts });
  process.exit(0);
}

// ---- the parent: watches the child and counts ----

function parent() {
  const started = performance.now();
  const counts = { registered: 0, refused: {}, valid: 0, tasks: {}, tasksRun: 0, restarts: 0 };
  const violations = [];
  let current = -1;
  let finished = false;
  const proc = fork(SELF, ['--child', '--count', String(count), '--seed', String(seed)], {
    stdio: 'inherit',
  });
  let silence = setTimeout(onSilence, SILENCE_MS);

  function save(index, why) {
    const m = mutant(loadSeeds(), index);
    const dir = path.join(ROOT, 'fuzz-failures');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `seed${seed}-mutant${index}.wasm`);
    writeFileSync(file, m.bytes);
    violations.push({
      index,
      why,
      file: path.relative(ROOT, file),
      origin: m.origin,
      damage: m.damage,
      compiled: m.compiled,
    });
  }
  function onSilence() {
    save(current, `no report for ${SILENCE_MS} ms (a hang)`);
    proc.kill('SIGKILL');
  }
  proc.on('message', (message) => {
    clearTimeout(silence);
    silence = setTimeout(onSilence, SILENCE_MS);
    switch (message.type) {
      case 'start':
        current = message.index;
        break;
      case 'violation':
        save(message.index, message.why);
        break;
      case 'done': {
        if (message.registered) counts.registered++;
        else counts.refused[message.code] = (counts.refused[message.code] ?? 0) + 1;
        if (message.valid) counts.valid++;
        for (const [code, n] of Object.entries(message.tasks)) {
          counts.tasks[code] = (counts.tasks[code] ?? 0) + n;
          counts.tasksRun += n;
        }
        if (!args.quiet && (message.index + 1) % 500 === 0) {
          console.log(
            `fuzz: ${message.index + 1}/${count} mutants (${((performance.now() - started) / 1000).toFixed(1)} s)`,
          );
        }
        break;
      }
      case 'finished':
        finished = true;
        counts.restarts = message.restarts;
        break;
    }
  });
  proc.on('exit', (code, signal) => {
    clearTimeout(silence);
    if (!finished && violations.every((v) => v.index !== current)) {
      save(current, `the process ended (code ${code}, signal ${signal}) while on this mutant`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const refused = Object.values(counts.refused).reduce((a, b) => a + b, 0);
    console.log(`fuzz: seed ${seed}, ${count} mutants in ${seconds} s (${counts.valid} valid WebAssembly)`);
    console.log(`  registered ${counts.registered}, refused ${refused}: ${JSON.stringify(counts.refused)}`);
    console.log(`  tasks run ${counts.tasksRun}: ${JSON.stringify(counts.tasks)}`);
    console.log(`  worker restarts ${counts.restarts}`);
    if (violations.length > 0) {
      console.log(`  VIOLATIONS ${violations.length}:`);
      for (const v of violations)
        console.log(
          `    mutant ${v.index} (${v.origin}; ${v.damage.join(', ') || 'undamaged'}${v.compiled ? '; compiled' : ''}): ${v.why} -> ${v.file}`,
        );
      process.exitCode = 1;
    } else if (!finished) {
      process.exitCode = 1;
    } else {
      console.log('  no violation');
    }
  });
}

if (args.child) await child();
else parent();
