#!/usr/bin/env node
// Measures how fast the pool recovers from runaway and crashing tasks (issue 3), with the BUILT
// package (`npm run build` first):
//
//   (a) delay from a task's deadline to its TIMEOUT rejection: `loop_forever` with timeoutMs 20, run
//       on an idle one-worker pool, one at a time. The task's true start is not visible from outside,
//       so two measures bracket the delay:
//         - upper bound: rejection time - (submission time + timeoutMs). The task cannot start
//           before it is submitted, so its deadline is at or after submission + timeoutMs; this
//           also counts the time to send the task to the worker (well under 1 ms on an idle pool).
//         - as the pool saw it: "ran for X ms" in the TIMEOUT message is measured by the pool from
//           the worker's own start stamp (shared memory) at the moment it stopped the task; X - timeoutMs
//           is the overrun up to that moment, a lower bound of the delay to the rejection (the
//           rejection follows in the same turn of the event loop).
//       A module given as bytes is instrumented (issue 12): the worker stops the task itself and is
//       kept. The same is measured with `instrument: false`, whose TIMEOUT ends the worker.
//   (b) time to replace a worker: from the workerExit event of the worker that was ended to the
//       workerCreate event of its replacement (the replacement is ready: every module instantiated,
//       host imports loaded), after a TIMEOUT (of the uninstrumented module) and after a crash (host
//       import calling process.exit).
//
// Usage: node scripts/measure-recovery.mjs [--runs 60] [--timeout-ms 20] [--json]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';
import { WasmPool } from '@wasmpool/pool';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'packages', 'pool', 'test', 'fixtures');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number`);
  return value;
}

const RUNS = Math.max(50, option('runs', 60));
const TIMEOUT_MS = option('timeout-ms', 20);
const WARMUP = 3;
const JSON_OUTPUT = process.argv.includes('--json');

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { runs: sorted.length, median, p90: at(0.9), worst: sorted[sorted.length - 1], best: sorted[0] };
}

async function waitFor(predicate, what, timeoutMs = 10_000) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

function idle(pool) {
  const { workers, queued, running } = pool.stats();
  return workers.total === 1 && workers.idle === 1 && workers.starting === 0 && queued === 0 && running === 0;
}

async function main() {
  const pool = await WasmPool.create({
    modules: {
      faults: { source: path.join(fixtures, 'build', 'faults.wasm') },
      plain: { source: path.join(fixtures, 'build', 'faults.wasm'), instrument: false },
      host: {
        source: path.join(fixtures, 'build', 'host.wasm'),
        hostImports: path.join(fixtures, 'host-imports.js'),
      },
    },
    minWorkers: 1,
    maxWorkers: 1,
    taskTimeoutMs: 60_000,
  });
  let lastExit;
  const replacements = { timeout: [], crashed: [] };
  pool.on('workerExit', (id, reason) => {
    lastExit = { id, reason, at: performance.now() };
  });
  pool.on('workerCreate', () => {
    if (lastExit !== undefined && lastExit.reason in replacements) {
      replacements[lastExit.reason].push(performance.now() - lastExit.at);
    }
    lastExit = undefined;
  });

  const timeouts = {};
  for (const module of ['faults', 'plain']) {
    const upperBounds = [];
    const poolSeen = [];
    for (let run = 0; run < WARMUP + RUNS; run++) {
      await waitFor(() => idle(pool), 'an idle worker');
      await sleep(2);
      const submitted = now();
      let error;
      try {
        await pool.run({ module, function: 'loop_forever' }, { timeoutMs: TIMEOUT_MS });
      } catch (caught) {
        error = caught;
      }
      const rejected = now();
      if (error?.code !== 'TIMEOUT') throw new Error(`expected TIMEOUT, got ${error?.code ?? 'a result'}`);
      const match = /ran for ([\d.]+) ms/.exec(error.message);
      if (match === null) throw new Error(`unexpected TIMEOUT message: ${error.message}`);
      if (run < WARMUP) continue;
      upperBounds.push(rejected - submitted - TIMEOUT_MS);
      poolSeen.push(Number(match[1]) - TIMEOUT_MS);
    }
    timeouts[module] = { upperBounds, poolSeen };
  }
  await waitFor(() => idle(pool), 'an idle worker');
  replacements.timeout.splice(0, WARMUP);

  for (let run = 0; run < WARMUP + RUNS; run++) {
    await waitFor(() => idle(pool), 'an idle worker');
    await sleep(2);
    try {
      await pool.run({ module: 'host', function: 'exit' });
      throw new Error('host exit() returned');
    } catch (error) {
      if (error.code !== 'WORKER_CRASHED') throw error;
    }
  }
  await waitFor(() => idle(pool), 'an idle worker');
  replacements.crashed.splice(0, WARMUP);
  await pool.close();

  const rows = [
    ['(a) deadline -> TIMEOUT rejection, upper bound', summary(timeouts.faults.upperBounds)],
    ['(a) deadline -> stop, as the worker measured it', summary(timeouts.faults.poolSeen)],
    ['(a) the same, instrument: false: upper bound', summary(timeouts.plain.upperBounds)],
    ['(a) instrument: false, as the pool measured it', summary(timeouts.plain.poolSeen)],
    ['(b) worker replacement after TIMEOUT', summary(replacements.timeout)],
    ['(b) worker replacement after crash', summary(replacements.crashed)],
  ];
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
    return;
  }
  const ms = (value) => `${value.toFixed(2)} ms`.padStart(10);
  console.log(
    `wasmpool recovery: ${RUNS} runs per row after ${WARMUP} warm-up runs; Node ${process.version}, ` +
      `${availableParallelism()} CPUs (load average ${loadavg()[0].toFixed(2)}); one-worker pool with modules faults and host (host imports); timeoutMs ${TIMEOUT_MS}`,
  );
  console.log(
    `${'measure'.padEnd(48)}${'runs'.padStart(6)}${'median'.padStart(10)}${'p90'.padStart(10)}${'worst'.padStart(10)}`,
  );
  for (const [label, s] of rows) {
    console.log(`${label.padEnd(48)}${String(s.runs).padStart(6)}${ms(s.median)}${ms(s.p90)}${ms(s.worst)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
