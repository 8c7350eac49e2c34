import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { WasmPoolError, errorText } from './errors';
import type { ModuleSpec, WasmPoolOptions, WorkerResourceLimits } from './types';

/** Options after defaults, environment variables and validation. */
export interface ResolvedOptions {
  modules: Record<string, ModuleSpec>;
  minWorkers: number;
  maxWorkers: number;
  idleTimeoutMs: number;
  maxQueue: number;
  taskTimeoutMs: number;
  memoryLimitMb: number;
  maxTasksPerWorker: number;
  enableJit: boolean;
  resourceLimits: WorkerResourceLimits;
  workerMemoryLimitMb: number;
  workerStartTimeoutMs: number;
  niceIncrement: number;
  tableLimit: number;
  instantiateTimeoutMs: number;
}

/** Largest linear memory of a 32-bit wasm instance: 65536 pages of 64 KiB. */
export const MAX_MEMORY_LIMIT_MB = 4096;
export const MIN_MEMORY_LIMIT_MB = 1 / 16;
/**
 * The most elements a table may be allowed to hold. Tables live on the worker's JS heap (8 bytes an
 * element), and a worker past its heap limit is ended by Node only if no single allocation is larger
 * than the 16 MB of leeway Node gives it; a table.grow allocates the whole new table at once, so a
 * table stays within 8 MB. (V8's own limit, 10,000,000, can take the process down.)
 */
export const MAX_TABLE_LIMIT = 1_000_000;
/**
 * The most elements all tables of one instance may hold together (their capped maxima): 32 MB of
 * heap. Without it, straight-line code growing thousands of tables would keep raising the heap
 * past the worker's limit (the engine checks for termination only at calls and loops).
 */
export const MAX_TABLE_ELEMENTS_PER_INSTANCE = 4_000_000;
export const DEFAULT_TABLE_LIMIT = 10_000;
/**
 * JS heap of each worker unless `resourceLimits` says otherwise. Without a limit a worker shares the
 * process's fatal out-of-heap path: a module that fills its heap (tables live there) would end the
 * whole process; with one, Node ends only that worker (ERR_WORKER_OUT_OF_MEMORY).
 */
export const DEFAULT_WORKER_HEAP_MB = 512;
const MAX_TIMER_MS = 2 ** 31 - 1;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const schema = z.object({
  maxWorkers: int(1, 1024),
  minWorkers: int(0, 1024),
  idleTimeoutMs: int(0, MAX_TIMER_MS),
  maxQueue: int(1, 2 ** 32),
  taskTimeoutMs: int(1, MAX_TIMER_MS),
  memoryLimitMb: z.number().min(MIN_MEMORY_LIMIT_MB).max(MAX_MEMORY_LIMIT_MB),
  maxTasksPerWorker: int(0, Number.MAX_SAFE_INTEGER),
  enableJit: z.boolean(),
  resourceLimits: z
    .object({
      maxOldGenerationSizeMb: z.number().positive().optional(),
      maxYoungGenerationSizeMb: z.number().positive().optional(),
      codeRangeSizeMb: z.number().positive().optional(),
      stackSizeMb: z.number().positive().max(1024).optional(),
    })
    .strict(),
  workerMemoryLimitMb: z.number().min(0),
  workerStartTimeoutMs: int(1, MAX_TIMER_MS),
  niceIncrement: int(0, 19),
  tableLimit: int(0, MAX_TABLE_LIMIT),
  instantiateTimeoutMs: int(1, MAX_TIMER_MS),
});

/** What each option accepts, for error messages. */
const RANGES: Record<string, string> = {
  minWorkers: 'an integer from 0 to 1024, not above maxWorkers',
  maxWorkers: 'an integer from 1 to 1024',
  idleTimeoutMs: `an integer from 0 to ${MAX_TIMER_MS} (ms)`,
  maxQueue: 'an integer from 1 to 2^32',
  taskTimeoutMs: `an integer from 1 to ${MAX_TIMER_MS} (ms)`,
  memoryLimitMb: `a number from ${MIN_MEMORY_LIMIT_MB} (one 64 KiB page) to ${MAX_MEMORY_LIMIT_MB} (4 GiB)`,
  maxTasksPerWorker: 'an integer of 0 (never recycle) or more',
  enableJit: 'true or false',
  resourceLimits:
    'an object with positive maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb',
  workerMemoryLimitMb: 'a number of 0 (no limit) or more (MiB)',
  workerStartTimeoutMs: `an integer from 1 to ${MAX_TIMER_MS} (ms)`,
  niceIncrement: 'an integer from 0 to 19',
  tableLimit: `an integer from 0 to ${MAX_TABLE_LIMIT} (table elements)`,
  instantiateTimeoutMs: `an integer from 1 to ${MAX_TIMER_MS} (ms)`,
};

/** Environment variables that give defaults, with how to read them into an option. */
const ENV: { variable: string; option: keyof WasmPoolOptions; read: (raw: string) => unknown }[] = [
  { variable: 'WASM_MAX_WORKERS', option: 'maxWorkers', read: Number },
  { variable: 'WASM_INITIAL_WORKERS', option: 'minWorkers', read: Number },
  { variable: 'WASM_MAX_MEMORY_MB', option: 'memoryLimitMb', read: Number },
  { variable: 'WASM_IDLE_TIMEOUT_SECS', option: 'idleTimeoutMs', read: (raw) => Number(raw) * 1000 },
  { variable: 'WASM_TASK_TIMEOUT_MS', option: 'taskTimeoutMs', read: Number },
  { variable: 'WASM_MAX_QUEUE', option: 'maxQueue', read: Number },
  { variable: 'WASM_ENABLE_JIT', option: 'enableJit', read: readBoolean },
];

function readBoolean(raw: string): unknown {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  return raw;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function invalid(option: string, value: unknown, source: string): WasmPoolError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new WasmPoolError(
    'INVALID_CONFIG',
    `${option}${source} must be ${RANGES[option] ?? 'valid'}; got ${shown}`,
  );
}

/**
 * Applies defaults (options, then environment variables, then built-in values) and validates
 * everything, throwing INVALID_CONFIG that names the option and its allowed range.
 */
export function resolveOptions(
  options: WasmPoolOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  try {
    return resolveGiven(options, env);
  } catch (error) {
    // A getter or proxy trap of the caller's options (or of its modules map) threw.
    if (error instanceof WasmPoolError) throw error;
    throw new WasmPoolError('INVALID_CONFIG', `reading the options threw: ${errorText(error)}`, {
      cause: error,
    });
  }
}

function resolveGiven(options: WasmPoolOptions, env: NodeJS.ProcessEnv): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new WasmPoolError('INVALID_CONFIG', 'options must be an object');
  }
  const known = new Set([...Object.keys(RANGES), 'modules']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new WasmPoolError('INVALID_CONFIG', `unknown option '${key}'`);
  }
  const given: Record<string, unknown> = {};
  const sourceOf: Record<string, string> = {};
  for (const { variable, option, read } of ENV) {
    const raw = env[variable];
    if (options[option] === undefined && raw !== undefined && raw !== '') {
      given[option] = read(raw);
      sourceOf[option] = ` (from ${variable}=${JSON.stringify(raw)})`;
    }
  }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'modules') given[key] = value;
  }

  const cores = availableParallelism();
  const explicitMax = given.maxWorkers !== undefined;
  const givenMax = Number.isInteger(given.maxWorkers) ? (given.maxWorkers as number) : cores;
  const defaults = {
    maxWorkers: Math.max(1, cores),
    minWorkers: Math.max(0, Math.min(2, givenMax)),
    idleTimeoutMs: 300_000,
    maxQueue: 100_000,
    taskTimeoutMs: 5_000,
    memoryLimitMb: 64,
    maxTasksPerWorker: 0,
    enableJit: true,
    resourceLimits: {},
    workerMemoryLimitMb: 0,
    workerStartTimeoutMs: 10_000,
    niceIncrement: 0,
    tableLimit: DEFAULT_TABLE_LIMIT,
    instantiateTimeoutMs: 5_000,
  };
  const merged = { ...defaults, ...given };
  // A minWorkers above the default maxWorkers is a contradiction like any other: nothing is raised silently.
  if (!explicitMax)
    sourceOf.maxWorkers = ` (the default: ${cores} CPU cores; set maxWorkers or WASM_MAX_WORKERS)`;
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = String(issue?.path[0] ?? 'options');
    throw invalid(option, (merged as Record<string, unknown>)[option], sourceOf[option] ?? '');
  }
  const resolved = parsed.data;
  if (resolved.minWorkers > resolved.maxWorkers) {
    throw new WasmPoolError(
      'INVALID_CONFIG',
      `minWorkers${sourceOf.minWorkers ?? ''} must be ${RANGES.minWorkers}; got ${resolved.minWorkers} with maxWorkers ${resolved.maxWorkers}${sourceOf.maxWorkers ?? ''}`,
    );
  }
  const givenModules = options.modules ?? {};
  if (typeof givenModules !== 'object' || givenModules === null || Array.isArray(givenModules)) {
    throw new WasmPoolError('INVALID_CONFIG', 'modules must be an object mapping names to module specs');
  }
  // Read once: create() then works on this copy, not on the caller's object.
  const modules = Object.fromEntries(Object.entries(givenModules)) as Record<string, ModuleSpec>;
  // A limit the caller leaves out keeps its default: the heap limit is what keeps a worker's
  // out-of-heap from ending the process.
  const resourceLimits = {
    maxOldGenerationSizeMb: DEFAULT_WORKER_HEAP_MB,
    ...definedOnly(resolved.resourceLimits),
  };
  return { ...resolved, resourceLimits, modules };
}
