// Throughput of runBatch() on `add` tasks, repeated, after `npm run build`. Every answer is checked.
//   node scripts/batch-add.mjs [--tasks N] [--reps N] [--batch N] [--in-flight N] [--nice N]
// --tasks defaults to 1,000,000 and --reps to 5. Without --batch the tasks go in one runBatch(); with it
// they go as arrays of that many tasks, --in-flight of them outstanding (default 16), as the tiny-batch
// benchmark does. --nice sets the pool's niceIncrement (default 0). The task objects are built once,
// before the timed runs: this measures the pool, not building the tasks.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';
import benchmarkTypes from '../benchmarks/dist/contenders/types.js';

const { windowed } = benchmarkTypes;

const math = fileURLToPath(new URL('../examples/modules/build/math.wasm', import.meta.url));
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '5' },
    batch: { type: 'string' },
    'in-flight': { type: 'string', default: '16' },
    nice: { type: 'string', default: '0' },
  },
});
const count = (name, min) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer of ${min} or more`);
  return v;
};
const n = count('tasks', 1);
const reps = count('reps', 1);
const batchSize = values.batch === undefined ? n : count('batch', 1);
const inFlight = count('in-flight', 1);
const niceIncrement = count('nice', 0);

const pool = await WasmPool.create({
  modules: { math: { source: math } },
  minWorkers: 2,
  maxWorkers: 2,
  maxQueue: Math.max(n, 1000),
  niceIncrement,
});
const tasks = Array.from({ length: n }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] }));
const arrays = [];
for (let from = 0; from < n; from += batchSize) arrays.push(tasks.slice(from, from + batchSize));

/** Runs every array with at most inFlight outstanding; checks each result as its array settles. */
const runAll = () =>
  windowed(
    arrays.length,
    inFlight,
    (c) => pool.runBatch(arrays[c]),
    (c, results) => {
      const from = c * batchSize;
      for (let i = 0; i < results.length; i++) {
        if (results[i].output !== ((from + i + 1) | 0)) {
          throw new Error(`task ${from + i}: ${JSON.stringify(results[i])}`);
        }
      }
    },
  );

const shape =
  arrays.length === 1
    ? 'one runBatch()'
    : `${arrays.length} runBatch() calls of ${batchSize}, ${inFlight} in flight`;
const rates = [];
for (let r = 0; r < reps; r++) {
  const start = performance.now();
  await runAll();
  const ms = performance.now() - start;
  rates.push(n / (ms / 1000));
  console.log(
    `run ${r + 1}: ${n.toLocaleString('en-US')} tasks (${shape}) in ${ms.toFixed(0)} ms = ${(rates[r] / 1e6).toFixed(2)}M tasks/s`,
  );
}
const sorted = [...rates].sort((a, b) => a - b);
console.log(
  `median ${(sorted[Math.floor(reps / 2)] / 1e6).toFixed(2)}M tasks/s over ${reps} runs, every answer checked`,
);
await pool.close();
