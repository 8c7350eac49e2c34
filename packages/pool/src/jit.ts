import { setFlagsFromString } from 'node:v8';

let applied: boolean | undefined;

/**
 * `enableJit: false` keeps WebAssembly on V8's baseline compiler (Liftoff): less compile CPU,
 * slower code. V8 flags are process-wide, so the last pool created decides for modules compiled
 * after it (and for the workers, which share the compiled code).
 */
export function applyJitSetting(enableJit: boolean): void {
  if (applied === enableJit) return;
  applied = enableJit;
  setFlagsFromString(enableJit ? '--wasm-tier-up' : '--no-wasm-tier-up');
  setFlagsFromString(enableJit ? '--no-liftoff-only' : '--liftoff-only');
}
