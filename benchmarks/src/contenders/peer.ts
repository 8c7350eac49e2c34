/**
 * What piscina and tinypool share (tinypool is a fork of piscina with the same run() API): the task shapes
 * sent to peer-worker.js and the workload loops on top of `run(task, { name })`.
 */
import { performance } from 'node:perf_hooks';
import { PEER_WORKER } from '../paths';
import type { AddTask, ColumnsTask, CommandTask, PeerWorkerData } from '../peer-worker';
import {
  addA,
  addB,
  sleepImmediate,
  sleepMs,
  windowed,
  type ColdStartResult,
  type CommandOutput,
  type PoolShape,
  type ReplaceResult,
  type Running,
  type StartContext,
} from './types';

/** The part of the piscina/tinypool API the benchmarks use. */
export interface PeerPool {
  run(task: unknown, options: { name: string }): Promise<unknown>;
  destroy(): Promise<void>;
}

/** `workers`: the pool's threads; a columns job is split into one chunk per thread. */
export function peerRunning(pool: PeerPool, workers: number): Running {
  return {
    async tinyRun(n, inFlight, out) {
      const opts = { name: 'add' };
      await windowed(
        n,
        inFlight,
        (i) => pool.run({ a: addA(i), b: addB(i) } satisfies AddTask, opts) as Promise<number>,
        (i, v) => {
          out[i] = v;
        },
      );
    },
    async tinyBatch(n, batchSize, inFlight, out) {
      const opts = { name: 'addBatch' };
      const chunks = Math.ceil(n / batchSize);
      await windowed(
        chunks,
        inFlight,
        (c) => {
          const from = c * batchSize;
          const to = Math.min(n, from + batchSize);
          const tasks = new Array<AddTask>(to - from);
          for (let i = from; i < to; i++) tasks[i - from] = { a: addA(i), b: addB(i) };
          return pool.run(tasks, opts) as Promise<number[]>;
        },
        (c, values) => {
          out.set(values, c * batchSize);
        },
      );
    },
    async cpu(n, iterations, inFlight, out) {
      const opts = { name: 'spin' };
      await windowed(
        n,
        inFlight,
        () => pool.run(iterations, opts) as Promise<number>,
        (i, v) => {
          out[i] = v;
        },
      );
    },
    async sha256(inputs, n, inFlight, out) {
      const opts = { name: 'sha256' };
      await windowed(
        n,
        inFlight,
        (i) => pool.run(inputs[i % inputs.length], opts) as Promise<Uint8Array>,
        (i, v) => {
          out[i] = v;
        },
      );
    },
    async sha256Batch(inputs, n, batchSize, inFlight, out) {
      const opts = { name: 'sha256Batch' };
      await windowed(
        Math.ceil(n / batchSize),
        inFlight,
        (c) => {
          const from = c * batchSize;
          const batch = new Array<Uint8Array>(Math.min(n, from + batchSize) - from);
          for (let i = 0; i < batch.length; i++) batch[i] = inputs[(from + i) % inputs.length];
          return pool.run(batch, opts) as Promise<Uint8Array[]>;
        },
        (c, digests) => {
          for (let i = 0; i < digests.length; i++) out[c * batchSize + i] = digests[i];
        },
      );
    },
    async columns(a, b) {
      // No columnar call: the columns are already in SharedArrayBuffers, so each thread gets one run() of
      // its share of the rows and writes the sums into a shared result column.
      const opts = { name: 'addColumns' };
      const n = a.length;
      const out = new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
      const chunks = Math.max(1, Math.min(workers, n));
      const runs: Promise<unknown>[] = [];
      for (let c = 0; c < chunks; c++) {
        const task: ColumnsTask = {
          a,
          b,
          out,
          from: Math.floor((c * n) / chunks),
          to: Math.floor(((c + 1) * n) / chunks),
        };
        runs.push(pool.run(task, opts));
      }
      await Promise.all(runs);
      return out;
    },
    async wasiWc(inputs, n, inFlight, out) {
      const opts = { name: 'wasiCommand' };
      const args = ['wc'];
      await windowed(
        n,
        inFlight,
        (i) =>
          pool.run(
            { stdin: inputs[i % inputs.length], args } satisfies CommandTask,
            opts,
          ) as Promise<CommandOutput>,
        (i, v) => {
          out[i] = v;
        },
      );
    },
    async latency(n, timesUs, out) {
      const opts = { name: 'add' };
      for (let i = 0; i < n; i++) {
        const task: AddTask = { a: addA(i), b: addB(i) };
        const t0 = performance.now();
        const v = (await pool.run(task, opts)) as number;
        timesUs[i] = (performance.now() - t0) * 1000;
        out[i] = v;
      }
    },
    async close() {
      await pool.destroy();
    },
  };
}

/** Create → first `largeAdd` result (the worker script compiles the 1 MiB module when it loads). */
export async function peerColdStart(create: () => PeerPool): Promise<ColdStartResult> {
  const t0 = performance.now();
  const pool = create();
  try {
    const answer = (await pool.run({ a: 1, b: 2 } satisfies AddTask, { name: 'largeAdd' })) as number;
    return { firstResultMs: performance.now() - t0, answer };
  } finally {
    await pool.destroy();
  }
}

/**
 * Kills one worker with a task that calls process.exit, then measures until a thread that did not exist
 * before answers a task: the replacement is running and serving. `workers` tasks are kept in flight so the
 * new thread gets one as soon as it takes work.
 */
export async function peerReplace(create: () => PeerPool, workers: number): Promise<ReplaceResult> {
  const pool = create();
  try {
    const known = new Set<number>();
    const who = { name: 'whoami' };
    for (let round = 0; round < 20 || known.size < workers; round++) {
      const ids = await Promise.all(Array.from({ length: workers * 2 }, () => pool.run(null, who)));
      for (const id of ids) known.add(id as number);
      if (round > 1000) throw new Error(`only ${known.size} of ${workers} workers answered`);
      await sleepImmediate();
    }
    const t0 = performance.now();
    const killed = await pool.run(null, { name: 'exit' }).then(
      () => false,
      () => true,
    );
    if (!killed) throw new Error('the task that calls process.exit() did not fail');
    const deadline = t0 + 10_000;
    for (;;) {
      const ids = await Promise.all(Array.from({ length: workers }, () => pool.run(null, who)));
      if (ids.some((id) => !known.has(id as number))) break;
      if (performance.now() > deadline) throw new Error('no replacement worker answered within 10 s');
      await sleepMs();
    }
    const replaceMs = performance.now() - t0;
    const answer = (await pool.run({ a: 20, b: 22 } satisfies AddTask, { name: 'add' })) as number;
    return { replaceMs, answer };
  } finally {
    await pool.destroy();
  }
}

/**
 * The options piscina and tinypool (the same API) get: a fixed pool (`minThreads = maxThreads`), an explicit
 * `idleTimeout` (piscina's README tip against worker churn), defaults otherwise. `niceIncrement` is piscina's
 * (tinypool has no such option); it is set only when the run asks for it.
 */
export function peerOptions(shape: PoolShape, modules: PeerWorkerData['modules']) {
  return {
    filename: PEER_WORKER,
    minThreads: shape.workers,
    maxThreads: shape.workers,
    idleTimeout: 60_000,
    workerData: { modules } satisfies PeerWorkerData,
    ...(shape.nice > 0 ? { niceIncrement: shape.nice } : {}),
  };
}

/** The modules a workload needs, as the peer worker loads them. */
export function peerModules(ctx: StartContext): PeerWorkerData['modules'] {
  const modules: PeerWorkerData['modules'] = {};
  if (ctx.load.includes('math')) modules.math = ctx.modules.math;
  if (ctx.load.includes('sha256')) modules.sha256 = ctx.modules.sha256;
  if (ctx.load.includes('wasiTool')) modules.wasiTool = ctx.modules.wasiTool;
  return modules;
}
