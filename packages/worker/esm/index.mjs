// Named re-exports of the CommonJS build (an `export *` would also expose its `__esModule` marker).
// scripts/pack-smoke.mjs checks that this list matches the CommonJS entry's exports.
export {
  ERROR_CODES,
  codeOfStatus,
  statusOf,
  CHANNEL_BYTES,
  Channel,
  OutputKind,
  Status,
  resultSlotViews,
  runSlotViews,
  workerScriptPath,
} from '../dist/index.js';
