import { TaskFault, outOfMemoryMessage } from './abi';
import type { ErrorCode } from './codes';
import { WasmAbort, type ModuleRuntime } from './module-runtime';

/**
 * A trap while memory is this close to its cap is taken for a failed allocation: allocators grow
 * memory in steps and trap (`unreachable`) when `memory.grow` returns -1.
 */
const NEAR_LIMIT = 1 / 16;

function nearMemoryLimit(runtime: ModuleRuntime): boolean {
  const memory = runtime.memory;
  if (memory === undefined) return false;
  const limit = runtime.maxPages * 65536;
  return memory.buffer.byteLength >= limit - Math.max(65536, limit * NEAR_LIMIT);
}

/** Maps what a task threw to an error code and a message. */
export function classify(error: unknown, runtime: ModuleRuntime): { code: ErrorCode; message: string } {
  if (error instanceof TaskFault) return { code: error.code, message: error.message };
  if (error instanceof RangeError) {
    if (/call stack/i.test(error.message)) {
      return { code: 'STACK_OVERFLOW', message: `stack overflow: ${error.message}` };
    }
    if (/memory|grow/i.test(error.message)) {
      return { code: 'OUT_OF_MEMORY', message: outOfMemoryMessage(runtime, error.message) };
    }
  }
  if (error instanceof WebAssembly.RuntimeError || error instanceof WasmAbort) {
    const reason = error instanceof WasmAbort ? `abort: ${error.message}` : `wasm trap: ${error.message}`;
    if (nearMemoryLimit(runtime))
      return { code: 'OUT_OF_MEMORY', message: outOfMemoryMessage(runtime, reason) };
    return { code: 'TRAP', message: reason };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'TRAP', message: `host import threw: ${message}` };
}
