/**
 * piscina, configured as its README recommends for a fixed pool of synchronous CPU tasks: a worker file
 * exporting the handlers, `minThreads = maxThreads`, an explicit `idleTimeout` (the README's tip against
 * worker churn), and the defaults otherwise (Atomics on, one task per worker at a time, unbounded queue).
 */
import { Piscina } from 'piscina';
import type { PeerWorkerData } from '../peer-worker';
import { peerColdStart, peerModules, peerOptions, peerReplace, peerRunning, type PeerPool } from './peer';
import type { Contender, PoolShape } from './types';

function create(shape: PoolShape, modules: PeerWorkerData['modules']): PeerPool {
  return new Piscina(peerOptions(shape, modules));
}

export const piscina: Contender = {
  name: 'piscina',
  describe(shape) {
    const { filename: _f, workerData: _w, ...rest } = peerOptions(shape, {});
    return { version: Piscina.version, ...rest, atomics: 'sync (default)', concurrentTasksPerWorker: 1 };
  },
  start: async (ctx) => peerRunning(create(ctx, peerModules(ctx)), ctx.workers),
  coldStart: (ctx) => peerColdStart(() => create(ctx, { large: ctx.modules.large })),
  replaceKilledWorker: (ctx) => peerReplace(() => create(ctx, { math: ctx.modules.math }), ctx.workers),
};
