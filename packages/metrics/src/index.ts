/**
 * Prometheus metrics for wasmpool, built on prom-client.
 *
 * @example
 * import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';
 * const metrics = bindPoolMetrics(pool);
 * const server = await serveMetrics(metrics.registry, { port: 9464 });
 * console.log(`metrics at ${server.url}`);
 *
 * @packageDocumentation
 */
export { bindPoolMetrics, DEFAULT_PREFIX, type BindPoolMetricsOptions, type PoolMetrics } from './bind';
export {
  serveMetrics,
  DEFAULT_SERVE_OPTIONS,
  type MetricsServer,
  type ServeMetricsOptions,
  type ScrapeTarget,
} from './server';
export { DEFAULT_DURATION_BUCKETS, DEFAULT_WAIT_BUCKETS } from './buckets';
export { UNKNOWN_MODULE } from './labels';
export type { AnyRegistry, MetricsSource, MetricsEventName } from './source';
