/**
 * tinypool (a piscina fork with the same run() API), configured like piscina: `minThreads = maxThreads`,
 * an explicit `idleTimeout`, defaults otherwise (worker_threads runtime, Atomics on, isolateWorkers off).
 */
import type { Tinypool as TinypoolClass } from 'tinypool' with { 'resolution-mode': 'import' };
import type { PeerWorkerData } from '../peer-worker';
import { peerColdStart, peerModules, peerOptions, peerRunning, type PeerPool } from './peer';
import type { Contender, PoolShape } from './types';

// tinypool is ESM-only. Node 20.19+ can require() it synchronously. Node's own require is used (taken from
// the real `node:module`): Jest's sandbox can neither import() without --experimental-vm-modules nor require
// ESM through its own module registry.
const nativeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
let loaded: { Tinypool: typeof TinypoolClass; version: string } | undefined;
function load(): { Tinypool: typeof TinypoolClass; version: string } {
  if (loaded === undefined) {
    const { Tinypool } = nativeRequire('tinypool') as { Tinypool: typeof TinypoolClass };
    const { version } = nativeRequire('tinypool/package.json') as { version: string };
    loaded = { Tinypool, version };
  }
  return loaded;
}

/** tinypool has no niceIncrement: its workers always run at the process's priority. */
function create(shape: PoolShape, modules: PeerWorkerData['modules']): PeerPool {
  const { Tinypool } = load();
  return new Tinypool(peerOptions({ ...shape, nice: 0 }, modules));
}

export const tinypool: Contender = {
  name: 'tinypool',
  describe(shape) {
    const { filename: _f, workerData: _w, ...rest } = peerOptions({ ...shape, nice: 0 }, {});
    return {
      version: load().version,
      ...rest,
      ...(shape.nice > 0 ? { niceIncrement: 'not supported by tinypool' } : {}),
      runtime: 'worker_threads (default)',
      useAtomics: true,
      replaceKilledWorker:
        'not measured: a worker that exits (process.exit) is not noticed, its task never settles',
    };
  },
  start: async (ctx) => peerRunning(create(ctx, peerModules(ctx)), ctx.workers),
  coldStart: (ctx) => peerColdStart(() => create(ctx, { large: ctx.modules.large })),
  // No replaceKilledWorker: tinypool 2.2 listens for a worker thread's 'error' but not its 'exit' (only its
  // child_process runtime does), so a task whose worker calls process.exit() never settles and the dead
  // thread stays counted in `pool.threads`; there is no replacement to time.
};
