// Where a worker's time goes on bytes tasks: SHA-256 of 64 KiB inputs through run(), as the benchmark's
// bytes workload does, after `npm run build`.
//   node scripts/bytes-profile.mjs [--size BYTES] [--tasks N] [--in-flight N] [--reps N]
// Per repetition it prints the pool's MB/s, the CPU time of the main thread and of the other threads (from
// /proc/self/task, in 10 ms ticks; Linux only), the mean executionTimeMs the pool reported, and the time of
// one call on the main thread. Add `node --cpu-prof` for a profile of each thread.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';
import types from '../benchmarks/dist/contenders/types.js';
import wasm from '../benchmarks/dist/wasm.js';

const sha256 = fileURLToPath(new URL('../examples/modules/build/sha256.wasm', import.meta.url));
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '65536' },
    tasks: { type: 'string', default: '1024' },
    'in-flight': { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
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

const pool = await WasmPool.create({ modules: { sha256: { source: sha256 } }, minWorkers: 2, maxWorkers: 2 });
const inputs = Array.from({ length: 8 }, (_, k) => {
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + k) & 255;
  return bytes;
});

// One call on the main thread through the same bytes calling convention: the benchmarks' helpers.
const shaOnMain = wasm.instantiateFile(sha256);

const runAll = () =>
  types.windowed(
    tasks,
    inFlight,
    (i) => pool.run({ module: 'sha256', function: 'sha256', params: [inputs[i % 8]], output: 'bytes' }),
    () => {},
  );

/** CPU time of each thread of this process so far, ms, by thread id. */
function threadCpuMs() {
  const cpu = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // the thread ended meanwhile
    }
  }
  return cpu;
}

await runAll(); // warm-up: compilation tiers, learnt run times
for (let r = 0; r < reps; r++) {
  const before = pool.stats();
  const cpuBefore = threadCpuMs();
  const start = performance.now();
  await runAll();
  const ms = performance.now() - start;
  const cpuAfter = threadCpuMs();
  const after = pool.stats();
  const ranMs = after.runTimeMs.mean * after.completed - before.runTimeMs.mean * before.completed;
  const others = [...cpuAfter]
    .filter(([tid]) => tid !== process.pid)
    .map(([tid, v]) => v - (cpuBefore.get(tid) ?? 0))
    .filter((v) => v > 0);
  const mainStart = performance.now();
  for (let i = 0; i < 64; i++) wasm.sha256Call(shaOnMain, inputs[i % 8]);
  const oneCallUs = ((performance.now() - mainStart) / 64) * 1000;
  console.log(
    `run ${r + 1}: ${((size * tasks) / ms / 1000).toFixed(0)} MB/s in ${ms.toFixed(0)} ms; CPU ms: main ` +
      `${(cpuAfter.get(process.pid) ?? 0) - (cpuBefore.get(process.pid) ?? 0)}, others ${others.join('+')}; ` +
      `executionTimeMs mean ${((ranMs / (after.completed - before.completed)) * 1000).toFixed(0)} µs; ` +
      `one call on the main thread ${oneCallUs.toFixed(0)} µs`,
  );
}
await pool.close();
