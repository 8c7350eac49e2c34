/**
 * The `sandbox` workload (wasmpool only): the same tasks on three pools whose modules are registered
 * with the sandbox's instrumentation (`on`, ModuleSpec's default), without it (`off`, `instrument: false`)
 * and with exact fuel metering (`fuel`). Within each repetition the three pools run one after the other,
 * the order rotating each repetition, so that drift on a shared machine hits them alike; what the
 * sandbox costs is the paired slowdown against `off` in the same repetition (`costPct` of `on` and `fuel`).
 */
import type { Running, SandboxMode } from './contenders/types';
import type { Figure } from './harness';
import { figure, measurePass, passFigures, type Pass } from './passes';

/** The modes in the order they are recorded (and run in the first repetition). */
export const SANDBOX_MODES: readonly SandboxMode[] = ['off', 'on', 'fuel'];

/** One kind of task, run on every pool. */
export interface SandboxShape {
  /** Case names are `${name}-${mode}`. */
  name: string;
  /** Tasks per measured pass. */
  tasks: number;
  /** Runs n tasks on one pool, writing their answers where `check` reads them. */
  run(r: Running, n: number): Promise<void>;
  /** Checks the answers of the last pass of n tasks (and clears them); throws CorrectnessError. */
  check(n: number): void;
}

export interface SandboxCostOptions {
  /** wasmpool started in each mode, with the modules the shapes use. */
  running: Record<SandboxMode, Running>;
  shapes: SandboxShape[];
  reps: number;
  /** Tasks of the unmeasured warm-up pass of each shape on each pool, as a fraction of its tasks (0: none). */
  warmupFraction: number;
  log: (line: string) => void;
  record: (caseName: string, metrics: Record<string, Figure>) => void;
}

export async function sandboxCost(o: SandboxCostOptions): Promise<void> {
  const pass = (shape: SandboxShape, r: Running, n: number): Promise<Pass> =>
    measurePass(
      n,
      () => shape.run(r, n),
      () => shape.check(n),
    );

  for (const shape of o.shapes) {
    if (o.warmupFraction > 0) {
      const n = Math.max(1, Math.ceil(shape.tasks * o.warmupFraction));
      for (const mode of SANDBOX_MODES) await pass(shape, o.running[mode], n);
    }
    const passes = new Map<SandboxMode, Pass[]>(SANDBOX_MODES.map((m) => [m, []]));
    for (let rep = 0; rep < o.reps; rep++) {
      for (let k = 0; k < SANDBOX_MODES.length; k++) {
        const mode = SANDBOX_MODES[(k + rep) % SANDBOX_MODES.length];
        const p = await pass(shape, o.running[mode], shape.tasks);
        (passes.get(mode) as Pass[]).push(p);
        o.log(
          `[${shape.name}] rep ${rep + 1}/${o.reps} ${mode}: ` +
            `${Math.round(p.tasksPerSecond).toLocaleString('en-US')} tasks/s, main thread ${p.mainNs.toFixed(0)} ns/task`,
        );
      }
    }
    const off = passes.get('off') as Pass[];
    for (const mode of SANDBOX_MODES) {
      const ps = passes.get(mode) as Pass[];
      const metrics: Record<string, Figure> = passFigures(ps);
      if (mode !== 'off') {
        // Paired: how much longer the same pass took than `off` in the same repetition, in %.
        metrics.costPct = figure(
          ps.map((p, i) => (off[i].tasksPerSecond / p.tasksPerSecond - 1) * 100),
          '% slower than off',
          'lower',
        );
      }
      o.record(`${shape.name}-${mode}`, metrics);
    }
  }
}
