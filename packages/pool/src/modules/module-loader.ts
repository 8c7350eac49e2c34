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
    let loaded = 0;
    let death: Error | undefined;
    for (const handle of this.handles) {
      if (handle.moduleIds.has(version.id)) continue;
      handle.moduleIds.add(version.id);
      loading.push(
        handle.load({ type: 'load', modules: [version.load] }).then(
          () => void loaded++,
          (error: Error) => {
            if (handle.phase !== 'dead') throw error;
            death = error;
          },
        ),
      );
    }
    try {
      await Promise.all(loading);
      // Workers died loading it and none loaded it: the module (its host imports) kills workers.
      if (death !== undefined && loaded === 0) {
        throw new Error(`module '${version.name}': every worker died loading it (${death.message})`);
      }
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
