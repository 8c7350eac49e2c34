import { WasmPoolError } from '../errors';
import type { ModuleRegistry, ModuleVersion } from './registry';
import type { RetiredCounts } from '../stats/snapshot';
import type { WorkerHandle } from '../workers/worker-handle';

/**
 * Puts module versions into the workers and takes them out again: a new version is loaded by every
 * worker before tasks may use it; a replaced or removed one is unloaded once no accepted task needs it.
 */
export class ModuleLoader {
  /** Task counts of module versions no longer loaded, by module name (for stats). */
  readonly retiredCounts: RetiredCounts = new Map();

  constructor(
    private readonly registry: ModuleRegistry,
    private readonly handles: ReadonlySet<WorkerHandle>,
  ) {}

  /** Sends a new module version to every worker; resolves when all have instantiated it. */
  async load(version: ModuleVersion): Promise<void> {
    this.registry.stage(version);
    const loading: Promise<void>[] = [];
    // A worker that dies while instantiating this version names it (WorkerHandle); one that dies
    // of something else (a task that ended it) is not the module's fault: its replacement loads
    // the version with the others, since the version is staged.
    const ownFault = `module '${version.name}' cannot be instantiated`;
    for (const handle of this.handles) {
      if (handle.moduleIds.has(version.id)) continue;
      handle.moduleIds.add(version.id);
      loading.push(
        handle.load({ type: 'load', modules: [version.load] }).then(
          () => undefined,
          (error: Error) => {
            if (handle.phase !== 'dead' || error.message.startsWith(ownFault)) throw error;
          },
        ),
      );
    }
    try {
      await Promise.all(loading);
    } catch (error) {
      this.unload(version);
      throw new WasmPoolError('INVALID_MODULE', (error as Error).message, { cause: error });
    }
  }

  /** Unloads a version that is no longer active once no accepted task needs it. */
  release(version: ModuleVersion): void {
    if (!version.active && version.pending === 0) {
      this.unload(version);
      const counts = this.retiredCounts.get(version.name) ?? { completed: 0, failed: 0 };
      counts.completed += version.completed;
      counts.failed += version.failed;
      this.retiredCounts.set(version.name, counts);
    }
  }

  private unload(version: ModuleVersion): void {
    this.registry.drop(version);
    for (const handle of this.handles) {
      handle.memory.delete(version.id);
      handle.send({ type: 'unload', ids: [version.id] });
    }
  }
}
