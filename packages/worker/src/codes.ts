/**
 * Every failure wasmpool reports carries one of these codes. They keep their meaning across versions;
 * new codes may be added at the end (results travel as the index into this list, plus one).
 */
export const ERROR_CODES = [
  'INVALID_CONFIG',
  'INVALID_MODULE',
  'INTEGRITY_MISMATCH',
  'MODULE_NOT_FOUND',
  'FUNCTION_NOT_FOUND',
  'INVALID_PARAMS',
  'QUEUE_FULL',
  'POOL_CLOSED',
  'TRAP',
  'STACK_OVERFLOW',
  'OUT_OF_MEMORY',
  'TIMEOUT',
  'ABORTED',
  'WORKER_CRASHED',
  'INVALID_OUTPUT',
  'FUEL_EXHAUSTED',
] as const;

/** A wasmpool error code; see SPEC "Error codes". */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Status of a task in a result message: 0 = success, otherwise the code's index + 1. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES.indexOf(code) + 1;
}

export function codeOfStatus(status: number): ErrorCode {
  return ERROR_CODES[status - 1] ?? 'WORKER_CRASHED';
}
