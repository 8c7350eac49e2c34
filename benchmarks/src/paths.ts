import * as path from 'node:path';
import type { ModulePaths } from './options';

/** The repository root, from benchmarks/src (ts-jest) or benchmarks/dist (compiled). */
export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The compiled worker script of piscina and tinypool (always the JavaScript in dist). */
export const PEER_WORKER = path.resolve(__dirname, '../dist/peer-worker.js');

/** Default results folder: benchmarks/results. */
export const RESULTS_DIR = path.resolve(__dirname, '../results');

/** benchmarks/README.md, whose results section `--update-readme` rewrites. */
export const README = path.resolve(__dirname, '../README.md');

export function defaultModulePaths(): ModulePaths {
  return {
    math: path.join(REPO_ROOT, 'examples/modules/build/math.wasm'),
    sha256: path.join(REPO_ROOT, 'examples/modules/build/sha256.wasm'),
    large: path.join(REPO_ROOT, 'packages/pool/test/fixtures/build/large.wasm'),
    host: path.join(REPO_ROOT, 'packages/pool/test/fixtures/build/host.wasm'),
    hostImports: path.join(REPO_ROOT, 'packages/pool/test/fixtures/host-imports.js'),
    wasiTool: path.join(REPO_ROOT, 'examples/modules/native/wasm/wasi-tool.wasm'),
  };
}
