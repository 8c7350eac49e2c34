/**
 * wasmpool as its SPEC shows it: `WasmPool.create()` with the modules and a fixed number of workers,
 * `run()` per task, `runBatch()` for batches, the bytes calling convention for SHA-256.
 */
import { performance } from 'node:perf_hooks';
import {
  WasmPool,
  WasmPoolError,
  type CommandResult,
  type ModuleSpec,
  type WasmPoolOptions,
  type WasmResult,
  type WasmTask,
} from '@wasmpool/pool';
import { bindPoolMetrics } from '@wasmpool/metrics';
import {
  addA,
  addB,
  sleepMs,
  windowed,
  WASI_PROGRAM,
  type Contender,
  type PoolShape,
  type Running,
  type SandboxMode,
  type StartContext,
} from './types';

/** Fuel per task of the modules the sandbox workload registers with `fuel`: far more than any task uses. */
export const SANDBOX_FUEL = 1e12;

/** How a module is registered in each sandbox mode (see SandboxMode). */
function moduleSpec(source: string, mode: SandboxMode): ModuleSpec {
  if (mode === 'off') return { source, instrument: false };
  if (mode === 'fuel') return { source, fuel: SANDBOX_FUEL };
  return { source };
}

/** Stores a batch's outputs at `out[from…]`; a failed task fails the workload. */
function storeOutputs<T>(results: readonly WasmResult<T>[], out: { [i: number]: T }, from: number): void {
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (!r.success) {
      throw new WasmPoolError(r.error?.code ?? 'TRAP', `task ${from + i}: ${r.error?.message ?? '?'}`);
    }
    out[from + i] = r.output as T;
  }
}

/** `n` tasks through run(), `inFlight` outstanding, each output stored at its task's index. */
function runEach<T>(
  pool: WasmPool,
  n: number,
  inFlight: number,
  taskAt: (i: number) => WasmTask,
  out: { [i: number]: T },
): Promise<void> {
  return windowed(
    n,
    inFlight,
    (i) => pool.run(taskAt(i)) as Promise<T>,
    (i, v) => {
      out[i] = v;
    },
  );
}

/** `n` tasks as runBatch() calls of `batchSize`, `inFlight` outstanding, outputs stored at their index. */
function runInBatches<T>(
  pool: WasmPool,
  n: number,
  batchSize: number,
  inFlight: number,
  taskAt: (i: number) => WasmTask,
  out: { [i: number]: T },
): Promise<void> {
  return windowed(
    Math.ceil(n / batchSize),
    inFlight,
    (c) => {
      const from = c * batchSize;
      const tasks = new Array<WasmTask>(Math.min(n, from + batchSize) - from);
      for (let i = 0; i < tasks.length; i++) tasks[i] = taskAt(from + i);
      return pool.runBatch<T>(tasks);
    },
    (c, results) => storeOutputs(results, out, c * batchSize),
  );
}

function sha256Task(inputs: readonly Uint8Array[], i: number): WasmTask {
  return { module: 'sha256', function: 'sha256', params: [inputs[i % inputs.length]], output: 'bytes' };
}

/** The options every wasmpool in the benchmarks gets (besides modules). */
function baseOptions({ workers, nice }: PoolShape, maxQueued: number): WasmPoolOptions {
  return {
    minWorkers: workers,
    maxWorkers: workers,
    ...(nice > 0 ? { niceIncrement: nice } : {}),
    // One runBatch() of the whole tiny-batch workload (the tiny-batch-whole case) must fit in the queue.
    maxQueue: Math.max(100_000, maxQueued),
  };
}

async function start(ctx: StartContext): Promise<Running> {
  const modules: WasmPoolOptions['modules'] = {};
  const mode = ctx.sandbox ?? 'on';
  if (ctx.load.includes('math')) modules.math = moduleSpec(ctx.modules.math, mode);
  if (ctx.load.includes('sha256')) modules.sha256 = moduleSpec(ctx.modules.sha256, mode);
  if (ctx.load.includes('wasiTool'))
    modules[WASI_PROGRAM] = { ...moduleSpec(ctx.modules.wasiTool, mode), wasi: true };
  const pool = await WasmPool.create({ ...baseOptions(ctx, ctx.maxQueued), modules });
  const addTask = (i: number): WasmTask => ({ module: 'math', function: 'add', params: [addA(i), addB(i)] });
  return {
    async tinyRun(n, inFlight, out) {
      await runEach(pool, n, inFlight, addTask, out);
    },
    async tinyBatch(n, batchSize, inFlight, out) {
      await runInBatches(pool, n, batchSize, inFlight, addTask, out);
    },
    async cpu(n, iterations, inFlight, out) {
      const task: WasmTask = { module: 'math', function: 'spin', params: [iterations] };
      await runEach(pool, n, inFlight, () => task, out);
    },
    async sha256(inputs, n, inFlight, out) {
      await runEach(pool, n, inFlight, (i) => sha256Task(inputs, i), out);
    },
    async sha256Batch(inputs, n, batchSize, inFlight, out) {
      await runInBatches(pool, n, batchSize, inFlight, (i) => sha256Task(inputs, i), out);
    },
    async columns(a, b) {
      const { values, failures } = await pool.runColumns<Int32Array>({
        module: 'math',
        function: 'add',
        params: [a, b],
      });
      const f = failures[0];
      if (f !== undefined) throw new WasmPoolError(f.code, `row ${f.index}: ${f.message}`);
      return values;
    },
    async wasiWc(inputs, n, inFlight, out) {
      const args = ['wc'];
      await runEach<CommandResult>(
        pool,
        n,
        inFlight,
        (i) => ({ module: WASI_PROGRAM, function: '_start', stdin: inputs[i % inputs.length], args }),
        out,
      );
    },
    bindMetrics() {
      const metrics = bindPoolMetrics(pool);
      return () => metrics.close();
    },
    async latency(n, timesUs, out) {
      for (let i = 0; i < n; i++) {
        const task = addTask(i);
        const t0 = performance.now();
        const v = (await pool.run(task)) as number;
        timesUs[i] = (performance.now() - t0) * 1000;
        out[i] = v;
      }
    },
    async close() {
      await pool.close();
    },
  };
}

export const wasmpool: Contender = {
  name: 'wasmpool',
  describe: (shape) => ({
    ...baseOptions(shape, 0),
    maxQueue: 'max(100000, tiny-batch tasks)',
    modules: `ModuleSpec defaults; ${WASI_PROGRAM} with wasi: true; the sandbox workload also instrument: false, and fuel: ${SANDBOX_FUEL}`,
  }),
  start,
  async coldStart(ctx) {
    const t0 = performance.now();
    const pool = await WasmPool.create({
      ...baseOptions(ctx, 0),
      modules: { large: { source: ctx.modules.large } },
    });
    try {
      const readyMs = performance.now() - t0;
      const answer = (await pool.run({ module: 'large', function: 'add', params: [1, 2] })) as number;
      return { firstResultMs: performance.now() - t0, readyMs, answer };
    } finally {
      await pool.destroy();
    }
  },
  async replaceKilledWorker(ctx) {
    const pool = await WasmPool.create({
      ...baseOptions(ctx, 0),
      modules: {
        math: { source: ctx.modules.math },
        host: { source: ctx.modules.host, hostImports: ctx.modules.hostImports },
      },
    });
    try {
      await Promise.all(
        Array.from({ length: ctx.workers * 4 }, () =>
          pool.run({ module: 'math', function: 'add', params: [1, 1] }),
        ),
      );
      const restartsBefore = pool.stats().workerRestarts;
      const t0 = performance.now();
      const error = await pool.run({ module: 'host', function: 'exit' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!WasmPoolError.is(error, 'WORKER_CRASHED')) {
        throw new Error(`the task that calls process.exit() gave ${String(error)}, expected WORKER_CRASHED`);
      }
      // Back at full strength: as many workers as before, none starting, the restart counted.
      const deadline = t0 + 10_000;
      for (;;) {
        const s = pool.stats();
        if (s.workerRestarts > restartsBefore && s.workers.total === ctx.workers && s.workers.starting === 0)
          break;
        if (performance.now() > deadline)
          throw new Error(`no replacement worker within 10 s: ${JSON.stringify(s)}`);
        await sleepMs();
      }
      const replaceMs = performance.now() - t0;
      const answer = (await pool.run({ module: 'math', function: 'add', params: [20, 22] })) as number;
      return { replaceMs, answer };
    } finally {
      await pool.destroy();
    }
  },
};
