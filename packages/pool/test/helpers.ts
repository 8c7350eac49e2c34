import { join, resolve } from 'node:path';
import type { WasmPool } from '@wasmpool/pool';

const root = resolve(__dirname, '../../..');

/** Path of a built test fixture (packages/pool/test/fixtures/build/NAME.wasm). */
export function fixture(name: string): string {
  return join(__dirname, 'fixtures', 'build', `${name}.wasm`);
}

/** Path of a built example module (examples/modules/build/NAME.wasm). */
export function example(name: string): string {
  return join(root, 'examples', 'modules', 'build', `${name}.wasm`);
}

export const hostImportsPath = join(__dirname, 'fixtures', 'host-imports.js');

/** Pools created by a test file, destroyed after each test so that no worker outlives it. */
export function trackPools(): (pool: WasmPool) => WasmPool {
  const pools: WasmPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
  });
  return (pool) => {
    pools.push(pool);
    return pool;
  };
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The rejection of a promise that must reject. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; taskId?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string; taskId?: string };
  }
  throw new Error('expected a rejection');
}
