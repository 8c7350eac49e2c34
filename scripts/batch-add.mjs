// Throughput of one runBatch() of `add` tasks (default 1,000,000), repeated: `node scripts/batch-add.mjs [tasks] [reps]`
// after `npm run build`. Every answer is checked.
import { fileURLToPath } from 'node:url';
import { WasmPool } from '@wasmpool/pool';

const math = fileURLToPath(new URL('../examples/modules/build/math.wasm', import.meta.url));
const n = Number(process.argv[2] ?? 1_000_000);
const reps = Number(process.argv[3] ?? 5);

const pool = await WasmPool.create({
  modules: { math: { source: math } },
  minWorkers: 2,
  maxWorkers: 2,
  maxQueue: n,
});
const tasks = Array.from({ length: n }, (_, i) => ({ module: 'math', function: 'add', params: [i, 1] }));
const rates = [];
for (let r = 0; r < reps; r++) {
  const start = performance.now();
  const results = await pool.runBatch(tasks);
  const ms = performance.now() - start;
  for (let i = 0; i < n; i++) {
    if (results[i].output !== ((i + 1) | 0)) throw new Error(`task ${i}: ${JSON.stringify(results[i])}`);
  }
  rates.push(n / (ms / 1000));
  console.log(
    `run ${r + 1}: ${n.toLocaleString('en-US')} tasks in ${ms.toFixed(0)} ms = ${(rates[r] / 1e6).toFixed(2)}M tasks/s`,
  );
}
const sorted = [...rates].sort((a, b) => a - b);
console.log(
  `median ${(sorted[Math.floor(reps / 2)] / 1e6).toFixed(2)}M tasks/s over ${reps} runs, every answer checked`,
);
await pool.close();
