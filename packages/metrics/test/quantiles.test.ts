import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WasmPool } from '@wasmpool/pool';
import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';
import { scrape, type Sample } from './helpers/exposition';
import { histogramQuantile } from './helpers/quantile';

const MATH = path.resolve(__dirname, '../../../examples/modules/build/math.wasm');

/** `spin` iterations that take about `us` microseconds on this thread (fastest of several timings). */
function spinIterations(us: number): number {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(MATH)), {}).exports as {
    spin(n: number): number;
  };
  const n = 1_000_000;
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    exports.spin(n);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round((n * us) / (best * 1000)));
}

function sample(le: string, value: number): Sample {
  return { name: 'x_bucket', labels: { le }, value };
}

describe('histogramQuantile (the test helper) computes as Prometheus does', () => {
  test('interpolates inside the bucket; first bucket from 0; +Inf gives the highest bound; no +Inf is NaN', () => {
    const buckets = [sample('1', 0), sample('2', 10), sample('4', 20), sample('+Inf', 20)];
    expect(histogramQuantile(0.5, buckets)).toBe(2); // rank 10: the top of (1, 2]
    expect(histogramQuantile(0.25, buckets)).toBe(1.5);
    expect(histogramQuantile(0.75, buckets)).toBe(3);
    expect(histogramQuantile(0.1, [sample('2', 10), sample('+Inf', 10)])).toBe(0.2);
    expect(histogramQuantile(0.99, [sample('1', 1), sample('+Inf', 10)])).toBe(1);
    expect(histogramQuantile(0.5, [sample('1', 1), sample('2', 2)])).toBeNaN();
    expect(histogramQuantile(0.5, [sample('1', 0), sample('+Inf', 0)])).toBeNaN();
    // shuffled input and a non-monotonic count (as after a counter reset) are handled like Prometheus
    expect(histogramQuantile(0.5, [sample('+Inf', 4), sample('2', 3), sample('1', 4)])).toBe(0.5);
  });
});

describe('histogram buckets resolve microsecond tasks', () => {
  const targets = [1, 10, 100];

  test.each(targets)(
    'tasks of about %d µs: histogram_quantile(0.5) of a real scrape is within 2x of stats() p50',
    async (us) => {
      const iterations = spinIterations(us);
      const pool = await WasmPool.create({
        modules: { math: { source: MATH } },
        minWorkers: 1,
        maxWorkers: 1,
      });
      const metrics = bindPoolMetrics(pool);
      const server = await serveMetrics(metrics.registry, { port: 0 });
      try {
        const tasks = Array.from({ length: 2000 }, () => ({
          module: 'math',
          function: 'spin',
          params: [iterations],
        }));
        const results = await pool.runBatch(tasks);
        expect(results.every((r) => r.success)).toBe(true);
        const m = await scrape(server.url);
        const stats = pool.stats();
        expect(m.value('wasmpool_task_duration_seconds_count', { module: 'math' })).toBe(2000);

        for (const [histogram, p50Ms] of [
          ['wasmpool_task_duration_seconds', stats.runTimeMs.p50],
          ['wasmpool_task_wait_seconds', stats.waitTimeMs.p50],
        ] as const) {
          const fromPrometheus = histogramQuantile(0.5, m.select(`${histogram}_bucket`, { module: 'math' }));
          const fromStats = p50Ms / 1000;
          expect(fromStats).toBeGreaterThan(0);
          const ratio = fromPrometheus / fromStats;
          // the report of the run: what was measured, for the record
          process.stdout.write(
            `${us} µs tasks: ${histogram} p50 ${(fromPrometheus * 1e6).toFixed(2)} µs from the scrape, ` +
              `stats() ${(fromStats * 1e6).toFixed(2)} µs, ratio ${ratio.toFixed(2)}\n`,
          );
          expect(ratio).toBeGreaterThanOrEqual(0.5);
          expect(ratio).toBeLessThanOrEqual(2);
        }
        // the run time really is microseconds, not a bucket artefact: several buckets below 100 µs exist
        expect(
          m
            .select('wasmpool_task_duration_seconds_bucket', { module: 'math' })
            .filter((b) => Number(b.labels.le) <= 0.0001).length,
        ).toBeGreaterThanOrEqual(8);
      } finally {
        await server.close();
        metrics.close();
        await pool.destroy();
      }
    },
  );
});
