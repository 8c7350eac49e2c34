/**
 * The main job (`npm start`): a stream of WebAssembly tasks over the bundled example modules, with
 * progress while it runs and a summary at the end. Every answer is checked. Tasks are made as the pool
 * pulls them, so memory stays flat whatever their number, and the metrics are served from the start.
 *
 *   npm start -- --tasks 200000 --workers 2 --metrics-port 9464
 *   npm start -- --duration 600 --hold      (ten minutes to watch in Prometheus/Grafana, then keep serving)
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WasmPool } from '@wasmpool/pool';
import { startMetrics } from './metrics';
import { formatSummary } from './summary';
import { realModuleSpecs } from './real-modules-mix';
import { checkedTask } from './workload';

const modulesDir = join(__dirname, '..', 'modules', 'build');

const USAGE = `usage: npm start -- [options]

  --tasks N           tasks to run (default 120000; with --duration: at most N)
  --duration SECONDS  keep making tasks for this long (for watching the metrics)
  --workers N         worker threads (default: the pool's, from WASM_* or the CPU cores)
  --metrics-port P    port of the Prometheus metrics (default 9464; 0: any free port)
  --no-metrics        do not serve metrics
  --hold              after the run, keep serving the metrics until Ctrl-C
  -h, --help          this text

Exit code: 0 every answer right, 1 a task failed or gave a wrong answer, 2 a bad option.`;

interface JobArgs {
  tasks: number;
  durationMs: number | undefined;
  workers: number | undefined;
  metricsPort: number | undefined;
  hold: boolean;
  help: boolean;
}

class UsageError extends Error {}

function number(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

export function parseJobArgs(argv: string[]): JobArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        tasks: { type: 'string' },
        duration: { type: 'string' },
        workers: { type: 'string' },
        'metrics-port': { type: 'string' },
        'no-metrics': { type: 'boolean', default: false },
        hold: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const duration = number(values.duration, '--duration', 0.001, 31 * 24 * 3600, false);
  const tasks = number(values.tasks, '--tasks', 1, Number.MAX_SAFE_INTEGER, true);
  const metricsPort = number(values['metrics-port'], '--metrics-port', 0, 65535, true) ?? 9464;
  if (values.hold && values['no-metrics'])
    throw new UsageError('--hold keeps serving the metrics: it cannot go with --no-metrics');
  return {
    tasks: tasks ?? (duration === undefined ? 120_000 : Number.MAX_SAFE_INTEGER),
    durationMs: duration === undefined ? undefined : duration * 1000,
    workers: number(values.workers, '--workers', 1, 1024, true),
    metricsPort: values['no-metrics'] ? undefined : metricsPort,
    hold: values.hold,
    help: values.help,
  };
}

function progressLine(done: number, total: number | undefined, startedAt: number): string {
  const seconds = (performance.now() - startedAt) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : 0;
  const rateText = `${rate.toLocaleString('en-US')} tasks/s`;
  if (total === undefined) return `${done} tasks in ${seconds.toFixed(0)} s, ${rateText}`;
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tasks, ${rateText}`;
}

async function run(args: JobArgs): Promise<number> {
  const pool = await WasmPool.create({
    modules: {
      math: { source: join(modulesDir, 'math.wasm') },
      sha256: { source: join(modulesDir, 'sha256.wasm'), memoryLimitMb: 16 },
      text: { source: join(modulesDir, 'text.wasm'), memoryLimitMb: 16 },
      ...realModuleSpecs(),
    },
    ...(args.workers === undefined ? {} : { minWorkers: args.workers, maxWorkers: args.workers }),
  });
  const metrics = args.metricsPort === undefined ? undefined : await startMetrics(pool, args.metricsPort);
  if (metrics !== undefined) {
    console.log(
      `Prometheus metrics: ${metrics.url} (while the job runs${args.hold ? ', and after it until Ctrl-C' : ''})`,
    );
  }
  const modules = pool.modules().map((m) => `${m.name} (${m.exports.length} exports, ${m.size} bytes)`);
  const what =
    args.durationMs === undefined
      ? `${args.tasks.toLocaleString('en-US')} tasks`
      : `tasks for ${args.durationMs / 1000} s`;
  console.log(`Running ${what} on ${pool.stats().workers.total} workers: ${modules.join(', ')}`);

  // The checks of the tasks in flight, in order: results come back in the order the tasks were made.
  const checks: ((output: unknown) => boolean)[] = [];
  let checkHead = 0;
  const startedAt = performance.now();
  const deadline = args.durationMs === undefined ? Infinity : startedAt + args.durationMs;
  function* tasks() {
    for (let i = 0; i < args.tasks && (i % 1024 !== 0 || performance.now() < deadline); i++) {
      const { task, check } = checkedTask(i);
      checks.push(check);
      yield task;
    }
  }

  const interactive = process.stdout.isTTY === true;
  const total = args.durationMs === undefined ? args.tasks : undefined;
  let lastPrint = 0;
  let done = 0;
  let wrong = 0;
  const failures = new Map<string, number>();
  for await (const result of pool.stream(tasks())) {
    const check = checks[checkHead++]!;
    if (checkHead >= 4096) {
      checks.splice(0, checkHead); // drop the checks used, a few thousand at a time
      checkHead = 0;
    }
    if (!result.success) {
      const code = result.error!.code;
      failures.set(code, (failures.get(code) ?? 0) + 1);
    } else if (!check(result.output)) {
      wrong++;
    }
    done++;
    const now = performance.now();
    if (now - lastPrint >= (interactive ? 100 : 1000)) {
      lastPrint = now;
      if (interactive) process.stdout.write(`\r${progressLine(done, total, startedAt)}`);
      else console.log(progressLine(done, total, startedAt));
    }
  }
  const elapsedMs = performance.now() - startedAt;
  if (interactive) process.stdout.write(`\r${progressLine(done, total, startedAt)}\n`);
  else console.log(progressLine(done, total, startedAt));
  console.log(formatSummary({ tasks: done, elapsedMs, wrong, failures, stats: pool.stats() }));

  if (args.hold && metrics !== undefined) {
    console.log(`\nHolding: metrics still at ${metrics.url}; Ctrl-C to end.`);
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  }
  await metrics?.close();
  await pool.close();
  return wrong > 0 || failures.size > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  let args: JobArgs;
  try {
    args = parseJobArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`main-job: ${error.message} (--help lists the options)\n`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  return run(args);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`main-job: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
