// The floor under tiny-batch's figure: the objects a runBatch() of `add` tasks needs, with no pool.
// Builds n WasmTask objects as the benchmark does, then one WasmResult object per task (shared id
// strings, as the pool's), repeated: `node scripts/batch-floor.mjs [tasks] [reps]`. Nothing is sent
// anywhere; what it measures is the main thread's allocation and garbage collection alone.
const n = Number(process.argv[2] ?? 1_000_000);
const reps = Number(process.argv[3] ?? 9);
const ids = Array.from({ length: n }, (_, i) => String(i));
const addTask = (i) => ({ module: 'math', function: 'add', params: [i, i & 1023] });
const succeed = (results, i, output, executionTimeMs) => {
  results[i] = { id: ids[i], success: true, output, executionTimeMs };
};

async function batch() {
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = addTask(i);
  const built = performance.now();
  const results = new Array(n);
  // Results arrive in messages of about 4,096 tasks, each handled in its own turn of the event loop.
  for (let start = 0; start < n; start += 4096) {
    const end = Math.min(n, start + 4096);
    for (let i = start; i < end; i++) {
      const [a, b] = tasks[i].params;
      succeed(results, i, (a + b) | 0, 0.00021 + (i & 7) * 1e-5);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { results, built };
}

const totals = [];
let kept;
for (let r = 0; r < reps; r++) {
  const start = performance.now();
  const { results, built } = await batch();
  const ms = performance.now() - start;
  kept = results;
  totals.push(ms);
  console.log(
    `run ${r + 1}: build ${(built - start).toFixed(0)} ms, results ${(ms - (built - start)).toFixed(0)} ms, ` +
      `total ${ms.toFixed(0)} ms = ${(n / ms / 1000).toFixed(2)}M tasks/s`,
  );
}
const sorted = [...totals].sort((a, b) => a - b);
const rate = (ms) => (n / ms / 1000).toFixed(2);
console.log(
  `median ${rate(sorted[Math.floor(reps / 2)])}M tasks/s, best ${rate(sorted[0])}M, worst ` +
    `${rate(sorted[reps - 1])}M over ${reps} runs (${kept.length.toLocaleString('en-US')} results)`,
);
