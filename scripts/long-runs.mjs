// The two long runs of issue 11, after `npm run build`: one runBatch() of --tasks add tasks
// (default 10,000,000) with default pool options, or a stream() of --tasks tasks (default
// 100,000,000) from a generator. Every result is checked. Prints one JSON line:
//   { mode, tasks, ms, tasksPerSecond, wrong, maxRssMb }
//   node scripts/long-runs.mjs batch [--tasks N]
//   node scripts/long-runs.mjs stream [--tasks N] [--unordered]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';

const math = fileURLToPath(new URL('../examples/modules/build/math.wasm', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tasks: { type: 'string' }, unordered: { type: 'boolean', default: false } },
});
const mode = positionals[0];
if (mode !== 'batch' && mode !== 'stream') throw new Error('usage: long-runs.mjs batch|stream [--tasks N]');
const tasks = Number(values.tasks ?? (mode === 'batch' ? 10_000_000 : 100_000_000));
if (!Number.isSafeInteger(tasks) || tasks < 1) throw new Error('--tasks must be a positive integer');

// Default options (maxQueue 100,000 included): the batch is far larger than the queue.
const pool = await WasmPool.create({ modules: { math: { source: math } } });
const task = (i) => ({ module: 'math', function: 'add', params: [i & 0xfffff, 1] });
let wrong = 0;
let start;
if (mode === 'batch') {
  const batch = new Array(tasks);
  for (let i = 0; i < tasks; i++) batch[i] = task(i);
  start = performance.now();
  const results = await pool.runBatch(batch);
  if (results.length !== tasks) wrong += Math.abs(results.length - tasks);
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (!r.success || r.output !== (i & 0xfffff) + 1) wrong++;
  }
} else {
  function* source() {
    for (let i = 0; i < tasks; i++) yield task(i);
  }
  start = performance.now();
  let i = 0;
  const ordered = !values.unordered;
  let sum = 0;
  for await (const r of pool.stream(source(), { ordered })) {
    if (!r.success) wrong++;
    else if (ordered && r.output !== (i & 0xfffff) + 1) wrong++;
    sum += r.output ?? 0;
    i++;
  }
  if (i !== tasks) wrong += Math.abs(i - tasks);
  // Unordered: the outputs' sum is checked instead of each position.
  let expected = 0;
  if (!ordered) for (let j = 0; j < tasks; j++) expected += (j & 0xfffff) + 1;
  if (!ordered && sum !== expected) wrong++;
}
const ms = performance.now() - start;
const stats = pool.stats();
await pool.close();
console.log(
  JSON.stringify({
    mode,
    tasks,
    ms: Math.round(ms),
    tasksPerSecond: Math.round((tasks / ms) * 1000),
    wrong,
    completed: stats.completed,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
