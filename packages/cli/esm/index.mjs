// Named re-exports of the CommonJS build (an `export *` would also expose its `__esModule` marker).
// scripts/pack-smoke.mjs checks that this list matches the CommonJS entry's exports.
export { main, EXIT, decodeTask, decodeParam, encodeResult, encodeValue, TaskLineError } from '../dist/index.js';
