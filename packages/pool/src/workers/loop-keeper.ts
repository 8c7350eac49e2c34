/**
 * Keeps the main thread's event loop turning while a caller most likely waits for a few quick tasks.
 *
 * A results message wakes an idle event loop through the kernel, which on this project's machine
 * costs more than the task's whole trip to the worker (about 15 µs of a 20 µs round trip). An
 * immediate queued on every turn keeps the loop from blocking, so the message is taken on the next
 * turn; I/O and timers still run on every turn. The keeper stops by itself once `wanted()` says no,
 * or nothing happened (`start()` or `progress()`) for `idleMs`.
 */
export class LoopKeeper {
  private immediate: NodeJS.Immediate | undefined;
  private lastActivity = 0;

  constructor(
    private readonly wanted: () => boolean,
    private readonly idleMs: number,
  ) {}

  /** Starts turning (or keeps turning) from now. */
  start(): void {
    this.lastActivity = performance.now();
    this.immediate ??= setImmediate(this.turn);
  }

  /** Something came back: keep turning for another `idleMs`, if turning. */
  progress(): void {
    if (this.immediate !== undefined) this.lastActivity = performance.now();
  }

  stop(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private readonly turn = (): void => {
    this.immediate = undefined;
    if (this.wanted() && performance.now() - this.lastActivity < this.idleMs) {
      this.immediate = setImmediate(this.turn);
    }
  };
}
