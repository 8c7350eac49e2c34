#!/usr/bin/env node
// Runs a real pool with metrics bound, scrapes its /metrics endpoint over HTTP while tasks are in
// flight, and writes the exposition text to the given file, for `promtool check metrics`:
//
//   npm run build && node scripts/scrape-metrics-sample.mjs /tmp/metrics.txt
//   promtool check metrics < /tmp/metrics.txt      # must print nothing
//
// The mix: successes (math.add, math.spin, faults.ok), traps (faults.trap, faults.div by 0), a timeout
// (faults.loop_forever with a short timeoutMs, which restarts a worker) and a refusal (INVALID_PARAMS).
// Uses the built packages (dist). Exits 0 on success, 1 with a message otherwise.

/* global fetch */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmPool } from '@wasmpool/pool';
import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXPECTED = [
  'wasmpool_workers',
  'wasmpool_queue_depth',
  'wasmpool_tasks_total',
  'wasmpool_task_duration_seconds',
  'wasmpool_task_wait_seconds',
  'wasmpool_worker_restarts_total',
  'wasmpool_utilization_ratio',
  'wasmpool_wasm_memory_bytes',
  'wasmpool_fuel_consumed_total', // no samples until a task is metered; its HELP and TYPE are there
];

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/scrape-metrics-sample.mjs <output-file>');
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error('scrape-metrics-sample: timed out after 60 s');
  process.exit(1);
}, 60_000);
watchdog.unref();

const settle = (promise) =>
  promise.then(
    () => 'ok',
    (err) => err.code ?? String(err),
  );

const pool = await WasmPool.create({
  modules: {
    math: { source: path.join(ROOT, 'examples/modules/build/math.wasm') },
    faults: { source: path.join(ROOT, 'packages/pool/test/fixtures/build/faults.wasm') },
  },
  minWorkers: 2,
  maxWorkers: 2,
  taskTimeoutMs: 10_000,
});
const metrics = bindPoolMetrics(pool);
const server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });

try {
  // First wave, awaited: every outcome appears in the counters and histograms.
  const first = [];
  for (let i = 0; i < 50; i++)
    first.push(settle(pool.run({ module: 'math', function: 'add', params: [i, 1] })));
  for (let i = 0; i < 20; i++)
    first.push(settle(pool.run({ module: 'faults', function: 'ok', params: [i] })));
  for (let i = 0; i < 5; i++) first.push(settle(pool.run({ module: 'faults', function: 'trap' })));
  first.push(settle(pool.run({ module: 'faults', function: 'div', params: [1, 0] })));
  first.push(settle(pool.run({ module: 'faults', function: 'loop_forever' }, { timeoutMs: 100 })));
  first.push(settle(pool.run({ module: 'math', function: 'add', params: ['not a number', 1] })));
  const outcomes = await Promise.all(first);
  if (!outcomes.includes('TIMEOUT') || !outcomes.includes('TRAP')) {
    throw new Error(`expected TRAP and TIMEOUT among the outcomes, got ${[...new Set(outcomes)].join(', ')}`);
  }

  // Second wave, scraped while it runs: busy workers and a queue.
  const second = [];
  for (let i = 0; i < 40; i++) {
    second.push(settle(pool.run({ module: 'math', function: 'spin', params: [2_000_000] })));
    second.push(settle(pool.run({ module: 'faults', function: 'ok', params: [i] })));
  }
  const res = await fetch(server.url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${server.url}: HTTP ${res.status}: ${text}`);
  if (res.headers.get('content-type') !== metrics.registry.contentType) {
    throw new Error(`GET ${server.url}: unexpected content-type ${res.headers.get('content-type')}`);
  }
  const missing = EXPECTED.filter((name) => !text.includes(`# TYPE ${name} `));
  if (missing.length > 0) throw new Error(`the scrape lacks ${missing.join(', ')}`);
  await writeFile(out, text);
  await Promise.all(second);
  console.log(`scrape-metrics-sample: ${text.split('\n').length} lines from ${server.url} written to ${out}`);
} finally {
  await server.close();
  metrics.close();
  await pool.close();
}
