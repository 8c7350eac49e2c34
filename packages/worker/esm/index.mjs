// Named re-exports of the CommonJS build (an `export *` would also expose its `__esModule` marker).
// scripts/pack-smoke.mjs checks that this list matches the CommonJS entry's exports.
export {
  columnView,
  DRIVER_MAX_PAGES,
  ownBytes,
  ERROR_CODES,
  codeOfStatus,
  statusOf,
  CHANNEL_BYTES,
  Channel,
  ResultSlot,
  RunSlot,
  OutputKind,
  Status,
  Instrumentation,
  adapterFunctions,
  workerScriptPath,
  wireBytesScriptPath,
} from '../dist/index.js';
