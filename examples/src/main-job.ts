/**
 * The main job (`npm start`): a batch of WebAssembly tasks over the bundled example modules, with
 * progress while it runs and a summary at the end. Every answer is checked.
 *
 *   npm start -- --tasks 200000 --workers 2 --metrics-port 9464
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WasmPool, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { startMetrics } from './metrics';
import { realModuleSpecs, realModuleTask } from './real-modules-mix';
import { formatSummary } from './summary';

const modulesDir = join(__dirname, '..', 'modules', 'build');

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '120000' },
    workers: { type: 'string' },
    'metrics-port': { type: 'string', default: '9464' },
    'no-metrics': { type: 'boolean', default: false },
  },
});

const taskCount = Number(args.tasks);
if (!Number.isInteger(taskCount) || taskCount < 1)
  throw new Error(`--tasks must be a positive integer; got ${args.tasks}`);

interface Expected {
  check(output: unknown): boolean;
}

/**
 * A mixed workload: integer math, Fibonacci, SHA-256 of 1 KiB inputs, text statistics as JSON, and
 * real modules (a WASI command, xxhash-wasm's binary).
 */
function buildTasks(count: number): { tasks: WasmTask[]; expected: Expected[] } {
  const tasks: WasmTask[] = [];
  const expected: Expected[] = [];
  const text = 'the quick brown fox\njumps over the lazy dog\n';
  for (let i = 0; i < count; i++) {
    const real = realModuleTask(i); // 2 in 100: a WASI command, a third-party binary (real-modules-mix.ts)
    if (real !== undefined) {
      tasks.push(real.task);
      expected.push(real);
      continue;
    }
    switch (i % 10) {
      case 0: {
        const data = randomBytes(1024);
        const digest = createHash('sha256').update(data).digest('hex');
        tasks.push({ module: 'sha256', function: 'sha256', params: [data], output: 'bytes' });
        expected.push({ check: (out) => Buffer.from(out as Uint8Array).toString('hex') === digest });
        break;
      }
      case 1:
        tasks.push({ module: 'text', function: 'wordstats', params: [text], output: 'json' });
        expected.push({
          check: (out) => {
            const stats = out as { bytes: number; words: number; lines: number };
            return stats.bytes === text.length && stats.words === 9 && stats.lines === 2;
          },
        });
        break;
      case 2: {
        const n = i % 50;
        tasks.push({ module: 'math', function: 'fib', params: [n], output: 'number' });
        expected.push({ check: (out) => out === fib(n) });
        break;
      }
      default: {
        const a = i;
        const b = count - i;
        tasks.push({ module: 'math', function: 'add', params: [a, b] });
        expected.push({ check: (out) => out === ((a + b) | 0) });
      }
    }
  }
  return { tasks, expected };
}

function fib(n: number): number {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

function progressBar(done: number, total: number, startedAt: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const seconds = (performance.now() - startedAt) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tasks, ${rate.toLocaleString('en-US')} tasks/s`;
}

async function main(): Promise<void> {
  const workers = args.workers === undefined ? undefined : Number(args.workers);
  const pool = await WasmPool.create({
    modules: {
      math: { source: join(modulesDir, 'math.wasm') },
      sha256: { source: join(modulesDir, 'sha256.wasm'), memoryLimitMb: 16 },
      text: { source: join(modulesDir, 'text.wasm'), memoryLimitMb: 16 },
      ...realModuleSpecs(),
    },
    maxQueue: Math.max(100_000, taskCount),
    ...(workers === undefined ? {} : { minWorkers: workers, maxWorkers: workers }),
  });
  const metrics = args['no-metrics'] ? undefined : await startMetrics(pool, Number(args['metrics-port']));
  if (metrics !== undefined) console.log(`Prometheus metrics: ${metrics.url} (while the job runs)`);

  const { tasks, expected } = buildTasks(taskCount);
  const modules = pool.modules().map((m) => `${m.name} (${m.exports.length} exports, ${m.size} bytes)`);
  console.log(
    `Running ${taskCount.toLocaleString('en-US')} tasks on ${pool.stats().workers.total} workers: ${modules.join(', ')}`,
  );

  const interactive = process.stdout.isTTY === true;
  const startedAt = performance.now();
  let lastPrint = 0;
  const results: WasmResult[] = await pool.runBatch(tasks, {
    onProgress: (done, total) => {
      const now = performance.now();
      if (done !== total && now - lastPrint < (interactive ? 100 : 500)) return;
      lastPrint = now;
      const line = progressBar(done, total, startedAt);
      if (interactive) process.stdout.write(`\r${line}`);
      else console.log(line);
    },
  });
  const elapsedMs = performance.now() - startedAt;
  if (interactive) process.stdout.write('\n');

  let wrong = 0;
  results.forEach((result, i) => {
    if (result.success && !expected[i]!.check(result.output)) wrong++;
  });
  console.log(formatSummary({ results, elapsedMs, wrong, stats: pool.stats() }));

  await metrics?.close();
  await pool.close();
  if (wrong > 0 || results.some((r) => !r.success)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
