import path from 'node:path';
import { Registry } from 'prom-client';
import { WasmPool, type WasmTask } from '@wasmpool/pool';
import {
  bindPoolMetrics,
  serveMetrics,
  type BindPoolMetricsOptions,
  type MetricsServer,
  type PoolMetrics,
} from '@wasmpool/metrics';
import { scrape, type Exposition } from './helpers/exposition';

const ROOT = path.resolve(__dirname, '../../..');
const MODULES = {
  math: { source: path.join(ROOT, 'examples/modules/build/math.wasm') },
  // Not instrumented, so that it cannot be interrupted: its timeouts replace the worker (a restart).
  faults: { source: path.join(ROOT, 'packages/pool/test/fixtures/build/faults.wasm'), instrument: false },
};

/** Settles a task to its outcome label: 'success' or the error code in lower case. */
async function outcome(pool: WasmPool, task: WasmTask, timeoutMs?: number): Promise<string> {
  try {
    await pool.run(task, timeoutMs === undefined ? undefined : { timeoutMs });
    return 'success';
  } catch (err) {
    return String((err as { code?: string }).code).toLowerCase();
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Checks a histogram series: cumulative buckets, +Inf equal to _count. */
function checkHistogram(m: Exposition, name: string, module: string): number {
  const buckets = m.select(`${name}_bucket`, { module });
  expect(buckets.length).toBeGreaterThan(10);
  for (let i = 1; i < buckets.length; i++)
    expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
  const count = m.value(`${name}_count`, { module });
  expect(buckets[buckets.length - 1]).toEqual({
    name: `${name}_bucket`,
    labels: { le: '+Inf', module },
    value: count,
  });
  return count;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(
  options: Parameters<typeof WasmPool.create>[0],
  bind: BindPoolMetricsOptions = {},
): Promise<{ pool: WasmPool; metrics: PoolMetrics; server: MetricsServer }> {
  const pool = await WasmPool.create({ modules: MODULES, ...options });
  cleanups.push(() => pool.destroy());
  const metrics = bindPoolMetrics(pool, bind);
  cleanups.push(() => metrics.close());
  const server = await serveMetrics(metrics.registry, { port: 0 });
  cleanups.push(() => server.close());
  return { pool, metrics, server };
}

describe('metrics of a real pool, scraped over HTTP', () => {
  test('counters and histograms match the tasks that ran: successes, traps, a timeout, refusals', async () => {
    const { pool, server } = await start({ minWorkers: 2, maxWorkers: 2 });
    let m = await scrape(server.url);
    expect(m.value('wasmpool_workers', { state: 'idle' })).toBe(2);
    expect(m.value('wasmpool_workers', { state: 'busy' })).toBe(0);
    expect(m.value('wasmpool_queue_depth')).toBe(0);
    // workers report their instances' memory with their first results
    expect(m.get('wasmpool_wasm_memory_bytes', { module: 'math' })).toBeGreaterThanOrEqual(0);
    expect(m.get('wasmpool_wasm_instances', { module: 'faults' })).toBeGreaterThanOrEqual(0);
    expect(m.select('wasmpool_tasks_total')).toEqual([]);

    const runs: Promise<string>[] = [];
    for (let i = 0; i < 10; i++)
      runs.push(outcome(pool, { module: 'math', function: 'add', params: [i, 1] }));
    for (let i = 0; i < 4; i++) runs.push(outcome(pool, { module: 'faults', function: 'ok', params: [i] }));
    for (let i = 0; i < 3; i++) runs.push(outcome(pool, { module: 'faults', function: 'trap' }));
    runs.push(outcome(pool, { module: 'faults', function: 'div', params: [1, 0] }));
    runs.push(outcome(pool, { module: 'faults', function: 'loop_forever' }, 150));
    runs.push(outcome(pool, { module: 'math', function: 'add', params: ['x', 1] }));
    runs.push(outcome(pool, { module: 'nope', function: 'add', params: [1, 2] }));
    const outcomes = await Promise.all(runs);
    expect(outcomes.slice(14)).toEqual([
      'trap',
      'trap',
      'trap',
      'trap',
      'timeout',
      'invalid_params',
      'module_not_found',
    ]);

    // the timed-out worker is replaced; wait for the replacement to be ready
    await until('the restart', async () => {
      m = await scrape(server.url);
      return (
        m.get('wasmpool_worker_restarts_total', { reason: 'timeout' }) === 1 &&
        m.value('wasmpool_workers', { state: 'idle' }) === 2
      );
    });

    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBe(10);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'success' })).toBe(4);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'trap' })).toBe(4);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'timeout' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'invalid_params' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'module_not_found' })).toBe(1);
    expect(m.select('wasmpool_tasks_total')).toHaveLength(6);

    // histograms: every accepted task once (refusals are counted above only)
    expect(checkHistogram(m, 'wasmpool_task_duration_seconds', 'math')).toBe(10);
    expect(checkHistogram(m, 'wasmpool_task_duration_seconds', 'faults')).toBe(9);
    expect(checkHistogram(m, 'wasmpool_task_wait_seconds', 'math')).toBe(10);
    expect(checkHistogram(m, 'wasmpool_task_wait_seconds', 'faults')).toBe(9);
    expect(m.select('wasmpool_task_duration_seconds_count')).toHaveLength(2);
    // the timed-out task took about 150 ms between acceptance and settling; the rest take microseconds
    const faultsSeconds =
      m.value('wasmpool_task_duration_seconds_sum', { module: 'faults' }) +
      m.value('wasmpool_task_wait_seconds_sum', { module: 'faults' });
    expect(faultsSeconds).toBeGreaterThan(0.1);
    expect(faultsSeconds).toBeLessThan(5);
    expect(
      m.value('wasmpool_task_duration_seconds_bucket', { module: 'faults', le: '0.131072' }),
    ).toBeGreaterThanOrEqual(8);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'math', le: '0.131072' })).toBe(10);
    expect(m.value('wasmpool_task_duration_seconds_sum', { module: 'math' })).toBeGreaterThan(0);
    expect(m.value('wasmpool_task_duration_seconds_sum', { module: 'math' })).toBeLessThan(1);

    for (const reason of ['recycled', 'memory', 'aborted', 'crashed', 'startup-failed']) {
      expect(m.value('wasmpool_worker_restarts_total', { reason })).toBe(0);
    }
    expect(m.value('wasmpool_queue_depth')).toBe(0);
    expect(m.value('wasmpool_tasks_running')).toBe(0);
    const utilization = m.value('wasmpool_utilization_ratio');
    expect(utilization).toBeGreaterThan(0);
    expect(utilization).toBeLessThanOrEqual(1);
    expect(m.value('wasmpool_wasm_memory_bytes', { module: 'math' })).toBeGreaterThan(0);

    // the same facts as the pool's own stats
    const stats = pool.stats();
    expect(m.sum('wasmpool_tasks_total')).toBe(stats.completed + stats.failed);
    expect(m.sum('wasmpool_tasks_total', { outcome: 'trap' })).toBe(stats.failures.TRAP);
    expect(m.sum('wasmpool_worker_restarts_total')).toBe(stats.workerRestarts);
    expect(m.value('wasmpool_wasm_memory_bytes', { module: 'faults' })).toBe(
      stats.modules.faults.memoryBytes,
    );
  });

  test('wasmpool_fuel_consumed_total adds up the fuel metered tasks used, by module', async () => {
    const { pool, server } = await start({ minWorkers: 1, maxWorkers: 1 });
    await pool.registerModule('metered', { source: MODULES.math.source, fuel: 1_000_000 });
    const tasks = Array.from({ length: 20 }, (_, i) => ({ module: 'metered', function: 'fib', params: [i] }));
    const results = await pool.runBatch(tasks, { fuel: 1_000_000 });
    const used = results.reduce((sum, r) => sum + (r.fuelUsed ?? 0), 0);
    expect(used).toBeGreaterThan(20);
    // The same tasks on the module registered without fuel: not metered, no fuel counted.
    await pool.runBatch(tasks.map((task) => ({ ...task, module: 'math' })));
    const m = await scrape(server.url);
    expect(m.value('wasmpool_fuel_consumed_total', { module: 'metered' })).toBe(used);
    expect(m.select('wasmpool_fuel_consumed_total')).toHaveLength(1);
  });

  test('gauges during a run: a busy worker, a queue, then idle again', async () => {
    const { pool, server } = await start({ minWorkers: 1, maxWorkers: 1 });
    const blocker = outcome(pool, { module: 'faults', function: 'loop_forever' }, 1_000);
    await until('the blocker to run', () => pool.stats().workers.busy === 1);
    // submitted one by one, so that they do not all fit in the worker's pipeline
    const queued: Promise<string>[] = [];
    for (let i = 0; i < 5; i++) {
      queued.push(outcome(pool, { module: 'faults', function: 'ok', params: [i] }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    let m = await scrape(server.url);
    const stats = pool.stats(); // nothing moves while the blocker spins
    expect(m.value('wasmpool_workers', { state: 'busy' })).toBe(1);
    expect(m.value('wasmpool_workers', { state: 'idle' })).toBe(0);
    expect(m.value('wasmpool_workers', { state: 'starting' })).toBe(0);
    expect(m.value('wasmpool_queue_depth')).toBe(stats.queued);
    expect(m.value('wasmpool_tasks_running')).toBe(stats.running);
    expect(m.value('wasmpool_queue_depth')).toBeGreaterThanOrEqual(1);
    expect(m.value('wasmpool_tasks_running')).toBeGreaterThanOrEqual(1);
    expect(m.value('wasmpool_queue_depth') + m.value('wasmpool_tasks_running')).toBe(6);
    expect(m.select('wasmpool_tasks_total')).toEqual([]);

    expect(await blocker).toBe('timeout');
    expect(await Promise.all(queued)).toEqual(['success', 'success', 'success', 'success', 'success']);
    await until('an idle worker', () => pool.stats().workers.idle === 1);
    m = await scrape(server.url);
    expect(m.value('wasmpool_queue_depth')).toBe(0);
    expect(m.value('wasmpool_tasks_running')).toBe(0);
    expect(m.value('wasmpool_workers', { state: 'busy' })).toBe(0);
    expect(m.value('wasmpool_worker_restarts_total', { reason: 'timeout' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'success' })).toBe(5);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'timeout' })).toBe(1);
    // the queued tasks waited for the blocker to time out
    expect(m.value('wasmpool_task_wait_seconds_sum', { module: 'faults' })).toBeGreaterThan(5 * 0.8);
    expect(m.value('wasmpool_wasm_memory_bytes', { module: 'faults' })).toBe(65536); // 1 page, 1 worker
    expect(m.value('wasmpool_wasm_instances', { module: 'faults' })).toBe(1);
  });

  test('close() unbinds from the pool and the server closes', async () => {
    const { pool, metrics, server } = await start({ minWorkers: 1, maxWorkers: 1 });
    // tasks reach the metrics through pool.observeTasks(), not the costlier taskComplete event
    expect(pool.listenerCount('taskComplete')).toBe(0);
    expect(pool.listenerCount('workerExit')).toBe(1);
    await pool.run({ module: 'math', function: 'add', params: [1, 2] });
    expect(
      (await scrape(server.url)).value('wasmpool_tasks_total', { module: 'math', outcome: 'success' }),
    ).toBe(1);

    metrics.close();
    expect(pool.listenerCount('taskComplete')).toBe(0);
    expect(pool.listenerCount('workerExit')).toBe(0);
    await pool.run({ module: 'math', function: 'add', params: [1, 2] });
    const after = await scrape(server.url);
    expect(after.samples).toEqual([]);

    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  test('two pools on two registries side by side; the same registry twice is refused', async () => {
    const a = await start({ minWorkers: 1, maxWorkers: 1 });
    const b = await start(
      { minWorkers: 1, maxWorkers: 1 },
      { registry: new Registry(), defaultMetrics: true },
    );
    expect(() => bindPoolMetrics(b.pool, { registry: a.metrics.registry })).toThrow(/already registered/);

    for (let i = 0; i < 3; i++) await a.pool.run({ module: 'math', function: 'add', params: [i, i] });
    await expect(b.pool.run({ module: 'faults', function: 'trap' })).rejects.toMatchObject({ code: 'TRAP' });
    await expect(b.pool.run({ module: 'faults', function: 'trap' })).rejects.toMatchObject({ code: 'TRAP' });

    const ma = await scrape(a.server.url);
    const mb = await scrape(b.server.url);
    expect(ma.select('wasmpool_tasks_total')).toEqual([
      { name: 'wasmpool_tasks_total', labels: { module: 'math', outcome: 'success' }, value: 3 },
    ]);
    expect(mb.select('wasmpool_tasks_total')).toEqual([
      { name: 'wasmpool_tasks_total', labels: { module: 'faults', outcome: 'trap' }, value: 2 },
    ]);
    // default metrics only where asked for
    expect(ma.families.has('process_cpu_seconds_total')).toBe(false);
    expect(mb.families.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(mb.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
