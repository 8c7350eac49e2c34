/**
 * The host side of instrumented modules (see the pool's `modules/instrument`): the `check` function
 * their checkpoints call when their budget of work runs out. It hands out the next slice of work, or
 * stops the running task by throwing a {@link TaskInterrupt}: its deadline has passed, the pool has
 * asked to stop it (the status block's INTERRUPT word holds its sequence number), or its fuel is
 * spent. One meter serves every module of a worker: one task runs at a time.
 */
import { Status } from './protocol';

/** Names of the imports and the export instrumented modules have (shared with the pool's instrumenter). */
export const Instrumentation = {
  checkModule: '__wasmpool',
  /** `() -> i32`: see {@link TaskMeter.check}. */
  checkName: 'check',
  /** `() -> ()`: a memory.grow or table.grow returned -1 (see {@link TaskMeter.refused}). */
  refusedName: 'refused',
  /** Mutable i32 global: units of work left before the next call to check. */
  budgetExport: '__wasmpool_budget',
  /**
   * Exported by a metered module whose state between tasks is its memory and its own mutable
   * globals, each exported as `globalExportPrefix` + its index: the worker can put a fresh
   * instance's state back instead of making a new instance (module-runtime.ts).
   */
  restorableExport: '__wasmpool_restorable',
  globalExportPrefix: '__wasmpool_global_',
} as const;

/**
 * Units of work between two looks at the clock and the status block, for a metered task. A unit is
 * a loop iteration or an entry into a function that calls others: a few ns at least, so a running
 * task notices its deadline within tens of µs, while the host call (~0.1 µs) costs under 0.1 %.
 */
export const SLICE = 10_000;
/**
 * The same for a task that is not metered: its module claims loop iterations 100 at a time (see the
 * pool's instrument/code.ts), so a function whose loops run a few times claims far more than it uses
 * and a larger slice keeps the host calls rare. 100,000 units are still well under a millisecond of
 * the tightest loop.
 */
export const UNMETERED_SLICE = 100_000;

/** Why a running task was stopped from inside; thrown through the wasm frames to the executor. */
export class TaskInterrupt extends Error {
  override readonly name = 'TaskInterrupt';
  constructor(
    readonly code: 'TIMEOUT' | 'ABORTED' | 'FUEL_EXHAUSTED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads what it needs of the running task from the status block the executor keeps anyway (its
 * sequence number and start time) and from the run slot's `limits` (timeout, fuel): an unmetered
 * task costs the executor one field write (`index`), so tiny tasks stay as fast as before.
 */
export class TaskMeter {
  /** The `limits` array of the message being run, and the running task's index in it. */
  limits: Float64Array | undefined;
  index = -1;
  /** Fuel of the running task, Infinity when it is not metered. */
  private fuel = Infinity;
  /** Units handed out to the running metered task so far. */
  private given = 0;
  /** Once a task is stopped, every later check of it throws again: catch_all cannot keep it. */
  private stopped: TaskInterrupt | undefined;
  private stoppedSeq = -1;
  /** Sequence number of the last task during which a grow was refused. */
  private refusedSeq = -1;
  private readonly startedAt: Float64Array;

  constructor(private readonly state: Int32Array) {
    this.startedAt = new Float64Array(state.buffer, 0, 2);
  }

  /** The running task's sequence number, or -1 between tasks (e.g. while a module is instantiated). */
  private runningSeq(): number {
    const state = this.state[Status.STATE] as number;
    return (state & 1) === 0 ? -1 : state >>> 1;
  }

  /** Starts metering the running task; returns the budget its module's global must start with. */
  beginMetered(fuel: number): number {
    this.fuel = fuel;
    this.given = Math.min(SLICE, fuel);
    return this.given;
  }

  get metered(): boolean {
    return this.fuel !== Infinity;
  }

  /** Fuel the metered task used, given what is left in its module's budget global; ends metering. */
  endMetered(budgetLeft: number): number {
    this.fuel = Infinity;
    return this.given - budgetLeft;
  }

  /** Whether a grow was refused during the running task. */
  get growRefused(): boolean {
    return this.refusedSeq >= 0 && this.refusedSeq === this.runningSeq();
  }

  /** The imported `refused`: called by an instrumented module's grow helpers when a grow returns -1. */
  readonly refused = (): void => {
    this.refusedSeq = this.runningSeq();
  };

  /** The imported check: the next budget (at least 1), or a throw that stops the task. */
  readonly check = (): number => {
    const seq = this.runningSeq();
    if (seq < 0 || this.index < 0) return UNMETERED_SLICE;
    if (this.stoppedSeq === seq) throw this.stopped!;
    const timeoutMs = this.limits?.[2 * this.index] ?? Infinity;
    const ranMs = performance.timeOrigin + performance.now() - (this.startedAt[Status.STARTED_AT] as number);
    if (ranMs >= timeoutMs) {
      return this.stop(
        seq,
        'TIMEOUT',
        `the task ran for ${ranMs.toFixed(1)} ms, past its limit of ${timeoutMs} ms; it was stopped and its worker kept`,
      );
    }
    if (Atomics.load(this.state, Status.INTERRUPT) === seq) {
      return this.stop(
        seq,
        'ABORTED',
        'the task was aborted while it ran; it was stopped and its worker kept',
      );
    }
    if (this.fuel === Infinity) return UNMETERED_SLICE;
    if (this.given >= this.fuel) {
      return this.stop(seq, 'FUEL_EXHAUSTED', `the task used all of its fuel (${this.fuel})`);
    }
    const slice = Math.min(SLICE, this.fuel - this.given);
    this.given += slice;
    return slice;
  };

  private stop(seq: number, code: TaskInterrupt['code'], message: string): never {
    this.stoppedSeq = seq;
    this.stopped = new TaskInterrupt(code, message);
    throw this.stopped;
  }
}
