/** Names, sizes and options of a benchmark run. */

export const WORKLOADS = [
  'tiny-run',
  'tiny-batch',
  'cpu',
  'bytes',
  'latency',
  'cold-start',
  'metrics',
  'columns',
  'wasi',
  'sandbox',
] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const CONTENDERS = ['wasmpool', 'piscina', 'tinypool', 'single'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** How much work each workload does. Every contender gets the same sizes. */
export interface Sizes {
  /** tiny-run: calls of `add`, one API call per task. */
  tinyRunTasks: number;
  /** tiny-run: tasks kept in flight (a new one is submitted as each settles). */
  tinyRunInFlight: number;
  /** tiny-batch: calls of `add` submitted as batches. */
  tinyBatchTasks: number;
  /** tiny-batch: tasks per array for piscina and tinypool (wasmpool gets the whole batch in one runBatch). */
  batchSize: number;
  /** tiny-batch: arrays kept in flight for piscina and tinypool. */
  batchInFlight: number;
  /** cpu: tasks of `spin`. */
  cpuTasks: number;
  /** cpu: target duration of one task on the main thread, ms (the spin count is calibrated once). */
  cpuTaskMs: number;
  /** cpu: tasks kept in flight. */
  cpuInFlight: number;
  /** bytes: input sizes in bytes and how many inputs of each size are hashed per repetition. */
  bytes: { size: number; tasks: number }[];
  /** bytes: tasks kept in flight. */
  bytesInFlight: number;
  /**
   * bytes, batched: `tasks` inputs of `size` bytes as arrays of `batchSize` (wasmpool: one `runBatch()`
   * each; piscina and tinypool: one `run()` each, their worker loops), `inFlight` arrays outstanding.
   */
  bytesBatch: { size: number; tasks: number; batchSize: number; inFlight: number };
  /** metrics (wasmpool only): `add` tasks per pass, with @wasmpool/metrics bound and unbound. */
  metricsTasks: number;
  /** columns: rows of one `runColumns()` call of `add` (one Int32Array per param). */
  columnsRows: number;
  /** wasi: WASI commands (`wasi-tool wc`, a fresh instance each) of `stdinBytes` of text, `inFlight` outstanding. */
  wasi: { tasks: number; stdinBytes: number; inFlight: number };
  /**
   * sandbox (wasmpool only): `spin` tasks (cpuInFlight outstanding) and 4 KiB SHA-256 tasks (as bytesBatch's
   * arrays) per pass, on pools whose modules are instrumented (the default), not (`instrument: false`) and
   * metered (`fuel`).
   */
  sandbox: { cpuTasks: number; bytesTasks: number };
  /** latency: sequential single tasks on an idle pool. */
  latencyTasks: number;
  /** Warm-up before the measured repetitions, as a fraction of each workload's task count. */
  warmupFraction: number;
}

export const FULL_SIZES: Sizes = {
  tinyRunTasks: 1_000_000,
  tinyRunInFlight: 1024,
  tinyBatchTasks: 1_000_000,
  batchSize: 1024,
  batchInFlight: 16,
  cpuTasks: 2000,
  cpuTaskMs: 0.5,
  cpuInFlight: 64,
  bytes: [
    { size: 4 * 1024, tasks: 4096 },
    { size: 64 * 1024, tasks: 1024 },
    { size: 1024 * 1024, tasks: 64 },
  ],
  bytesInFlight: 16,
  bytesBatch: { size: 4 * 1024, tasks: 4096, batchSize: 1024, inFlight: 2 },
  metricsTasks: 500_000,
  columnsRows: 1_000_000,
  wasi: { tasks: 2000, stdinBytes: 4096, inFlight: 16 },
  sandbox: { cpuTasks: 1000, bytesTasks: 4096 },
  latencyTasks: 20_000,
  warmupFraction: 0.1,
};

export const QUICK_SIZES: Sizes = {
  tinyRunTasks: 100_000,
  tinyRunInFlight: 1024,
  tinyBatchTasks: 500_000,
  batchSize: 1024,
  batchInFlight: 16,
  cpuTasks: 400,
  cpuTaskMs: 0.5,
  cpuInFlight: 64,
  bytes: [
    { size: 4 * 1024, tasks: 1024 },
    { size: 64 * 1024, tasks: 256 },
    { size: 1024 * 1024, tasks: 32 },
  ],
  bytesInFlight: 16,
  bytesBatch: { size: 4 * 1024, tasks: 1024, batchSize: 1024, inFlight: 1 },
  metricsTasks: 100_000,
  columnsRows: 250_000,
  wasi: { tasks: 500, stdinBytes: 4096, inFlight: 16 },
  sandbox: { cpuTasks: 200, bytesTasks: 1024 },
  latencyTasks: 10_000,
  warmupFraction: 0.2,
};

/** The smallest sizes: they check the wiring of every workload and contender (tests), not the speed. */
export const TINY_SIZES: Sizes = {
  tinyRunTasks: 300,
  tinyRunInFlight: 32,
  tinyBatchTasks: 2500,
  batchSize: 1024,
  batchInFlight: 2,
  cpuTasks: 6,
  cpuTaskMs: 0.05,
  cpuInFlight: 4,
  bytes: [
    { size: 4 * 1024, tasks: 4 },
    { size: 64 * 1024, tasks: 3 },
    { size: 1024 * 1024, tasks: 2 },
  ],
  bytesInFlight: 2,
  bytesBatch: { size: 4 * 1024, tasks: 5, batchSize: 2, inFlight: 2 },
  metricsTasks: 300,
  columnsRows: 1000,
  wasi: { tasks: 6, stdinBytes: 300, inFlight: 2 },
  sandbox: { cpuTasks: 6, bytesTasks: 5 },
  latencyTasks: 40,
  warmupFraction: 0.1,
};

/** Where the WebAssembly modules are read from (absolute paths). */
export interface ModulePaths {
  math: string;
  sha256: string;
  large: string;
  host: string;
  hostImports: string;
  /** examples/modules/native/wasm/wasi-tool.wasm: a WASI command (C, wasi-libc). */
  wasiTool: string;
}

/** A deliberately wrong expectation, to prove that the correctness check fails the run. */
export interface Tamper {
  workload: WorkloadName;
  contender?: ContenderName;
}

export interface BenchOptions {
  quick: boolean;
  /** Worker threads of each pool (min = max). */
  workers: number;
  /** niceIncrement of wasmpool's and piscina's workers (tinypool has none); 0 = not set. */
  nice: number;
  workloads: WorkloadName[];
  contenders: ContenderName[];
  /** Measured repetitions per workload and contender (cold-start: pools created per contender). */
  reps: number;
  sizes: Sizes;
  /** Run a warm-up pass before the measured repetitions. */
  warmup: boolean;
  modules: ModulePaths;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
  tamper?: Tamper;
}

export const DEFAULT_REPS = { full: 5, quick: 3 } as const;
