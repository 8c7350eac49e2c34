// Issue 12, point 6: a running task that reaches its deadline or is aborted is stopped inside its
// worker (instrumented checkpoints), and the worker carries on with its next task. Ending the worker
// remains the fallback for a task that does not stop (stuck inside a host import).
import { join } from 'node:path';
import { WasmPool, type WasmTask } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';
import { median, nowMs, outcomeOf, recordEvents, reportedRun, sleep } from './helpers/limits-fixtures';

const track = trackPools();
const sandbox = {
  source: fixture('sandbox'),
  hostImports: join(__dirname, 'fixtures', 'sandbox-imports.mjs'),
};
const spin: WasmTask = { module: 'sandbox', function: 'spin' };
const whoami: WasmTask = { module: 'sandbox', function: 'whoami' };
const count = (n: number): WasmTask => ({ module: 'sandbox', function: 'count', params: [n] });

async function onePool(): Promise<WasmPool> {
  return track(
    await WasmPool.create({ modules: { sandbox }, minWorkers: 1, maxWorkers: 1, taskTimeoutMs: 60_000 }),
  );
}

test('deadline -> TIMEOUT: median <= 1 ms, worst <= 5 ms over 100 runs; no worker ends', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const thread = await pool.run(whoami);
  const timeoutMs = 5;
  // Deadline to rejection, as the caller sees it: the task cannot start before it is submitted, so
  // (rejection - submission - timeout) bounds it from above.
  const late: number[] = [];
  const overruns: number[] = [];
  for (let run = 0; run < 100; run++) {
    const submitted = nowMs();
    const error = await rejectionOf(pool.run(spin, { timeoutMs }));
    late.push(nowMs() - submitted - timeoutMs);
    expect(error.code).toBe('TIMEOUT');
    overruns.push((reportedRun(error.message)?.ranMs ?? Infinity) - timeoutMs);
  }
  late.sort((a, b) => a - b);
  // Printed for the record (the issue asks for the figures).
  process.stdout.write(
    `deadline -> TIMEOUT over 100 runs: median ${median(late).toFixed(3)} ms, p99 ${late[98]!.toFixed(3)} ms, ` +
      `worst ${late[99]!.toFixed(3)} ms (worker's own overrun: median ${median(overruns).toFixed(3)} ms)\n`,
  );
  expect(Math.min(...overruns)).toBeGreaterThanOrEqual(0);
  // The figures (median 1 ms, worst 5 ms) hold on a quiet machine; a machine shared by
  // several test runs deschedules the worker thread for whole time slices, so by default the
  // bounds carry slack. WASMPOOL_STRICT_TIMING=1 asserts the figures.
  const strict = process.env.WASMPOOL_STRICT_TIMING === '1';
  // Without it, the bounds stay below the 100 ms grace after which a worker would be ended instead.
  expect(median(late)).toBeLessThanOrEqual(strict ? 1 : 20);
  expect(late[99]).toBeLessThanOrEqual(strict ? 5 : 90);
  expect(events.exits).toEqual([]);
  expect(events.creates).toEqual([]);
  await expect(pool.run(whoami)).resolves.toBe(thread);
});

test('the tasks queued behind a timed-out task run on the same worker, right after it', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const thread = await pool.run(whoami);
  // One worker: the whole batch goes to it, in one message, the loop in the middle.
  const tasks = [whoami, count(5), spin, whoami, count(7), whoami];
  const results = await pool.runBatch(tasks, { timeoutMs: 50 });
  expect(results.map((r) => r.error?.code ?? r.output)).toEqual([thread, 5, 'TIMEOUT', thread, 7, thread]);
  expect(events.exits).toEqual([]);
  expect(events.creates).toEqual([]);
  expect(pool.stats().workerRestarts).toBe(0);
});

test('adversarial: catch_all around the loop, or endless tail recursion, still stops at the deadline', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const thread = await pool.run(whoami);
  for (const task of [
    { module: 'sandbox', function: 'stubborn' },
    { module: 'sandbox', function: 'recurse', params: [0] },
  ]) {
    const error = await rejectionOf(pool.run(task, { timeoutMs: 30 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/its worker kept/);
  }
  await expect(pool.run(whoami)).resolves.toBe(thread);
  expect(events.exits).toEqual([]);
});

test('abort: the running task stops with ABORTED and the worker runs the next one', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const thread = await pool.run(whoami);
  for (let round = 0; round < 5; round++) {
    const controller = new AbortController();
    const running = outcomeOf(pool.run(spin, { signal: controller.signal }));
    const next = pool.run(whoami);
    await sleep(5);
    controller.abort('enough');
    await expect(running).resolves.toMatchObject({ ok: false, code: 'ABORTED' });
    await expect(next).resolves.toBe(thread);
  }
  expect(events.exits).toEqual([]);
});

test('a task stuck inside a host import: its worker is ended after the grace period', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const thread = await pool.run(whoami);
  const started = performance.now();
  const error = await rejectionOf(
    pool.run({ module: 'sandbox', function: 'stuck', params: [5000] }, { timeoutMs: 50 }),
  );
  expect(error.code).toBe('TIMEOUT');
  expect(error.message).toMatch(/did not stop; its worker was replaced/);
  expect(performance.now() - started).toBeLessThan(4000);
  expect(events.exitReasons()).toEqual(['timeout']);
  // The replacement serves the next task.
  const next = await pool.run(whoami);
  expect(next).not.toBe(thread);
});

test('an abort of a task stuck inside a host import ends its worker after the grace period', async () => {
  const pool = await onePool();
  const events = recordEvents(pool);
  const controller = new AbortController();
  const stuck = outcomeOf(
    pool.run({ module: 'sandbox', function: 'stuck', params: [5000] }, { signal: controller.signal }),
  );
  await sleep(20);
  controller.abort('enough');
  await expect(stuck).resolves.toMatchObject({ ok: false, code: 'ABORTED' });
  const deadline = performance.now() + 4000;
  while (events.exits.length === 0 && performance.now() < deadline) await sleep(10);
  expect(events.exitReasons()).toEqual(['aborted']);
  await expect(pool.run(count(3))).resolves.toBe(3);
});
