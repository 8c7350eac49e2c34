// Where the time of bytes tasks goes, thread by thread: SHA-256 through run() with some in flight (the
// benchmark's bytes workloads), after `npm run build`. Linux only (it reads /proc/self/task).
//   node scripts/bytes-profile.mjs [--size BYTES] [--tasks N] [--in-flight N] [--reps N] [--workers N]
// Per repetition it prints the pool's MB/s against one call after another on the main thread, and per
// task, in µs: the CPU time of the main thread, of each worker (per task it ran) and of the other threads
// (V8's helpers), and how long each thread waited for a core while it could run (the run queue,
// /proc/self/task/<tid>/schedstat). Then the ceiling of the machine for this work: the same calls in
// `--workers` plain worker threads, no pool, no messages. Add `node --cpu-prof` for a profile of each
// thread (the profile's "(idle)" includes the time a thread waits for a core; schedstat does not).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { WasmPool } from '@wasmpool/pool';
import types from '../benchmarks/dist/contenders/types.js';
import wasm from '../benchmarks/dist/wasm.js';

const sha256 = fileURLToPath(new URL('../examples/modules/build/sha256.wasm', import.meta.url));
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '4096' },
    tasks: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
  },
});
const count = (name) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const size = count('size');
const tasks = count('tasks');
const inFlight = count('in-flight');
const reps = count('reps');
const workers = count('workers');

const inputs = Array.from({ length: 8 }, (_, k) => {
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + k) & 255;
  return bytes;
});
const mbPerS = (n, ms) => (size * n) / ms / 1000;

// One call after another on the main thread, through the benchmarks' helpers (the "single" contender).
const shaOnMain = wasm.instantiateFile(sha256);
function singleMbPerS() {
  const n = Math.max(16, Math.min(tasks, Math.ceil(2e8 / size)));
  const start = performance.now();
  for (let i = 0; i < n; i++) wasm.sha256Call(shaOnMain, inputs[i % 8]);
  return mbPerS(n, performance.now() - start);
}

/** [cpu ns, run-queue wait ns] of each thread of this process so far, by thread id. */
function threadTimes() {
  const times = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(Number(tid), [cpu, wait]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return times;
}

const pool = await WasmPool.create({
  modules: { sha256: { source: sha256 } },
  minWorkers: workers,
  maxWorkers: workers,
});
const runAll = () =>
  types.windowed(
    tasks,
    inFlight,
    (i) => pool.run({ module: 'sha256', function: 'sha256', params: [inputs[i % 8]], output: 'bytes' }),
    () => {},
  );

const us = (ns, n) => (ns / n / 1000).toFixed(1);
await runAll(); // warm-up: compilation tiers, learnt run times
console.log(
  `SHA-256 of ${size} B, ${tasks} run() calls, ${inFlight} in flight, ${workers} workers; per task in µs: ` +
    `CPU (run-queue wait)`,
);
for (let r = 0; r < reps; r++) {
  const before = threadTimes();
  const statsBefore = pool.stats();
  const start = performance.now();
  await runAll();
  const ms = performance.now() - start;
  const after = threadTimes();
  const statsAfter = pool.stats();
  const delta = [...after]
    .map(([tid, [cpu, wait]]) => {
      const [cpu0, wait0] = before.get(tid) ?? [0, 0];
      return { tid, cpu: cpu - cpu0, wait: wait - wait0 };
    })
    .filter((t) => t.cpu > 0);
  const main = delta.find((t) => t.tid === process.pid);
  // The pool's workers are the busiest threads besides the main one; the rest are V8's helpers.
  const others = delta.filter((t) => t.tid !== process.pid).sort((a, b) => b.cpu - a.cpu);
  const pooled = others.slice(0, workers);
  const helpers = others.slice(workers).reduce((sum, t) => sum + t.cpu, 0);
  const ranMs =
    statsAfter.runTimeMs.mean * statsAfter.completed - statsBefore.runTimeMs.mean * statsBefore.completed;
  const single = singleMbPerS();
  const mb = mbPerS(tasks, ms);
  console.log(
    `run ${r + 1}: ${mb.toFixed(0)} MB/s, one thread ${single.toFixed(0)} MB/s (${(mb / single).toFixed(2)}×); ` +
      `main ${us(main.cpu, tasks)} (${us(main.wait, tasks)}); ` +
      pooled.map((t) => `worker ${us(t.cpu * workers, tasks)} (${us(t.wait * workers, tasks)})`).join(', ') +
      `; helpers ${us(helpers, tasks)}; in the worker's call ${((ranMs / tasks) * 1000).toFixed(1)}; ` +
      `one call on the main thread ${(size / single).toFixed(1)}`,
  );
}
await pool.close();

// The machine's ceiling for this work: `workers` threads hashing on their own, no pool and no messages.
const ceilingSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const wasm = require(workerData.helpers);
  const ex = wasm.instantiateFile(workerData.sha256);
  const input = new Uint8Array(workerData.size).map((_, i) => i);
  const n = workerData.n;
  for (let i = 0; i < n; i++) wasm.sha256Call(ex, input);
  const start = performance.now();
  for (let i = 0; i < n; i++) wasm.sha256Call(ex, input);
  parentPort.postMessage(performance.now() - start);
`;
const n = Math.ceil(tasks / workers);
const helpersPath = fileURLToPath(new URL('../benchmarks/dist/wasm.js', import.meta.url));
const times = await Promise.all(
  Array.from(
    { length: workers },
    () =>
      new Promise((resolve, reject) => {
        const worker = new Worker(ceilingSource, {
          eval: true,
          workerData: { helpers: helpersPath, sha256, size, n },
        });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
  ),
);
const ceiling = times.reduce((sum, ms) => sum + mbPerS(n, ms), 0);
console.log(
  `ceiling: ${workers} plain threads hashing without a pool ${ceiling.toFixed(0)} MB/s ` +
    `(${times.map((ms) => mbPerS(n, ms).toFixed(0)).join(' + ')}), one thread ${singleMbPerS().toFixed(0)} MB/s`,
);
