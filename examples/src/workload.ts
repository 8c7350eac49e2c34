import { createHash, randomBytes } from 'node:crypto';
import type { WasmTask } from '@wasmpool/pool';
import { realModuleTask } from './real-modules-mix';

/** A task with the check of its answer. */
export interface CheckedTask {
  task: WasmTask;
  check(output: unknown): boolean;
}

const TEXT = 'the quick brown fox\njumps over the lazy dog\n';

function fib(n: number): bigint {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * Task `i` of the mixed workload: integer math, Fibonacci, SHA-256 of 1 KiB inputs, text statistics
 * as JSON, and real modules (a WASI command, xxhash-wasm's binary). Made one at a time, as the stream pulls them, so no task list is ever built.
 */
export function checkedTask(i: number): CheckedTask {
  // 2 in 100: a WASI command and a third-party binary as shipped (real-modules-mix.ts).
  const real = realModuleTask(i);
  if (real !== undefined) return real;
  switch (i % 10) {
    case 0: {
      const data = randomBytes(1024);
      const digest = createHash('sha256').update(data).digest('hex');
      return {
        task: { module: 'sha256', function: 'sha256', params: [data], output: 'bytes' },
        check: (out) => Buffer.from(out as Uint8Array).toString('hex') === digest,
      };
    }
    case 1:
      return {
        task: { module: 'text', function: 'wordstats', params: [TEXT], output: 'json' },
        check: (out) => {
          const stats = out as { bytes: number; words: number; lines: number };
          return stats.bytes === TEXT.length && stats.words === 9 && stats.lines === 2;
        },
      };
    case 2: {
      const n = i % 50;
      const expected = Number(fib(n));
      return {
        task: { module: 'math', function: 'fib', params: [n], output: 'number' },
        check: (out) => out === expected,
      };
    }
    default: {
      const a = i % 1_000_000;
      const b = 7 * (i % 1000);
      return {
        task: { module: 'math', function: 'add', params: [a, b] },
        check: (out) => out === a + b,
      };
    }
  }
}
