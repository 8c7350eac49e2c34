/** `module` label of tasks whose module name is not (or no longer) registered with the pool. */
export const UNKNOWN_MODULE = '_unknown';

/** `outcome` label of tasks that succeeded. */
export const SUCCESS_OUTCOME = 'success';

/** Worker exit reasons that are not restarts: the pool retired the worker on purpose. */
export const NORMAL_EXIT_REASONS: ReadonlySet<string> = new Set(['idle', 'shutdown']);

/** Worker exit reasons that mean the worker was replaced; their counters start at 0. */
export const RESTART_REASONS: readonly string[] = [
  'recycled',
  'memory',
  'timeout',
  'aborted',
  'crashed',
  'startup-failed',
];

const ERROR_CODE_SHAPE = /^[A-Z][A-Z0-9_]{0,39}$/;
const REASON_SHAPE = /^[a-z][a-z0-9_-]{0,39}$/;

/**
 * The `outcome` label of a settled task: `success`, or its error code in lower case
 * (`trap`, `timeout`, ...). Anything that does not look like an error code becomes `unknown`,
 * so a misbehaving producer cannot create unbounded label values.
 */
export function outcomeLabel(success: boolean, code: string | undefined): string {
  if (success) return SUCCESS_OUTCOME;
  return code !== undefined && ERROR_CODE_SHAPE.test(code) ? code.toLowerCase() : 'unknown';
}

/** The `reason` label of a worker restart; odd values become `other`. */
export function reasonLabel(reason: string): string {
  return REASON_SHAPE.test(reason) ? reason : 'other';
}
