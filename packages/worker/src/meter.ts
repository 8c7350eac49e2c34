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

export class TaskMeter {
  /** performance.now() at which the running task times out. */
  private deadline = Infinity;
  private startedAt = 0;
  private timeoutMs = Infinity;
  /** Sequence number of the running task (as the pool counts them), or -1 between tasks. */
  private seq = -1;
  /** Fuel of the running task, Infinity when it is not metered. */
  private fuel = Infinity;
  /** Checkpoints handed out to the running task so far (metered tasks). */
  private given = 0;
  /** Once a task is stopped, every later check throws again: the module cannot catch its way out. */
  private stopped: TaskInterrupt | undefined;
  /** A grow was refused during the running task (OUT_OF_MEMORY if it then fails). */
  growRefused = false;

  constructor(private readonly state: Int32Array) {}

  /**
   * Starts metering a task. Returns the budget its module's global must start with (metered tasks),
   * or -1: leave the global as it is (an unmetered task only needs the check to come now and then).
   */
  begin(seq: number, startedAt: number, timeoutMs: number, fuel: number): number {
    this.seq = seq;
    this.startedAt = startedAt;
    this.timeoutMs = timeoutMs;
    this.deadline = startedAt + timeoutMs;
    this.fuel = fuel;
    this.stopped = undefined;
    this.growRefused = false;
    if (fuel === Infinity) return -1;
    this.given = Math.min(SLICE, fuel);
    return this.given;
  }

  /** Fuel the task used, given what is left in its module's budget global. */
  used(budgetLeft: number): number {
    return this.given - budgetLeft;
  }

  get metered(): boolean {
    return this.fuel !== Infinity;
  }

  end(): void {
    this.seq = -1;
    this.deadline = Infinity;
    this.fuel = Infinity;
    this.stopped = undefined;
  }

  /** The imported `refused`: called by an instrumented module's grow helpers when a grow returns -1. */
  readonly refused = (): void => {
    this.growRefused = true;
  };

  /** The imported check: the next budget (at least 1), or a throw that stops the task. */
  readonly check = (): number => {
    if (this.stopped !== undefined) throw this.stopped;
    if (this.seq >= 0) {
      const now = performance.now();
      if (now >= this.deadline) {
        const ranMs = now - this.startedAt;
        return this.stop(
          'TIMEOUT',
          `the task ran for ${ranMs.toFixed(1)} ms, past its limit of ${this.timeoutMs} ms; it was stopped and its worker kept`,
        );
      }
      if (Atomics.load(this.state, Status.INTERRUPT) === this.seq) {
        return this.stop('ABORTED', 'the task was aborted while it ran; it was stopped and its worker kept');
      }
      if (this.fuel !== Infinity) {
        if (this.given >= this.fuel) {
          return this.stop('FUEL_EXHAUSTED', `the task used all of its fuel (${this.fuel})`);
        }
        const slice = Math.min(SLICE, this.fuel - this.given);
        this.given += slice;
        return slice;
      }
    }
    return UNMETERED_SLICE;
  };

  private stop(code: TaskInterrupt['code'], message: string): never {
    this.stopped = new TaskInterrupt(code, message);
    throw this.stopped;
  }
}
