/**
 * Instrumentation of a module's code at registration, so that the worker can stop a running task
 * without ending its thread, meter it deterministically, and tell a refused grow from any other trap:
 *
 * - checkpoints at loop headers and at the entry of functions that call others count work against an
 *   exported global ({@link BUDGET_EXPORT}); when it runs out they call the imported host function
 *   {@link CHECK_IMPORT}, which refills it or throws (deadline passed, task aborted, fuel spent).
 *   See code.ts for the two kinds (interruptible, metered);
 * - every `memory.grow` and `table.grow` goes through a helper that calls the imported host
 *   function {@link REFUSED_IMPORT} when the grow returns -1.
 *
 * The two imports shift every defined function's index by two; the rewrite renumbers them everywhere.
 */
import { WasmPoolError } from '../../errors';
import { InstrumentError } from '../bytes';
import type { CheckpointMode } from './code';
import { rewriteModule, type InstrumentOptions } from './module';

export { InstrumentError } from '../bytes';
export { BUDGET_EXPORT, CHECK_IMPORT, REFUSED_IMPORT, type InstrumentOptions } from './module';
export { LOOP_CHUNK, type CheckpointMode } from './code';

/**
 * Returns the instrumented copy of a module. The input must be a module the engine validates (the
 * decoder trusts the engine's validation for everything but the immediates' shapes).
 * @throws InstrumentError for an instruction or encoding the decoder does not know.
 */
export function instrument(
  bytes: Uint8Array,
  options: InstrumentOptions = { mode: 'interruptible' },
): Uint8Array {
  if (bytes.length < 8) throw new InstrumentError('input too short to be a WebAssembly module', 0);
  return rewriteModule(bytes, options);
}

/**
 * The registry's entry point: the instrumented copy of a module the engine has validated, or an
 * INVALID_MODULE error naming the module and what the decoder does not know.
 */
export function instrumentModule(name: string, bytes: Uint8Array, mode: CheckpointMode): Uint8Array {
  if (!WebAssembly.validate(bytes)) {
    let reason = 'it is not valid WebAssembly';
    try {
      new WebAssembly.Module(bytes);
    } catch (error) {
      reason = (error as Error).message;
    }
    throw new WasmPoolError('INVALID_MODULE', `module '${name}' does not compile: ${reason}`);
  }
  try {
    return instrument(bytes, { mode });
  } catch (error) {
    if (!(error instanceof InstrumentError)) throw error;
    throw new WasmPoolError(
      'INVALID_MODULE',
      `module '${name}' cannot be sandboxed: ${error.message} (the pool rewrites every function body to stop and meter tasks, and refuses instructions it does not know)`,
      { cause: error },
    );
  }
}
