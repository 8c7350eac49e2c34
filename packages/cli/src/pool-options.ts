/**
 * The pool options every command that runs tasks takes as flags. A flag left out falls back to its
 * WASM_* environment variable, then to the pool's default: `WasmPool.create()` reads the variables, so a
 * bad variable is reported like a bad flag.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { WasmPoolOptions } from '@wasmpool/pool';

/** A commander argument parser for an integer from `min` to `max`. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A commander argument parser for a number from `min` to `max`. */
export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

/** The values commander collects for the flags of {@link addPoolOptions}. */
export interface PoolFlags {
  workers?: number;
  minWorkers?: number;
  maxWorkers?: number;
  maxQueue?: number;
  timeout?: number;
  memoryLimit?: number;
  jit?: boolean;
  nice?: number;
  metricsPort?: number;
  metricsHost?: string;
}

/** Adds the pool's flags (and --metrics-port) to a command. */
export function addPoolOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-w, --workers <n>', 'worker threads: sets both --min-workers and --max-workers').argParser(
        integer(1, 1024),
      ),
    )
    .addOption(
      new Option(
        '--min-workers <n>',
        'workers started at once and kept (env WASM_INITIAL_WORKERS)',
      ).argParser(integer(0, 1024)),
    )
    .addOption(
      new Option('--max-workers <n>', 'most workers (env WASM_MAX_WORKERS; default: CPU cores)').argParser(
        integer(1, 1024),
      ),
    )
    .addOption(
      new Option('--max-queue <n>', 'most tasks waiting in the pool (env WASM_MAX_QUEUE)').argParser(
        integer(1, 2 ** 31 - 1),
      ),
    )
    .addOption(
      new Option(
        '-t, --timeout <ms>',
        'wall-clock limit of one task (env WASM_TASK_TIMEOUT_MS; default 5000)',
      ).argParser(integer(1, 2 ** 31 - 1)),
    )
    .addOption(
      new Option(
        '--memory-limit <mib>',
        'linear-memory cap of one instance in MiB (env WASM_MAX_MEMORY_MB; default 64)',
      ).argParser(decimal(1 / 16, 4096)),
    )
    .addOption(new Option('--no-jit', "keep wasm on V8's baseline compiler (env WASM_ENABLE_JIT=false)"))
    .addOption(
      new Option('--nice <n>', "raise the worker threads' nice value (Linux)").argParser(integer(0, 19)),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve Prometheus metrics at http://HOST:PORT/metrics while running (0: a free port)',
      ).argParser(integer(0, 65535)),
    )
    .addOption(
      new Option('--metrics-host <host>', 'address the metrics server listens on').default('127.0.0.1'),
    );
}

/** The pool options the flags give; what they leave out stays unset for the environment to fill. */
export function poolOptionsOf(flags: PoolFlags): WasmPoolOptions {
  const options: WasmPoolOptions = {};
  if (flags.workers !== undefined) {
    options.minWorkers = flags.workers;
    options.maxWorkers = flags.workers;
  }
  if (flags.minWorkers !== undefined) options.minWorkers = flags.minWorkers;
  if (flags.maxWorkers !== undefined) options.maxWorkers = flags.maxWorkers;
  if (flags.maxQueue !== undefined) options.maxQueue = flags.maxQueue;
  if (flags.timeout !== undefined) options.taskTimeoutMs = flags.timeout;
  if (flags.memoryLimit !== undefined) options.memoryLimitMb = flags.memoryLimit;
  // commander sets jit to true unless --no-jit is given: only the flag overrides WASM_ENABLE_JIT.
  if (flags.jit === false) options.enableJit = false;
  if (flags.nice !== undefined) options.niceIncrement = flags.nice;
  return options;
}
