// The WebAssembly JS API declarations ship with @wasmpool/worker (packages/worker/webassembly.d.ts), so
// that the packages' own type declarations work in a consumer project; the workspace reads them here.
/// <reference path="../packages/worker/webassembly.d.ts" />
