/**
 * Deterministic fuel (SPEC, "Sandbox"): a budget of work per task, counted by an instrumented
 * module's checkpoints (one unit per function entry and per loop iteration), so that the same task
 * on the same module always uses the same fuel. `ModuleSpec.fuel` gives a module's tasks a default;
 * `RunOptions.fuel` (run, runBatch, stream) sets it per call.
 */
import { WasmPoolError, type ErrorCode } from '../errors';
import type { FunctionRef } from '../modules/registry';

/** Largest fuel a task may be given: checkpoints are counted in f64 without loss up to here. */
export const MAX_FUEL = Number.MAX_SAFE_INTEGER;

/** The fuel option as given, or undefined; throws `code` for anything but a non-negative integer. */
export function checkFuel(value: unknown, where: string, code: ErrorCode): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WasmPoolError(code, `${where} must be an integer from 0 to ${MAX_FUEL}; got ${String(value)}`);
  }
  return value;
}

/**
 * Refuses fuel for a function whose module is not metered: metering is compiled in when the module
 * is registered with `fuel` (exact counting costs hot loops too much to be the default).
 */
export function checkMeterable(fn: FunctionRef, fuel: number | undefined): void {
  if (fuel !== undefined && fn.version.load.fuel === undefined) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `module '${fn.version.name}' is not metered: register it with fuel (its tasks' default) to give tasks fuel`,
    );
  }
}
