import { TaskFault } from './abi';

const isNumeric = (value: unknown): boolean => typeof value === 'number' || typeof value === 'bigint';

/**
 * Returns a function's result if it can travel back to the pool: a number, a bigint, nothing, or an
 * array of numbers and bigints (multi-value). Anything else (a funcref is a JS function, an externref
 * any object) would make the results message fail to send and take the worker down with every task
 * in it, so it fails this one task with INVALID_OUTPUT instead.
 */
export function sendableResult(value: unknown): unknown {
  if (value === undefined || isNumeric(value)) return value;
  if (Array.isArray(value) && value.every(isNumeric)) return value;
  const what = Array.isArray(value)
    ? `values of which one is a ${describe(value.find((item) => !isNumeric(item)))}`
    : `a ${describe(value)}`;
  throw new TaskFault(
    'INVALID_OUTPUT',
    `the function returned ${what}, which cannot be sent back from the worker (only numbers and bigints can)`,
  );
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'function (funcref)';
  if (value === null) return 'null reference';
  return `${typeof value} (externref or v128)`;
}
