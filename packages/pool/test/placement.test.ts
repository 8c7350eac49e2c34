/**
 * Which worker gets which tasks. counter.wasm keeps a counter in each instance, so the values a batch
 * returns show which worker ran each task: one worker's tasks return consecutive values, in order.
 */
import { WasmPool, type WasmResult } from '@wasmpool/pool';
import { fixture, trackPools } from './helpers';

const track = trackPools();

async function counterPool(): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      maxQueue: 1_000_000,
      modules: { counter: { source: fixture('counter') } },
    }),
  );
}

const next = { module: 'counter', function: 'next' };
const spin = (n: number) => ({ module: 'counter', function: 'spin_next', params: [n] });

/** The counter values of a batch's results (each checked to be a success). */
function values(results: WasmResult<number>[]): number[] {
  return results.map((r, i) => {
    if (!r.success) throw new Error(`task ${i}: ${JSON.stringify(r)}`);
    return r.output as number;
  });
}

/** How many times the sequence is not one worker's consecutive counts: 0 means one worker ran them all. */
function workerSwitches(counts: number[]): number {
  let switches = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i] !== counts[i - 1]! + 1) switches++;
  return switches;
}

/** Runs `task` enough times for the pool to know how long it takes. */
async function warmUp(pool: WasmPool, task: object, count: number): Promise<void> {
  // Enough rounds for the learnt mean (an average over results messages) to settle on a loaded machine.
  for (let round = 0; round < 10; round++) {
    values(await pool.runBatch<number>(Array.from({ length: count }, () => task as typeof next)));
  }
}

/**
 * The fewest worker switches of up to `attempts` runs of `shape` (stopping at 0). On a loaded machine
 * (CI runs test files side by side) a preempted task can make the learnt run time of a sub-µs task look
 * longer than a µs for a few messages, and the pool then spreads them as it should: the packing shows
 * once the learnt time has settled again.
 */
async function fewestSwitches(attempts: number, shape: () => Promise<number[]>): Promise<number> {
  let fewest = Infinity;
  for (let attempt = 0; attempt < attempts && fewest > 0; attempt++) {
    fewest = Math.min(fewest, workerSwitches(await shape()));
  }
  return fewest;
}

describe('placement of tasks on workers', () => {
  test('tasks of a microsecond or less go to one worker while it keeps up', async () => {
    const pool = await counterPool();
    const batch = async (): Promise<number[]> => {
      await warmUp(pool, next, 2_000);
      return values(await pool.runBatch<number>(Array.from({ length: 3_000 }, () => next)));
    };
    expect(await fewestSwitches(3, batch)).toBe(0);
    // run() calls of one tick too.
    const calls = async (): Promise<number[]> => {
      await warmUp(pool, next, 2_000);
      return Promise.all(Array.from({ length: 500 }, () => pool.run<number>(next)));
    };
    expect(await fewestSwitches(3, calls)).toBe(0);
  });

  test('a deep queue of such tasks still uses every worker', async () => {
    const pool = await counterPool();
    await warmUp(pool, next, 2_000);
    // More than one worker's two messages can hold: the second worker takes the rest.
    const batch = values(await pool.runBatch<number>(Array.from({ length: 100_000 }, () => next)));
    expect(workerSwitches(batch)).toBeGreaterThan(0);
  });

  test('longer tasks are spread over the workers', async () => {
    const pool = await counterPool();
    await warmUp(pool, spin(200_000), 4);
    const batch = values(await pool.runBatch<number>(Array.from({ length: 8 }, () => spin(200_000))));
    expect(workerSwitches(batch)).toBeGreaterThan(0);
  });
});
