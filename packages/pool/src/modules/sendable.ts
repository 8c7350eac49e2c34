import type { FunctionSignature, ValueType } from '@wasmpool/worker';

/** Types a task's params and results may have: what the wire between pool and workers carries. */
const CROSSING: ReadonlySet<ValueType> = new Set(['i32', 'i64', 'f32', 'f64', 'unknown']);

/**
 * Why tasks cannot call a function of this signature, or undefined when they can. A `v128` cannot
 * be passed to or from JavaScript at all; a `funcref` or `externref` result is an engine object the
 * worker cannot send back (and no task param can make one).
 */
export function unsendableReason(label: string, { params, results }: FunctionSignature): string | undefined {
  const badResult = results.find((type) => !CROSSING.has(type));
  if (badResult !== undefined) {
    return `${label} returns ${article(badResult)}, which cannot be sent back from a worker; tasks cannot call it`;
  }
  const badParam = params.find((type) => !CROSSING.has(type));
  if (badParam !== undefined) {
    return `${label} takes ${article(badParam)}, which a task cannot pass; tasks cannot call it`;
  }
  return undefined;
}

const article = (type: ValueType): string => `${type === 'externref' ? 'an' : 'a'} ${type}`;
