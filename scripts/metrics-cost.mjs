// What binding @wasmpool/metrics costs the main thread per task, after `npm run build`:
//   node scripts/metrics-cost.mjs [--tasks N] [--reps N] [--in-flight N] [--mode batch|run|both]
// One pool (2 workers, math.wasm) runs the same work with metrics bound and unbound, alternating
// (bound-unbound, then unbound-bound, ...), so drift on a shared machine hits both alike. Each pass
// is timed by the main thread's own CPU time (Linux: /proc/self/task/<pid>/schedstat, in ns, which
// other processes cannot inflate; elsewhere the event loop's active time). Prints, per mode, the
// median ns per task bound and unbound, and the median of the paired differences (bound - unbound).
//   batch: one runBatch() of N `add` tasks per pass (the hot path of big batches)
//   run:   N run() calls of `add`, `in-flight` outstanding (the benchmark's tiny-run shape)
// Then "recording alone": the metrics' task observer called directly, 5,000,000 times, with
// run times spread over a few buckets: the metrics' share without the pool and the machine's noise.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';
import { bindPoolMetrics } from '@wasmpool/metrics';
import types from '../benchmarks/dist/contenders/types.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200000' },
    reps: { type: 'string', default: '11' },
    'in-flight': { type: 'string', default: '1024' },
    mode: { type: 'string', default: 'both' },
  },
});
const count = (name) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const n = count('tasks');
const reps = count('reps');
const inFlight = count('in-flight');
const modes = values.mode === 'both' ? ['batch', 'run'] : [values.mode];
for (const m of modes) if (m !== 'batch' && m !== 'run') throw new Error(`unknown --mode ${m}`);

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
/** The main thread's CPU time in ns (schedstat), or its event-loop active time where there is none. */
const mainThreadNs = (() => {
  try {
    readFileSync(SCHEDSTAT, 'utf8');
    return { source: 'schedstat', read: () => Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) };
  } catch {
    return { source: 'event-loop active time', read: () => performance.eventLoopUtilization().active * 1e6 };
  }
})();

const math = fileURLToPath(new URL('../examples/modules/build/math.wasm', import.meta.url));
const pool = await WasmPool.create({
  modules: { math: { source: math } },
  minWorkers: 2,
  maxWorkers: 2,
  maxQueue: Math.max(100_000, n),
});
const addTask = (i) => ({ module: 'math', function: 'add', params: [types.addA(i), types.addB(i)] });

async function pass(mode) {
  let wrong = 0;
  if (mode === 'batch') {
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = addTask(i);
    const results = await pool.runBatch(tasks);
    for (let i = 0; i < n; i++) if (results[i].output !== ((types.addA(i) + types.addB(i)) | 0)) wrong++;
  } else {
    await types.windowed(
      n,
      inFlight,
      (i) => pool.run(addTask(i)),
      (i, v) => {
        if (v !== ((types.addA(i) + types.addB(i)) | 0)) wrong++;
      },
    );
  }
  if (wrong > 0) throw new Error(`${mode}: ${wrong} wrong answers`);
}

/** One timed pass: ns of main-thread time per task. */
async function timed(mode, bound) {
  const metrics = bound ? bindPoolMetrics(pool) : undefined;
  const before = mainThreadNs.read();
  await pass(mode);
  const ns = (mainThreadNs.read() - before) / n;
  if (metrics !== undefined) {
    const text = await metrics.registry.metrics(); // the scrape is outside the timed region
    if (!text.includes(`wasmpool_tasks_total{module="math",outcome="success"} ${n}`)) {
      throw new Error(`bound pass: the scrape does not count ${n} tasks`);
    }
    metrics.close();
  }
  return ns;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

try {
  console.log(
    `metrics-cost: ${n.toLocaleString('en-US')} tasks per pass, ${reps} pairs, main-thread time from ${mainThreadNs.source}`,
  );
  for (const mode of modes) {
    await timed(mode, true); // warm-up of both paths
    await timed(mode, false);
    const bound = [];
    const unbound = [];
    for (let r = 0; r < reps; r++) {
      // ABBA: the order alternates so that neither side always runs first
      if (r % 2 === 0) {
        bound.push(await timed(mode, true));
        unbound.push(await timed(mode, false));
      } else {
        unbound.push(await timed(mode, false));
        bound.push(await timed(mode, true));
      }
    }
    const diffs = bound.map((b, i) => b - unbound[i]);
    console.log(
      `${mode.padEnd(5)} unbound ${median(unbound).toFixed(0)} ns/task, bound ${median(bound).toFixed(0)} ns/task, ` +
        `bound - unbound: median of pairs ${median(diffs).toFixed(1)} ns/task ` +
        `(pairs from ${Math.min(...diffs).toFixed(0)} to ${Math.max(...diffs).toFixed(0)})`,
    );
  }
  const calls = 5_000_000;
  const recordNs = recordingAlone(calls);
  if (recordNs !== undefined)
    console.log(
      `recording alone: ${recordNs.toFixed(1)} ns per task (median of 5 runs of ${calls.toLocaleString('en-US')} calls)`,
    );
} finally {
  await pool.close();
}

/** ns per call of the metrics' task observer, bound to a stand-in pool that only hands it over. */
function recordingAlone(calls) {
  let observer;
  const source = {
    stats: () => pool.stats(),
    modules: () => [{ name: 'math' }, { name: 'sha256' }],
    observeTasks(o) {
      observer = o;
      return () => undefined;
    },
    on() {},
    off() {},
  };
  const metrics = bindPoolMetrics(source);
  if (observer === undefined) {
    console.log('recording alone: skipped (these metrics do not use observeTasks())');
    metrics.close();
    return undefined;
  }
  const runs = [];
  for (let r = 0; r < 6; r++) {
    const t0 = mainThreadNs.read();
    for (let i = 0; i < calls; i++) {
      // run times of 0.25 µs to 2 µs and waits of 5 µs to 40 µs, a failure every 1,024 tasks
      observer.taskSettled(
        'math',
        (i & 1023) === 0 ? 'TRAP' : undefined,
        0.00025 * (1 + (i & 7)),
        0.005 * (1 + (i & 7)),
      );
    }
    if (r > 0) runs.push((mainThreadNs.read() - t0) / calls); // the first one warms up
  }
  metrics.close();
  return median(runs);
}
