import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';
import type { WasmPool } from '@wasmpool/pool';

/** Serves the pool's Prometheus metrics while the job runs. */
export async function startMetrics(
  pool: WasmPool,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const metrics = bindPoolMetrics(pool);
  try {
    const server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port }).catch(
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        console.warn(`port ${port} is in use; serving metrics on a free port instead`);
        return serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });
      },
    );
    return {
      url: server.url,
      async close() {
        await server.close();
        metrics.close();
      },
    };
  } catch (error) {
    metrics.close();
    throw error;
  }
}
