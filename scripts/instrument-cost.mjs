// What the sandbox's instrumentation (issue 12, points 5-8: checkpoints for interruption and fuel,
// refused-grow helpers) costs on the benchmarks' workloads, on and off side by side in one run, after
// `npm run build`:
//   node scripts/instrument-cost.mjs [--rounds N] [--workers N]
// Every workload runs through one pool that holds each module twice, registered with `instrument: true`
// (the default: interruptible) and `instrument: false`, and a third time with `fuel` (metered: exact
// counting); the three alternate, `--rounds` times each, and the medians are compared. The pool's
// workloads: cpu (spin, ~2 ms tasks), bytes (SHA-256 of 64 KiB through run(), 16 in flight), tiny (add
// through runBatch(), 10,000 a call). Before them, the same calls on the main thread without a pool
// (engine only: what the rewritten code itself costs).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';
import { instrument } from '../packages/pool/dist/modules/instrument/index.js';
import types from '../benchmarks/dist/contenders/types.js';
import wasm from '../benchmarks/dist/wasm.js';

const file = (name) => fileURLToPath(new URL(`../examples/modules/build/${name}.wasm`, import.meta.url));
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, workers: { type: 'string', default: '2' } },
});
const rounds = Number(values.rounds);
const workers = Number(values.workers);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a positive integer');

const SPIN = 1_000_000;
const SIZE = 65536;
const inputs = Array.from({ length: 8 }, (_, k) => {
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 31 + k) & 255;
  return bytes;
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- engine only: the same module, rewritten or not, called on the main thread ----
function instantiate(name, mode) {
  const original = readFileSync(file(name));
  const bytes = mode === 'off' ? original : instrument(new Uint8Array(original), { mode });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { abort: () => undefined },
    __wasmpool: { check: () => 100_000, refused: () => undefined },
  }).exports;
}
function timeIt(fn, reps) {
  for (let i = 0; i < reps; i++) fn(); // warm-up: V8 tiers hot functions up from its baseline compiler
  const start = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - start) / reps;
}
const SIDES = ['on', 'off', 'metered'];
const engine = { spin: { on: [], off: [], metered: [] }, sha256: { on: [], off: [], metered: [] } };
const modes = { on: 'interruptible', off: 'off', metered: 'metered' };
const math = Object.fromEntries(SIDES.map((side) => [side, instantiate('math', modes[side])]));
const sha = Object.fromEntries(SIDES.map((side) => [side, instantiate('sha256', modes[side])]));
if (math.on.spin(SPIN) !== math.off.spin(SPIN)) throw new Error('spin differs once instrumented');
/** The sides in an order that rotates with the round, so that none always runs first. */
const order = (r) => SIDES.map((_, k) => SIDES[(k + r) % SIDES.length]);
for (let r = 0; r < rounds; r++) {
  for (const side of order(r)) {
    engine.spin[side].push(timeIt(() => math[side].spin(SPIN), 20));
    engine.sha256[side].push(timeIt(() => wasm.sha256Call(sha[side], inputs[0]), 50));
  }
}

// ---- through the pool ----
const pool = await WasmPool.create({
  modules: {
    math_on: { source: file('math') },
    math_off: { source: file('math'), instrument: false },
    math_metered: { source: file('math'), fuel: Number.MAX_SAFE_INTEGER },
    sha_on: { source: file('sha256'), memoryLimitMb: 16 },
    sha_off: { source: file('sha256'), memoryLimitMb: 16, instrument: false },
    sha_metered: { source: file('sha256'), memoryLimitMb: 16, fuel: Number.MAX_SAFE_INTEGER },
  },
  minWorkers: workers,
  maxWorkers: workers,
  taskTimeoutMs: 60_000,
});
const workloads = {
  cpu: {
    unit: 'tasks/s',
    items: 64,
    run: (side) =>
      types.windowed(
        64,
        workers * 2,
        () => pool.run({ module: `math_${side}`, function: 'spin', params: [SPIN] }),
        () => {},
      ),
  },
  bytes: {
    unit: 'MB/s',
    items: (256 * SIZE) / 1e6,
    run: (side) =>
      types.windowed(
        256,
        16,
        (i) =>
          pool.run({ module: `sha_${side}`, function: 'sha256', params: [inputs[i % 8]], output: 'bytes' }),
        () => {},
      ),
  },
  tiny: {
    unit: 'tasks/s',
    items: 100_000,
    run: async (side) => {
      const tasks = Array.from({ length: 10_000 }, (_, i) => ({
        module: `math_${side}`,
        function: 'add',
        params: [i, 1],
      }));
      for (let k = 0; k < 10; k++) await pool.runBatch(tasks);
    },
  },
};
// Each task's executionTimeMs (measured inside its worker) as well: it leaves out the main thread and
// the messages, and with them much of the noise of a shared machine.
let taskTimes;
pool.on('taskComplete', (result) => taskTimes?.push(result.executionTimeMs));
const results = {};
const execution = {};
for (const [name, workload] of Object.entries(workloads)) {
  for (const side of SIDES) await workload.run(side); // warm-up
  const rates = { on: [], off: [], metered: [] };
  const times = { on: [], off: [], metered: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of order(r)) {
      taskTimes = times[side];
      const start = performance.now();
      await workload.run(side);
      rates[side].push(workload.items / ((performance.now() - start) / 1000));
    }
  }
  taskTimes = undefined;
  results[name] = rates;
  execution[name] = times;
}
await pool.close();

const pct = (on, off) => `${(((on - off) / off) * 100).toFixed(1)} %`;
console.log(`instrumentation cost, medians of ${rounds} alternating rounds (${workers} workers)\n`);
console.log('engine only (main thread, ms per call; lower is better): median, then best of the rounds');
for (const [name, { on, off, metered }] of Object.entries(engine)) {
  const f = (x) => median(x).toFixed(3);
  const best = (x) => Math.min(...x);
  console.log(
    `  ${name.padEnd(8)} off ${f(off)}  on ${f(on)} (${pct(median(on), median(off))})  ` +
      `metered ${f(metered)} (${pct(median(metered), median(off))});  best: off ${best(off).toFixed(3)}  ` +
      `on ${best(on).toFixed(3)} (${pct(best(on), best(off))})  metered ${best(metered).toFixed(3)} ` +
      `(${pct(best(metered), best(off))})`,
  );
}
console.log('\nthrough the pool (higher is better; on = the default, metered = registered with fuel)');
for (const [name, { on, off, metered }] of Object.entries(results)) {
  const unit = workloads[name].unit;
  const f = (x) => median(x).toFixed(name === 'bytes' ? 1 : 0);
  console.log(
    `  ${name.padEnd(8)} off ${f(off)} ${unit}  on ${f(on)} (${pct(median(on), median(off))})  metered ${f(metered)} (${pct(median(metered), median(off))})`,
  );
}
console.log('\ninside the worker (median executionTimeMs of a task, ms; lower is better)');
for (const [name, { on, off, metered }] of Object.entries(execution)) {
  const f = (x) => median(x).toFixed(4);
  console.log(
    `  ${name.padEnd(8)} off ${f(off)}  on ${f(on)} (${pct(median(on), median(off))})  ` +
      `metered ${f(metered)} (${pct(median(metered), median(off))})`,
  );
}
