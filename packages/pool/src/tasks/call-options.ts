import { WasmPoolError } from '../errors';
import { errorText } from './admission';
import { describe } from './params';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Default bound on the tasks a stream holds at once (pulled and not yet consumed). */
export const DEFAULT_STREAM_WINDOW = 2048;
const MAX_STREAM_WINDOW = 1 << 20;

/** The options of one run(), runBatch() or stream() call, each read once. */
export interface CallOptions {
  timeoutMs: number;
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
  const read: CallOptions = {
    timeoutMs: defaultTimeoutMs,
    signal: undefined,
    onProgress: undefined,
    ordered: true,
    highWaterMark: DEFAULT_STREAM_WINDOW,
  };
  if (options === undefined) return read;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new WasmPoolError('INVALID_PARAMS', `options must be an object; got ${describe(options)}`);
  }
  let timeoutMs: unknown, signal: unknown, onProgress: unknown, ordered: unknown, highWaterMark: unknown;
  try {
    const given = options as Record<string, unknown>;
    ({ timeoutMs, signal, onProgress, ordered, highWaterMark } = given);
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `reading the options threw: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (timeoutMs !== undefined) {
    if (!(
      Number.isInteger(timeoutMs) &&
      (timeoutMs as number) >= 1 &&
      (timeoutMs as number) <= MAX_TIMEOUT_MS
    )) {
      throw new WasmPoolError(
        'INVALID_PARAMS',
        `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}; got ${describe(timeoutMs)}`,
      );
    }
    read.timeoutMs = timeoutMs as number;
  }
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
    if (!(
      Number.isInteger(highWaterMark) &&
      (highWaterMark as number) >= 1 &&
      (highWaterMark as number) <= MAX_STREAM_WINDOW
    )) {
      throw new WasmPoolError(
        'INVALID_PARAMS',
        `highWaterMark must be an integer from 1 to ${MAX_STREAM_WINDOW}; got ${describe(highWaterMark)}`,
      );
    }
    read.highWaterMark = highWaterMark as number;
  }
  return read;
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
