/**
 * A pool for one command, with its metrics server and its interruption signal: everything a command that
 * runs tasks sets up first and tears down last.
 */
import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';
import { WasmPool, WasmPoolError, type ModuleSpec } from '@wasmpool/pool';
import { CliError, EXIT } from './exit-codes';
import { poolOptionsOf, type PoolFlags } from './pool-options';

export interface Session {
  readonly pool: WasmPool;
  /** Aborted on SIGINT or SIGTERM, or by {@link Session.interrupt}. */
  readonly signal: AbortSignal;
  /** Stops the work as a signal would (for instance when the output is gone). */
  interrupt(): void;
  /** Ends the metrics server and the pool (destroying it when interrupted), and removes the handlers. */
  close(): Promise<void>;
}

/** The CLI error for a pool that could not be created with these modules and flags. */
export function createError(error: unknown): CliError {
  if (error instanceof WasmPoolError) {
    const code = error.code === 'INVALID_CONFIG' ? EXIT.usage : EXIT.badModule;
    return new CliError(error.message, code);
  }
  return new CliError(error instanceof Error ? error.message : String(error), EXIT.badModule);
}

export async function openSession(
  modules: Record<string, ModuleSpec>,
  flags: PoolFlags,
  log: (line: string) => void,
): Promise<Session> {
  let pool: WasmPool;
  try {
    pool = await WasmPool.create({ ...poolOptionsOf(flags), modules });
  } catch (error) {
    throw createError(error);
  }
  let stopMetrics = async (): Promise<void> => {};
  if (flags.metricsPort !== undefined) {
    const metrics = bindPoolMetrics(pool);
    try {
      const server = await serveMetrics(metrics.registry, {
        host: flags.metricsHost,
        port: flags.metricsPort,
      });
      log(`Prometheus metrics: ${server.url}`);
      stopMetrics = async () => {
        await server.close();
        metrics.close();
      };
    } catch (error) {
      metrics.close();
      await pool.destroy();
      throw new CliError(
        `cannot serve metrics on ${flags.metricsHost ?? ''}:${flags.metricsPort}: ${(error as Error).message}`,
        EXIT.io,
      );
    }
  }
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    pool,
    signal: interrupt.signal,
    interrupt: onSignal,
    async close() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await stopMetrics();
      await (interrupt.signal.aborted ? pool.destroy() : pool.close());
    },
  };
}
