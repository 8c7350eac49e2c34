// Shared helpers of limits.test.ts and fault-injection.test.ts (hard limits and fault tolerance, issue 3).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorCode, PoolStats, WasmPool, WorkerExitReason } from '@wasmpool/pool';

/** Wall-clock time in ms with sub-ms precision, comparable with the pool's own timestamps. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a promise came to, without throwing. */
export type Outcome<T = unknown> =
  { ok: true; value: T } | { ok: false; code: ErrorCode | string; message: string; taskId?: string };

export function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: { code?: string; message?: string; taskId?: string }) => ({
      ok: false as const,
      code: error?.code ?? 'NOT_A_POOL_ERROR',
      message: String(error?.message),
      taskId: error?.taskId,
    }),
  );
}

/** The pool's own account of a timeout: `the task ran for X ms, past its limit of Y ms`. */
export function reportedRun(message: string): { ranMs: number; limitMs: number } | undefined {
  const match = /ran for ([\d.]+) ms, past its limit of (\d+) ms/.exec(message);
  return match === null ? undefined : { ranMs: Number(match[1]), limitMs: Number(match[2]) };
}

/** Records the pool's worker events (with the time they arrived) from now on. */
export interface EventLog {
  exits: { id: number; reason: WorkerExitReason; at: number }[];
  creates: { id: number; at: number }[];
  errors: Error[];
  exitReasons(): WorkerExitReason[];
  count(reason: WorkerExitReason): number;
}

export function recordEvents(pool: WasmPool): EventLog {
  const log: EventLog = {
    exits: [],
    creates: [],
    errors: [],
    exitReasons: () => log.exits.map((exit) => exit.reason),
    count: (reason) => log.exits.filter((exit) => exit.reason === reason).length,
  };
  pool.on('workerExit', (id, reason) => log.exits.push({ id, reason, at: performance.now() }));
  pool.on('workerCreate', (id) => log.creates.push({ id, at: performance.now() }));
  pool.on('error', (error) => log.errors.push(error));
  return log;
}

/** True when the pool has exactly `count` workers, all idle, and nothing waits or runs. */
export function settledAt(stats: PoolStats, count: number): boolean {
  const { workers } = stats;
  return (
    workers.total === count &&
    workers.idle === count &&
    workers.busy === 0 &&
    workers.starting === 0 &&
    stats.queued === 0 &&
    stats.running === 0
  );
}

/**
 * Host-imports files that break the worker, written to a temporary directory. Call `cleanup()` in
 * afterAll.
 */
export function brokenHostImports(): { exitAtLoad: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmpool-limits-'));
  const exitAtLoad = join(dir, 'exit-at-load.cjs');
  // Ends the worker thread while it loads the module: every worker that has this module dies starting.
  writeFileSync(exitAtLoad, "'use strict';\nprocess.exit(1);\nmodule.exports = () => ({});\n");
  return { exitAtLoad, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Small deterministic PRNG (mulberry32), so that a failing fault-injection run can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
