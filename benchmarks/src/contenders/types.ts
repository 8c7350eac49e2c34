import type { ContenderName, ModulePaths } from '../options';
import type { CommandOutput } from '../wasi-command';

export type { CommandOutput } from '../wasi-command';

/** Which of the benchmark modules a running contender must have loaded. */
export type ModuleKey = 'math' | 'sha256' | 'wasiTool';

/**
 * How wasmpool registers the modules (the sandbox workload; other contenders have no such option):
 * `on` the default (`instrument` unset: checkpoints for timeouts and aborts, grow helpers), `off` with
 * `instrument: false` (the module as it is), `fuel` with `fuel` set (exact metering compiled in).
 */
export type SandboxMode = 'on' | 'off' | 'fuel';

/** How every pool of a run is set up. */
export interface PoolShape {
  /** Worker threads (min = max). */
  workers: number;
  /** Added to the worker threads' nice value (`niceIncrement`); 0 leaves them at the process's priority. */
  nice: number;
}

export interface StartContext extends PoolShape {
  modules: ModulePaths;
  load: ModuleKey[];
  /** The largest number of tasks the harness may have queued at once (wasmpool's maxQueue). */
  maxQueued: number;
  /** wasmpool only: how its modules are registered (default `on`, ModuleSpec's defaults). */
  sandbox?: SandboxMode;
}

/** A contender with its pool running. Each method fills `out` with one answer per task; the harness checks them. */
export interface Running {
  /** `add(addA(i), addB(i))` for i < n, one API call per task, `inFlight` tasks outstanding. */
  tinyRun(n: number, inFlight: number, out: Int32Array): Promise<void>;
  /**
   * The same tasks submitted as arrays of `batchSize` tasks, `inFlight` arrays outstanding (wasmpool: one
   * `runBatch()` per array). `batchSize` n and `inFlight` 1 make it one call for the whole workload.
   */
  tinyBatch(n: number, batchSize: number, inFlight: number, out: Int32Array): Promise<void>;
  /** `spin(iterations)` n times. */
  cpu(n: number, iterations: number, inFlight: number, out: Int32Array): Promise<void>;
  /** SHA-256 of `inputs[i % inputs.length]` for i < n; digests go to `out[i]`. */
  sha256(inputs: Uint8Array[], n: number, inFlight: number, out: Uint8Array[]): Promise<void>;
  /** The same hashes submitted as arrays of `batchSize` tasks, `inFlight` arrays outstanding. */
  sha256Batch(
    inputs: Uint8Array[],
    n: number,
    batchSize: number,
    inFlight: number,
    out: Uint8Array[],
  ): Promise<void>;
  /**
   * `add(a[i], b[i])` for every row of two columns of one length, the sums in a new Int32Array (wasmpool:
   * one `runColumns()`). The columns live in SharedArrayBuffers, so that a worker can read them in place.
   */
  columns(a: Int32Array, b: Int32Array): Promise<Int32Array>;
  /**
   * n WASI commands `wasi-tool wc`, each on a fresh instance, with stdin `inputs[i % inputs.length]`,
   * `inFlight` outstanding; what each gives back goes to `out[i]`.
   */
  wasiWc(inputs: Uint8Array[], n: number, inFlight: number, out: CommandOutput[]): Promise<void>;
  /** wasmpool only: binds @wasmpool/metrics to the pool; the returned function unbinds them. */
  bindMetrics?(): () => void;
  /** n sequential `add` tasks; round trip of each in µs to `timesUs[i]`. */
  latency(n: number, timesUs: Float64Array, out: Int32Array): Promise<void>;
  close(): Promise<void>;
}

export interface ColdStartContext extends PoolShape {
  modules: ModulePaths;
}

export interface ColdStartResult {
  /** From creating the pool (1 MiB module, `workers` threads) to the first result. */
  firstResultMs: number;
  /** The first result (`add(1, 2)` of large.wasm), checked by the harness. */
  answer: number;
  /** wasmpool only: until create() resolved, i.e. every worker ready with the module instantiated. */
  readyMs?: number;
}

export interface ReplaceResult {
  /** From submitting a task that kills its worker to the pool running at full strength again. */
  replaceMs: number;
  /** A task run after the replacement (`add(20, 22)`), checked by the harness. */
  answer: number;
}

export interface Contender {
  name: ContenderName;
  /** How the contender is configured, for the JSON report. */
  describe(shape: PoolShape): Record<string, unknown>;
  start(ctx: StartContext): Promise<Running>;
  coldStart(ctx: ColdStartContext): Promise<ColdStartResult>;
  /** Absent where the contender has no worker to kill (single). */
  replaceKilledWorker?(ctx: ColdStartContext): Promise<ReplaceResult>;
}

/** The WASI command's argv[0]: the name wasmpool registers it under, and what the others give it. */
export const WASI_PROGRAM = 'wasi-tool';

/** The inputs of the tiny `add` tasks, the same for every contender. */
export function addA(i: number): number {
  return i | 0;
}
export function addB(i: number): number {
  return Math.imul(i, 0x9e3779b1) >> 1;
}

/**
 * Runs n asynchronous tasks with at most `inFlight` outstanding: each settled task starts the next one.
 * Rejects with the first error, from a task or from `store`.
 */
export function windowed<T>(
  n: number,
  inFlight: number,
  start: (i: number) => Promise<T>,
  store: (i: number, value: T) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (n <= 0) {
      resolve();
      return;
    }
    let next = 0;
    let settled = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const launch = (): void => {
      const i = next++;
      start(i).then((value) => {
        if (failed) return;
        try {
          store(i, value);
        } catch (error) {
          fail(error);
          return;
        }
        settled++;
        if (next < n) launch();
        else if (settled === n) resolve();
      }, fail);
    };
    const initial = Math.min(Math.max(1, inFlight), n);
    for (let k = 0; k < initial; k++) launch();
  });
}

export function sleepImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits about a millisecond: polls that do not keep a core busy while a replacement worker starts. */
export function sleepMs(ms = 1): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
