// Issue 3, "how it is checked": at least 20,000 tasks mixing successes, traps, stack overflows,
// memory exhaustion, endless loops with short timeouts, aborts and killed workers, with maxWorkers 2
// and 4. Every task must settle exactly once, with the outcome of the fault injected into it.
//
// Faults are designed so that each task has exactly one possible outcome:
//  - loops stopped by a timeout have no signal; loops that are aborted have a timeout (1 s) far
//    beyond the moment of their abort (at most 30 ms after submission), so aborts never race with
//    completion;
//  - a killed worker (host `exit()`) fails only the task that killed it; the tasks it held but had
//    not reported run again elsewhere, and they are deterministic.
// FAULT_SEED=<n> replays a run's choices (timing still varies); FAULT_VERBOSE=1 prints a summary.
import { WasmPool, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { fixture, hostImportsPath, waitFor } from './helpers';
import { outcomeOf, prng, recordEvents, settledAt, sleep, type Outcome } from './helpers/limits-fixtures';

const ROUNDS = 25;
const MIXED_BATCH = 780;
const SHORT_TIMEOUT_MS = 25;
const ABORTABLE_TIMEOUT_MS = 1000;
const MAX_ABORT_DELAY_MS = 30;
const MIN_WORKERS = 2;

type Expected =
  'success' | 'TRAP' | 'STACK_OVERFLOW' | 'OUT_OF_MEMORY' | 'TIMEOUT' | 'ABORTED' | 'WORKER_CRASHED';

interface Planned {
  task: WasmTask & { id: string };
  expected: Expected;
  output?: number;
}

class Ledger {
  readonly planned = new Map<string, Planned>();
  /** Settlements seen by the caller (promise settled, or a batch result entry), per task id. */
  readonly settled = new Map<string, number>();
  /** taskComplete events, per task id. */
  readonly completions = new Map<string, number>();
  readonly observed: Record<string, number> = {};
  readonly wrong: string[] = [];
  private next = 0;

  plan(
    kind: string,
    expected: Expected,
    task: Omit<WasmTask, 'id'>,
    output?: number,
  ): WasmTask & { id: string } {
    const id = `${kind}-${this.next++}`;
    const planned: Planned = { task: { ...task, id }, expected, ...(output === undefined ? {} : { output }) };
    this.planned.set(id, planned);
    return planned.task;
  }

  expectedCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { expected } of this.planned.values()) counts[expected] = (counts[expected] ?? 0) + 1;
    return counts;
  }

  record(id: string, success: boolean, value: unknown, code: string | undefined): void {
    this.settled.set(id, (this.settled.get(id) ?? 0) + 1);
    const outcome = success ? 'success' : String(code);
    this.observed[outcome] = (this.observed[outcome] ?? 0) + 1;
    const planned = this.planned.get(id);
    if (planned === undefined) {
      this.wrong.push(`${id}: not a planned task`);
    } else if (planned.expected !== outcome) {
      this.wrong.push(`${id}: expected ${planned.expected}, got ${outcome}`);
    } else if (success && planned.output !== undefined && value !== planned.output) {
      this.wrong.push(`${id}: expected output ${planned.output}, got ${String(value)}`);
    }
  }

  recordResults(tasks: readonly (WasmTask & { id: string })[], results: WasmResult[]): void {
    if (results.length !== tasks.length)
      this.wrong.push(`a batch of ${tasks.length} gave ${results.length} results`);
    tasks.forEach((task, i) => {
      const result = results[i];
      if (result === undefined) {
        this.wrong.push(`${task.id}: no result`);
        return;
      }
      if (result.id !== task.id) this.wrong.push(`result ${i} has id ${result.id}, expected ${task.id}`);
      this.record(result.id, result.success, result.output, result.error?.code);
    });
  }

  recordOutcome(id: string, outcome: Outcome): void {
    if (outcome.ok) this.record(id, true, outcome.value, undefined);
    else {
      if (outcome.taskId !== id) this.wrong.push(`${id}: rejection names task ${String(outcome.taskId)}`);
      this.record(id, false, undefined, outcome.code);
    }
  }
}

describe.each([2, 4])('fault injection, maxWorkers %i', (maxWorkers) => {
  let pool: WasmPool | undefined;

  afterAll(async () => {
    await pool?.destroy();
  });

  test('every task settles exactly once, with the outcome of the fault injected into it', async () => {
    const seed = Number(process.env.FAULT_SEED ?? 0x5eed + maxWorkers);
    const random = prng(seed);
    const portsBefore = process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    pool = await WasmPool.create({
      modules: {
        faults: { source: fixture('faults'), memoryLimitMb: 1 },
        host: { source: fixture('host'), hostImports: hostImportsPath },
      },
      minWorkers: MIN_WORKERS,
      maxWorkers,
      idleTimeoutMs: 100,
      taskTimeoutMs: 10_000,
    });
    const events = recordEvents(pool);
    const ledger = new Ledger();
    pool.on('taskComplete', (result) => {
      ledger.completions.set(result.id, (ledger.completions.get(result.id) ?? 0) + 1);
    });

    const ok = (x: number) =>
      ledger.plan('ok', 'success', { module: 'faults', function: 'ok', params: [x] }, x + 1);
    const hostOk = () => ledger.plan('host-ok', 'success', { module: 'host', function: 'ok' }, 7);
    const trap = () => ledger.plan('trap', 'TRAP', { module: 'faults', function: 'trap' });
    const divideByZero = () =>
      ledger.plan('div0', 'TRAP', { module: 'faults', function: 'div', params: [1, 0] });
    const exhaust = () => ledger.plan('oom', 'OUT_OF_MEMORY', { module: 'faults', function: 'exhaust' });
    const overflow = () =>
      ledger.plan('overflow', 'STACK_OVERFLOW', { module: 'faults', function: 'recurse', params: [0] });
    const crash = () => ledger.plan('crash', 'WORKER_CRASHED', { module: 'host', function: 'exit' });
    const timedLoop = () => ledger.plan('timeout', 'TIMEOUT', { module: 'faults', function: 'loop_forever' });
    const abortedLoop = () =>
      ledger.plan('aborted', 'ABORTED', { module: 'faults', function: 'loop_forever' });

    const batch = (tasks: (WasmTask & { id: string })[], options?: Parameters<WasmPool['runBatch']>[1]) =>
      pool!.runBatch(tasks, options).then((results) => ledger.recordResults(tasks, results));
    const single = (task: WasmTask & { id: string }, options?: Parameters<WasmPool['run']>[1]) =>
      outcomeOf(pool!.run(task, options)).then((outcome) => ledger.recordOutcome(task.id, outcome));
    const abortLater = (): AbortSignal => {
      const controller = new AbortController();
      setTimeout(() => controller.abort('injected'), Math.floor(random() * MAX_ABORT_DELAY_MS));
      return controller.signal;
    };

    for (let round = 0; round < ROUNDS; round++) {
      const pending: Promise<void>[] = [];
      const submissions: (() => void)[] = [];

      // A large mixed batch, one worker-killing task in it.
      submissions.push(() => {
        const crashAt = Math.floor(random() * MIXED_BATCH);
        const mixed = Array.from({ length: MIXED_BATCH }, (_, i) => {
          if (i === crashAt) return crash();
          const p = random();
          if (p < 0.06) return trap();
          if (p < 0.09) return divideByZero();
          if (p < 0.11) return exhaust();
          if (p < 0.115) return overflow();
          if (p < 0.13) return hostOk();
          return ok(Math.floor(random() * 1_000_000));
        });
        pending.push(batch(mixed));
      });

      // An endless loop stopped by a short timeout: in a batch (the timeout covers the whole batch;
      // its other tasks are quick) or alone with run(), next to run() calls of the same tick.
      submissions.push(() => {
        if (round % 2 === 0) {
          const tasks = [
            ...Array.from({ length: 20 }, (_, i) => ok(i)),
            timedLoop(),
            ...Array.from({ length: 20 }, (_, i) => ok(i)),
          ];
          pending.push(batch(tasks, { timeoutMs: SHORT_TIMEOUT_MS }));
        } else {
          pending.push(single(timedLoop(), { timeoutMs: SHORT_TIMEOUT_MS }));
          for (let i = 0; i < 40; i++) pending.push(single(ok(i)));
        }
      });

      // Aborts at random moments: the loop may still be queued, handed to a worker, or running.
      submissions.push(() => {
        pending.push(single(abortedLoop(), { signal: abortLater(), timeoutMs: ABORTABLE_TIMEOUT_MS }));
      });
      if (round % 3 === 0) {
        submissions.push(() => {
          const loops = [abortedLoop(), abortedLoop(), abortedLoop()];
          pending.push(batch(loops, { signal: abortLater(), timeoutMs: ABORTABLE_TIMEOUT_MS }));
        });
      }

      // A worker killed by a task submitted alone.
      if (round % 4 === 0) submissions.push(() => pending.push(single(crash())));

      // In a random order, some in the same tick and some a few ms apart, so that faults meet idle,
      // busy and starting workers.
      for (let i = submissions.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [submissions[i], submissions[j]] = [submissions[j]!, submissions[i]!];
      }
      for (const submit of submissions) {
        submit();
        if (random() < 0.5) await sleep(Math.floor(random() * 8));
      }
      await Promise.all(pending);
    }

    const total = ledger.planned.size;
    expect(total).toBeGreaterThanOrEqual(20_000);

    // Every task settled exactly once, as its caller and as the pool's events see it.
    expect(ledger.wrong.slice(0, 20)).toEqual([]);
    expect(ledger.settled.size).toBe(total);
    expect([...ledger.settled.values()].every((count) => count === 1)).toBe(true);
    expect(ledger.completions.size).toBe(total);
    expect([...ledger.completions.entries()].filter(([, count]) => count !== 1)).toEqual([]);

    // Each outcome as often as the fault was injected, as counted here and by the pool.
    const expected = ledger.expectedCounts();
    expect(ledger.observed).toEqual(expected);
    const stats = pool.stats();
    const { success, ...failures } = expected;
    expect(stats.completed).toBe(success);
    expect(stats.failed).toBe(total - (success ?? 0));
    expect(stats.failures).toEqual(failures);
    for (const code of ['TIMEOUT', 'ABORTED', 'WORKER_CRASHED', 'OUT_OF_MEMORY', 'STACK_OVERFLOW', 'TRAP']) {
      expect(expected[code]).toBeGreaterThan(0);
    }

    // Back to minWorkers healthy workers: idle, nothing queued or running, and serving.
    await waitFor(() => settledAt(pool!.stats(), MIN_WORKERS), 20_000, `${MIN_WORKERS} idle workers`);
    const check = await pool.runBatch(
      Array.from({ length: 1000 }, (_, i) => ({ module: 'faults', function: 'ok', params: [i] })),
    );
    expect(check.every((result, i) => result.output === i + 1)).toBe(true);
    await waitFor(() => settledAt(pool!.stats(), MIN_WORKERS), 20_000, `${MIN_WORKERS} idle workers`);
    // Workers were only replaced for the injected faults (and aborted tasks that were still handed
    // to a worker when they were aborted: see the report on runaway aborted tasks).
    const restarts = events.exits.filter((exit) => !['idle', 'shutdown'].includes(exit.reason)).length;
    expect(restarts).toBe(pool.stats().workerRestarts);
    expect(events.count('crashed')).toBe(expected.WORKER_CRASHED);
    expect(events.count('startup-failed')).toBe(0);
    expect(events.errors).toEqual([]);

    if (process.env.FAULT_VERBOSE) {
      const reasons: Record<string, number> = {};
      for (const exit of events.exits) reasons[exit.reason] = (reasons[exit.reason] ?? 0) + 1;
      process.stdout.write(
        `fault injection maxWorkers ${maxWorkers} seed ${seed}: ${total} tasks ${JSON.stringify(expected)}; ` +
          `worker exits ${JSON.stringify(reasons)}\n`,
      );
    }

    await pool.close();
    expect(pool.stats().workers.total).toBe(0);
    // No worker (nor its message port) is left behind.
    await waitFor(
      () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length <= portsBefore,
      5000,
      'message ports to close',
    );
  }, 120_000);
});
