import { TaskFault, outOfMemoryMessage } from './abi';
import type { ErrorCode } from './codes';
import { TaskInterrupt } from './meter';
import { WasmAbort, type ModuleRuntime } from './module-runtime';
import { thrownText } from './thrown';

/**
 * Maps what a task threw to an error code and a message.
 *
 * OUT_OF_MEMORY means exactly (SPEC, "Sandbox"): the task failed after a `memory.grow` or
 * `table.grow` was refused, by the cap or by the module's own declared maximum (an instrumented
 * module flags every refused grow, see meter.ts), or the pool's own allocation for its params failed
 * (a TaskFault from abi.ts). Any other trap is TRAP.
 */
export function classify(error: unknown, runtime: ModuleRuntime): { code: ErrorCode; message: string } {
  if (error instanceof TaskInterrupt) return { code: error.code, message: error.message };
  if (error instanceof TaskFault) return { code: error.code, message: error.message };
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return { code: 'STACK_OVERFLOW', message: `stack overflow: ${error.message}` };
  }
  if (error instanceof RangeError && /memory|grow/i.test(error.message)) {
    // A grow through the JS API (a host import's memory.grow()) was refused.
    return { code: 'OUT_OF_MEMORY', message: outOfMemoryMessage(runtime, error.message) };
  }
  const reason =
    error instanceof WasmAbort
      ? `abort: ${error.message}`
      : error instanceof WebAssembly.RuntimeError
        ? `wasm trap: ${error.message}`
        : `host import threw: ${thrownText(error)}`;
  if (runtime.growRefused()) {
    return {
      code: 'OUT_OF_MEMORY',
      message: outOfMemoryMessage(runtime, `a grow was refused, then ${reason}`),
    };
  }
  return { code: 'TRAP', message: reason };
}
