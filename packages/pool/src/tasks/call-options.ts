import { WasmPoolError, errorText } from '../errors';
import { checkFuel } from './fuel';
import { describe } from './params';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Default bound on the tasks a stream holds at once (pulled and not yet consumed). */
export const DEFAULT_STREAM_WINDOW = 2048;
const MAX_STREAM_WINDOW = 1 << 20;

/** The options of one run(), runBatch() or stream() call, each read once. */
export interface CallOptions {
  timeoutMs: number;
  /** Fuel of each task of the call (undefined: the module's). */
  fuel: number | undefined;
  signal: AbortSignal | undefined;
  onProgress: ((done: number, total: number) => void) | undefined;
  ordered: boolean;
  highWaterMark: number;
}

/**
 * Reads and checks a call's options (undefined or an object); throws INVALID_PARAMS naming the
 * option. Getters are read once, inside a guard.
 */
export function readCallOptions(options: unknown, defaultTimeoutMs: number): CallOptions {
  // The common call has no options: one shared, frozen answer per default timeout (no object per call).
  if (options === undefined) return defaultsFor(defaultTimeoutMs);
  const read: CallOptions = {
    timeoutMs: defaultTimeoutMs,
    fuel: undefined,
    signal: undefined,
    onProgress: undefined,
    ordered: true,
    highWaterMark: DEFAULT_STREAM_WINDOW,
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new WasmPoolError('INVALID_PARAMS', `options must be an object; got ${describe(options)}`);
  }
  let timeoutMs: unknown,
    fuel: unknown,
    signal: unknown,
    onProgress: unknown,
    ordered: unknown,
    highWaterMark: unknown;
  try {
    const given = options as Record<string, unknown>;
    ({ timeoutMs, fuel, signal, onProgress, ordered, highWaterMark } = given);
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `reading the options threw: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (timeoutMs !== undefined) read.timeoutMs = integerIn('timeoutMs', timeoutMs, 1, MAX_TIMEOUT_MS);
  read.fuel = checkFuel(fuel, 'fuel', 'INVALID_PARAMS');
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal))
      throw new WasmPoolError('INVALID_PARAMS', 'signal must be an AbortSignal');
    read.signal = signal;
  }
  if (onProgress !== undefined) {
    if (typeof onProgress !== 'function')
      throw new WasmPoolError('INVALID_PARAMS', 'onProgress must be a function');
    read.onProgress = onProgress as CallOptions['onProgress'];
  }
  if (ordered !== undefined) {
    if (typeof ordered !== 'boolean') throw new WasmPoolError('INVALID_PARAMS', 'ordered must be a boolean');
    read.ordered = ordered;
  }
  if (highWaterMark !== undefined) {
    read.highWaterMark = integerIn('highWaterMark', highWaterMark, 1, MAX_STREAM_WINDOW);
  }
  return read;
}

/** `value` when it is an integer from `min` to `max`; INVALID_PARAMS naming the option otherwise. */
function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (!(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `${name} must be an integer from ${min} to ${max}; got ${describe(value)}`,
    );
  }
  return value as number;
}

let defaults: CallOptions | undefined;

function defaultsFor(timeoutMs: number): CallOptions {
  if (defaults === undefined || defaults.timeoutMs !== timeoutMs) {
    defaults = Object.freeze({
      timeoutMs,
      fuel: undefined,
      signal: undefined,
      onProgress: undefined,
      ordered: true,
      highWaterMark: DEFAULT_STREAM_WINDOW,
    });
  }
  return defaults;
}

/** The message of a task aborted by `signal`, whatever its reason is (it may have no toString). */
export function abortMessage(signal: AbortSignal): string {
  let why: string;
  try {
    const reason: unknown = signal.reason;
    why = reason === undefined ? '' : errorText(reason);
  } catch {
    why = '';
  }
  return why === '' ? 'the task was aborted' : `the task was aborted: ${why}`;
}
