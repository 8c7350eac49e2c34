import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The long runs: one runBatch() of 10,000,000 tasks with default options and a stream() of
 * 100,000,000 tasks, every result checked (by scripts/long-runs.mjs, in a process of its own so
 * that its peak RSS is its own). They take minutes: `npm run test:long` runs them
 * (WASMPOOL_LONG=1); `npm test` runs the same script at sizes that take seconds, so that the script
 * itself is always tested.
 */
const long = process.env.WASMPOOL_LONG === '1';
const script = join(__dirname, '..', '..', '..', 'scripts', 'long-runs.mjs');

interface Run {
  mode: string;
  tasks: number;
  ms: number;
  tasksPerSecond: number;
  wrong: number;
  completed: number;
  maxRssMb: number;
}

function run(...args: string[]): Run {
  const out = execFileSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const run = JSON.parse(out.trim().split('\n').pop()!) as Run;
  console.log(JSON.stringify(run));
  return run;
}

const BATCH = long ? 10_000_000 : 300_000;
const STREAM = long ? 100_000_000 : 1_000_000;

describe(`long runs (${long ? 'full size' : 'small; WASMPOOL_LONG=1 for full size'})`, () => {
  test(
    `runBatch() of ${BATCH.toLocaleString('en')} tasks with default options: every result right`,
    () => {
      const result = run('batch', '--tasks', String(BATCH));
      expect(result).toMatchObject({ wrong: 0, completed: BATCH });
    },
    30 * 60_000,
  );

  test(
    `stream() of ${STREAM.toLocaleString('en')} tasks in flat memory: every result right, in order`,
    () => {
      const small = run('stream', '--tasks', String(STREAM / 10));
      const result = run('stream', '--tasks', String(STREAM));
      expect(result).toMatchObject({ wrong: 0, completed: STREAM });
      // Flat: ten times the tasks, about the same peak memory.
      expect(result.maxRssMb).toBeLessThan(small.maxRssMb * 1.5 + 50);
    },
    60 * 60_000,
  );

  test(
    'an unordered stream: every task once',
    () => {
      const result = run('stream', '--unordered', '--tasks', String(STREAM / 10));
      expect(result).toMatchObject({ wrong: 0, completed: STREAM / 10 });
    },
    30 * 60_000,
  );
});
