// Named re-exports of the CommonJS build (an `export *` would also expose its `__esModule` marker).
// scripts/pack-smoke.mjs checks that this list matches the CommonJS entry's exports.
export {
  bindPoolMetrics,
  serveMetrics,
  DEFAULT_PREFIX,
  DEFAULT_SERVE_OPTIONS,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_WAIT_BUCKETS,
  UNKNOWN_MODULE,
} from '../dist/index.js';
