import { ERROR_CODES, type ErrorCode } from '@wasmpool/worker';

export { ERROR_CODES, type ErrorCode };

/** The error thrown or rejected by every wasmpool API. */
export class WasmPoolError extends Error {
  override readonly name = 'WasmPoolError';
  /** Stable, machine-readable reason. */
  readonly code: ErrorCode;
  /** The id of the task that failed, when the error belongs to a task. */
  readonly taskId: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { taskId?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.taskId = options?.taskId;
  }

  /** True when `value` is a WasmPoolError, optionally with the given code. */
  static is(value: unknown, code?: ErrorCode): value is WasmPoolError {
    return value instanceof WasmPoolError && (code === undefined || value.code === code);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Text of a thrown value, whatever it is (it may have no toString, or a throwing one). */
export function errorText(value: unknown): string {
  try {
    if (value instanceof Error) return value.message;
    if (typeof value === 'string') return value;
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
    return value === null ? 'null' : typeof value;
  } catch {
    return 'an unprintable value';
  }
}
