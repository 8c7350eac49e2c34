import { TaskFault, outOfMemoryMessage } from './abi';
import type { ErrorCode } from './codes';
import { WasmAbort, type ModuleRuntime } from './module-runtime';

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
    if (runtime.nearMemoryLimit())
      return { code: 'OUT_OF_MEMORY', message: outOfMemoryMessage(runtime, reason) };
    return { code: 'TRAP', message: reason };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'TRAP', message: `host import threw: ${message}` };
}
