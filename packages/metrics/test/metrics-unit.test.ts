import { Gauge, Registry, type OpenMetricsContentType } from 'prom-client';
import {
  bindPoolMetrics,
  serveMetrics,
  DEFAULT_DURATION_BUCKETS,
  type MetricsServer,
} from '@wasmpool/metrics';
import { parseExposition, scrape, type Exposition } from './helpers/exposition';
import { FakePool, ObservingFakePool } from './helpers/fake-pool';

async function expose(registry: Registry): Promise<Exposition> {
  return parseExposition(await registry.metrics());
}

describe('bindPoolMetrics (with a stand-in pool)', () => {
  test('a missing pool or a registry that is not one is a TypeError saying what is expected', async () => {
    for (const pool of [null, undefined, {}, { stats: 5 }]) {
      expect(() => bindPoolMetrics(pool as never)).toThrow(/takes a WasmPool/);
    }
    for (const registry of [5, {}, { getSingleMetric: () => undefined }]) {
      expect(() => bindPoolMetrics(new FakePool(), { registry: registry as never })).toThrow(
        /prom-client Registry/,
      );
    }
    for (const registry of [null, {}, 'metrics']) {
      await expect(serveMetrics(registry as never, { port: 0 })).rejects.toThrow(/prom-client Registry/);
    }
  });

  test('gauges mirror pool.stats() with a single stats() call per scrape', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    expect(pool.statsCalls).toBe(0); // nothing happens between scrapes
    let m = await expose(metrics.registry);
    expect(pool.statsCalls).toBe(1);
    expect(m.value('wasmpool_workers', { state: 'idle' })).toBe(1);
    expect(m.value('wasmpool_workers', { state: 'busy' })).toBe(2);
    expect(m.value('wasmpool_workers', { state: 'starting' })).toBe(0);
    expect(m.value('wasmpool_queue_depth')).toBe(7);
    expect(m.value('wasmpool_tasks_running')).toBe(2);
    expect(m.value('wasmpool_utilization_ratio')).toBe(0.25);
    expect(m.value('wasmpool_wasm_memory_bytes', { module: 'math' })).toBe(196608);
    expect(m.value('wasmpool_wasm_instances', { module: 'faults' })).toBe(3);

    pool.current = { ...pool.current, queued: 0, modules: { faults: pool.current.modules.faults } };
    m = await expose(metrics.registry);
    expect(pool.statsCalls).toBe(2);
    expect(m.value('wasmpool_queue_depth')).toBe(0);
    expect(m.get('wasmpool_wasm_memory_bytes', { module: 'math' })).toBeUndefined(); // unregistered module
    metrics.close();
  });

  test('tasks are counted by module and outcome, timed in seconds, refusals kept out of histograms', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    pool.complete('math', undefined, 1.5, 0.5);
    pool.complete('math', undefined, 2.5, 1.5);
    pool.complete('faults', 'TRAP', 4, 2);
    pool.complete('faults', 'TIMEOUT', 50, 0.25);
    pool.complete('math', 'INVALID_PARAMS', 0, 0); // refused at submission
    pool.complete('nope', 'MODULE_NOT_FOUND', 0, 0);
    pool.complete('ghost', 'QUEUE_FULL', 0, 0); // not a registered module
    pool.complete('math', 'weird code!', 1, 1);
    const m = await expose(metrics.registry);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBe(2);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'trap' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: 'faults', outcome: 'timeout' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'invalid_params' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'module_not_found' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'queue_full' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'unknown' })).toBe(1);
    expect(m.sum('wasmpool_tasks_total')).toBe(8);

    expect(m.value('wasmpool_task_duration_seconds_count', { module: 'math' })).toBe(3);
    expect(m.value('wasmpool_task_duration_seconds_sum', { module: 'math' })).toBeCloseTo(0.005, 9);
    expect(m.value('wasmpool_task_wait_seconds_sum', { module: 'math' })).toBeCloseTo(0.003, 9);
    expect(m.value('wasmpool_task_duration_seconds_count', { module: 'faults' })).toBe(2);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'faults', le: '0.004096' })).toBe(1);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'faults', le: '0.032768' })).toBe(1);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'faults', le: '0.065536' })).toBe(2);
    expect(m.value('wasmpool_task_wait_seconds_bucket', { module: 'faults', le: '0.000128' })).toBe(0);
    expect(m.value('wasmpool_task_wait_seconds_bucket', { module: 'faults', le: '0.000256' })).toBe(1);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'faults', le: '+Inf' })).toBe(2);
    expect(m.get('wasmpool_task_duration_seconds_count', { module: '_unknown' })).toBeUndefined();
    // modules() is read only on a new module name, never for MODULE_NOT_FOUND
    expect(pool.modulesCalls).toBe(3); // math, faults, ghost
    metrics.close();
  });

  test('counts accumulate across scrapes; reads through the prom-client API see them too', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    pool.complete('math', undefined, 1, 1);
    expect(
      (await expose(metrics.registry)).value('wasmpool_tasks_total', { module: 'math', outcome: 'success' }),
    ).toBe(1);
    pool.complete('math', undefined, 1, 1);
    pool.complete('math', undefined, 1, 1);
    const counter = metrics.registry.getSingleMetric('wasmpool_tasks_total');
    expect((await counter?.get())?.values).toEqual([
      { labels: { module: 'math', outcome: 'success' }, value: 3 },
    ]);
    const m = await expose(metrics.registry);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBe(3);
    expect(m.value('wasmpool_task_duration_seconds_count', { module: 'math' })).toBe(3);
    const json = await metrics.registry.getMetricsAsJSON();
    const duration = json.find((metric) => metric.name === 'wasmpool_task_duration_seconds');
    expect(duration?.type).toBe('histogram');
    expect(duration?.values).toContainEqual({
      metricName: 'wasmpool_task_duration_seconds_count',
      labels: { module: 'math' },
      value: 3,
    });
    metrics.registry.resetMetrics();
    const reset = await expose(metrics.registry);
    expect(reset.select('wasmpool_tasks_total')).toEqual([]);
    expect(reset.select('wasmpool_task_duration_seconds_count')).toEqual([]);
    pool.complete('math', undefined, 1, 1);
    expect(
      (await expose(metrics.registry)).value('wasmpool_task_duration_seconds_count', { module: 'math' }),
    ).toBe(1);
    metrics.close();
  });

  test('a value on a bucket bound falls in that bucket (le is inclusive)', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool, { buckets: { duration: [0.001, 0.002, 0.004] } });
    for (const ms of [0, 1, 1.0001, 2, 4, 4.5, 100]) pool.complete('math', undefined, ms, 1);
    const m = await expose(metrics.registry);
    const buckets = m.select('wasmpool_task_duration_seconds_bucket', { module: 'math' });
    expect(buckets.map((b) => [b.labels.le, b.value])).toEqual([
      ['0.001', 2],
      ['0.002', 4],
      ['0.004', 5],
      ['+Inf', 7],
    ]);
    expect(m.value('wasmpool_task_duration_seconds_sum', { module: 'math' })).toBeCloseTo(0.1125001, 9);
    metrics.close();
  });

  test('works with an OpenMetrics registry', async () => {
    const pool = new FakePool();
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = bindPoolMetrics(pool, { registry });
    pool.complete('math', undefined, 1, 1);
    const text = await registry.metrics();
    expect(text).toMatch(/^# TYPE wasmpool_tasks counter$/m);
    expect(text).toMatch(/^wasmpool_tasks_total\{module="math",outcome="success"\} 1$/m);
    expect(text).toMatch(/^wasmpool_task_duration_seconds_count\{module="math"\} 1$/m);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(() => bindPoolMetrics(new FakePool(), { registry })).toThrow(/already registered/);
    metrics.close();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  test('histogram buckets double from 0.5 µs to 33.6 s by default and can be replaced', async () => {
    expect(DEFAULT_DURATION_BUCKETS).toHaveLength(27);
    expect(DEFAULT_DURATION_BUCKETS[0]).toBe(0.0000005);
    expect(DEFAULT_DURATION_BUCKETS[1]).toBe(0.000001);
    expect(DEFAULT_DURATION_BUCKETS[DEFAULT_DURATION_BUCKETS.length - 1]).toBe(33.554432);
    for (let k = 1; k < DEFAULT_DURATION_BUCKETS.length; k++)
      expect(DEFAULT_DURATION_BUCKETS[k] / DEFAULT_DURATION_BUCKETS[k - 1]).toBe(2);
    // sub-microsecond and microsecond tasks land in buckets of their own
    let pool = new FakePool();
    let metrics = bindPoolMetrics(pool);
    for (const ms of [0.0003, 0.0008, 0.0015, 0.003]) pool.complete('math', undefined, ms, ms);
    let m = await expose(metrics.registry);
    const upTo = (le: string): number =>
      m.value('wasmpool_task_duration_seconds_bucket', { module: 'math', le });
    expect([upTo('5e-7'), upTo('0.000001'), upTo('0.000002'), upTo('0.000004')]).toEqual([1, 2, 3, 4]);
    metrics.close();

    pool = new FakePool();
    metrics = bindPoolMetrics(pool, { buckets: { duration: [0.001, 1], wait: [0.5] } });
    pool.complete('math', undefined, 0.5, 0.5);
    m = await expose(metrics.registry);
    const les = (name: string): string[] => m.select(name, { module: 'math' }).map((s) => s.labels.le);
    expect(les('wasmpool_task_duration_seconds_bucket')).toEqual(['0.001', '1', '+Inf']);
    expect(les('wasmpool_task_wait_seconds_bucket')).toEqual(['0.5', '+Inf']);
    metrics.close();
    expect(() => bindPoolMetrics(pool, { buckets: { duration: [1, 0.5] } })).toThrow(/strictly increasing/);
    expect(() => bindPoolMetrics(pool, { buckets: { wait: [] } })).toThrow(/buckets.wait/);
    expect(() => bindPoolMetrics(pool, { prefix: 'bad-prefix' })).toThrow(/prefix/);
  });

  test('fuel_consumed_total adds up fuelUsed of metered tasks by module, read defensively', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    pool.complete('math', undefined, 1, 1); // not metered: no fuel series yet
    let m = await expose(metrics.registry);
    expect(m.select('wasmpool_fuel_consumed_total')).toEqual([]);
    expect(m.families.get('wasmpool_fuel_consumed_total')?.type).toBe('counter');

    pool.complete('math', undefined, 1, 1, 100);
    pool.complete('math', undefined, 1, 1, 250);
    pool.complete('math', 'FUEL_EXHAUSTED', 3, 1, 1000); // ran out: what it used still counts
    for (const bad of [NaN, -5, Infinity, '12', null, { n: 1 }]) pool.complete('math', undefined, 1, 1, bad);
    pool.complete('faults', undefined, 1, 1, 0);
    pool.complete('ghost', 'MODULE_NOT_FOUND', 0, 0, 7); // refused: never ran, no fuel
    m = await expose(metrics.registry);
    expect(m.select('wasmpool_fuel_consumed_total')).toEqual([
      { name: 'wasmpool_fuel_consumed_total', labels: { module: 'math' }, value: 1350 },
    ]);
    pool.complete('math', undefined, 1, 1, 0.5);
    pool.complete('faults', undefined, 1, 1, 2);
    m = await expose(metrics.registry);
    expect(m.value('wasmpool_fuel_consumed_total', { module: 'math' })).toBe(1350.5);
    expect(m.value('wasmpool_fuel_consumed_total', { module: 'faults' })).toBe(2);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'fuel_exhausted' })).toBe(1);
    metrics.close();
  });

  test('a pool with observeTasks() feeds the metrics through it, not taskComplete; close() stops it', async () => {
    const pool = new ObservingFakePool();
    const metrics = bindPoolMetrics(pool);
    expect(pool.observers.size).toBe(1);
    expect(pool.listenerCount('taskComplete')).toBe(0);
    pool.settle('math', undefined, 0.002, 0.01, 40);
    pool.settle('math', undefined, 0.002, 0.01);
    pool.settle('math', 'TRAP', 0.5, 0.01, 2);
    pool.settle('ghost', 'QUEUE_FULL', 0, 0);
    const m = await expose(metrics.registry);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBe(2);
    expect(m.value('wasmpool_tasks_total', { module: 'math', outcome: 'trap' })).toBe(1);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'queue_full' })).toBe(1);
    expect(m.value('wasmpool_fuel_consumed_total', { module: 'math' })).toBe(42);
    expect(m.value('wasmpool_task_duration_seconds_bucket', { module: 'math', le: '0.000002' })).toBe(2);
    expect(m.value('wasmpool_task_duration_seconds_count', { module: 'math' })).toBe(3);
    expect(m.value('wasmpool_task_duration_seconds_sum', { module: 'math' })).toBeCloseTo(0.000504, 12);
    metrics.close();
    expect(pool.observers.size).toBe(0);
  });

  test('task input cannot create series: 2,000 made-up module names all land in _unknown', async () => {
    const pool = new ObservingFakePool();
    const metrics = bindPoolMetrics(pool);
    for (let i = 0; i < 1000; i++) {
      pool.settle(`made-up-${i}`, 'MODULE_NOT_FOUND', 0, 0);
      pool.settle(`other-${i}`, 'QUEUE_FULL', 0, 0);
    }
    pool.settle('math', undefined, 0.01, 0.01);
    const m = await expose(metrics.registry);
    const modules = new Set(
      m.samples
        .filter((s) => !s.name.startsWith('wasmpool_wasm_')) // the gauges list the pool's own modules
        .map((s) => s.labels.module)
        .filter((v) => v !== undefined),
    );
    expect([...modules].sort()).toEqual(['_unknown', 'math']);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'module_not_found' })).toBe(1000);
    expect(m.value('wasmpool_tasks_total', { module: '_unknown', outcome: 'queue_full' })).toBe(1000);
    // refusals stay out of the histograms, even under made-up names
    expect(m.get('wasmpool_task_duration_seconds_count', { module: '_unknown' })).toBeUndefined();
    // a made-up name is checked against the pool's modules (never for MODULE_NOT_FOUND), never remembered
    expect(pool.modulesCalls).toBe(1000 + 1);
    metrics.close();
  });

  test('restarts are counted by reason; idle and shutdown exits are not restarts', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    let m = await expose(metrics.registry);
    for (const reason of ['recycled', 'memory', 'timeout', 'aborted', 'crashed', 'startup-failed']) {
      expect(m.value('wasmpool_worker_restarts_total', { reason })).toBe(0);
    }
    pool.emit('workerExit', 1, 'idle');
    pool.emit('workerExit', 2, 'shutdown');
    pool.emit('workerExit', 3, 'timeout');
    pool.emit('workerExit', 4, 'timeout');
    pool.emit('workerExit', 5, 'memory');
    m = await expose(metrics.registry);
    expect(m.value('wasmpool_worker_restarts_total', { reason: 'timeout' })).toBe(2);
    expect(m.value('wasmpool_worker_restarts_total', { reason: 'memory' })).toBe(1);
    expect(m.sum('wasmpool_worker_restarts_total')).toBe(3);
    metrics.close();
  });

  test('close() unbinds the listeners and removes the metrics; it is idempotent', async () => {
    const pool = new FakePool();
    const registry = new Registry();
    const metrics = bindPoolMetrics(pool, { registry });
    expect(metrics.registry).toBe(registry);
    expect(pool.listenerCount('taskComplete')).toBe(1);
    expect(pool.listenerCount('workerExit')).toBe(1);
    metrics.close();
    metrics.close();
    expect(pool.listenerCount('taskComplete')).toBe(0);
    expect(pool.listenerCount('workerExit')).toBe(0);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(await registry.metrics()).toBe('\n');
    // the registry can take a pool again
    bindPoolMetrics(pool, { registry }).close();
  });

  test('a registry holds one pool per prefix; separate registries never clash', async () => {
    const a = new FakePool();
    const b = new FakePool();
    const registry = new Registry();
    const ma = bindPoolMetrics(a, { registry });
    expect(() => bindPoolMetrics(b, { registry })).toThrow(
      /already registered in this registry.*own Registry/,
    );
    expect(b.listenerCount('taskComplete')).toBe(0); // nothing half-bound
    const mb = bindPoolMetrics(b, { registry, prefix: 'other_' });
    const mc = bindPoolMetrics(b); // own registry
    a.complete('math', undefined, 1, 1);
    b.complete('math', 'TRAP', 1, 1);
    const shared = await expose(registry);
    expect(shared.value('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBe(1);
    expect(shared.get('wasmpool_tasks_total', { module: 'math', outcome: 'trap' })).toBeUndefined();
    expect(shared.value('other_tasks_total', { module: 'math', outcome: 'trap' })).toBe(1);
    const own = await expose(mc.registry);
    expect(own.get('wasmpool_tasks_total', { module: 'math', outcome: 'success' })).toBeUndefined();
    expect(own.value('wasmpool_tasks_total', { module: 'math', outcome: 'trap' })).toBe(1);
    ma.close();
    mb.close();
    mc.close();
  });

  test('defaultMetrics adds prom-client process metrics, removed again by close()', async () => {
    const pool = new FakePool();
    const without = bindPoolMetrics(pool);
    expect((await expose(without.registry)).families.has('process_cpu_seconds_total')).toBe(false);
    without.close();
    const withDefaults = bindPoolMetrics(pool, { defaultMetrics: true });
    const m = await expose(withDefaults.registry);
    expect(m.families.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(m.families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    expect(m.value('wasmpool_queue_depth')).toBe(7);
    withDefaults.close();
    expect(withDefaults.registry.getMetricsAsArray()).toHaveLength(0);
  });

  test('binding is all or nothing: a failing registration leaves the registry and the pool as they were', () => {
    const pool = new FakePool();
    const registry = new Registry();
    new Gauge({ name: 'nodejs_version_info', help: 'taken', registers: [registry] });
    expect(() => bindPoolMetrics(pool, { registry, defaultMetrics: true })).toThrow(/nodejs_version_info/);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['nodejs_version_info']);
    expect(pool.listenerCount('taskComplete')).toBe(0);
    bindPoolMetrics(pool, { registry }).close(); // and it can be bound afterwards
  });

  test('every metric has HELP and TYPE, base units and _total only on counters', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    pool.complete('math', undefined, 1, 1);
    pool.emit('workerExit', 1, 'crashed');
    const m = await expose(metrics.registry);
    const families = [...m.families.values()];
    expect(families.map((f) => [f.name, f.type]).sort()).toEqual([
      ['wasmpool_fuel_consumed_total', 'counter'],
      ['wasmpool_queue_depth', 'gauge'],
      ['wasmpool_task_duration_seconds', 'histogram'],
      ['wasmpool_task_wait_seconds', 'histogram'],
      ['wasmpool_tasks_running', 'gauge'],
      ['wasmpool_tasks_total', 'counter'],
      ['wasmpool_utilization_ratio', 'gauge'],
      ['wasmpool_wasm_instances', 'gauge'],
      ['wasmpool_wasm_memory_bytes', 'gauge'],
      ['wasmpool_worker_restarts_total', 'counter'],
      ['wasmpool_workers', 'gauge'],
    ]);
    for (const f of families) {
      expect(f.help).toBeTruthy();
      expect(f.name.endsWith('_total')).toBe(f.type === 'counter');
      expect(f.name).not.toMatch(/_(milliseconds|ms|kilobytes|megabytes|percent)$/);
    }
    metrics.close();
  });
});

describe('serveMetrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('serves the registry on GET /metrics with its content type; 404, 405, HEAD', async () => {
    const pool = new FakePool();
    const metrics = bindPoolMetrics(pool);
    server = await serveMetrics(metrics.registry, { port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const m = await scrape(server.url, metrics.registry.contentType);
    expect(m.value('wasmpool_queue_depth')).toBe(7);
    expect((await scrape(`${server.url}?x=1`)).value('wasmpool_queue_depth')).toBe(7);
    const base = server.url.slice(0, -'/metrics'.length);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(server.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    metrics.close();
  });

  test('a custom path; a failing collection answers 500', async () => {
    const failing = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: (): Promise<string> => Promise.reject(new Error('stats exploded')),
    };
    server = await serveMetrics(failing, { port: 0, path: '/prom' });
    expect(server.url).toMatch(/\/prom$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/stats exploded/);
  });

  test('close() ends keep-alive connections and frees the port; a busy port rejects', async () => {
    const registry = new Registry();
    server = await serveMetrics(registry, { port: 0 });
    const port = Number(new URL(server.url).port);
    await expect(serveMetrics(registry, { port })).rejects.toThrow(/EADDRINUSE/);
    expect((await fetch(server.url)).status).toBe(200); // leaves a keep-alive connection open
    const closing = server.close();
    expect(server.close()).toBe(closing);
    await closing;
    await expect(fetch(server.url)).rejects.toThrow();
    await expect(serveMetrics(registry, { port: -1 })).rejects.toThrow(RangeError);
    await expect(serveMetrics(registry, { path: 'metrics' })).rejects.toThrow(/path/);
  });
});
