/**
 * The real modules in the main job's mix (`npm start`): a WASI command (C, wasi-libc) counting the
 * words of its stdin, and a third-party binary as shipped (xxhash-wasm's xxhash.wasm, through an
 * adapter). Every answer is checked against a JS reference.
 */
import { join } from 'node:path';
import type { CommandResult, ModuleSpec, WasmTask } from '@wasmpool/pool';
import { adaptersDir, nativeWasmDir, xxhashWasmPath } from './third-party';

/** The modules these tasks need, to add to the pool's `modules`. */
export function realModuleSpecs(): Record<string, ModuleSpec> {
  return {
    wc: { source: join(nativeWasmDir, 'wasi-tool.wasm'), wasi: { args: ['wc'] }, memoryLimitMb: 4 },
    xxhash: { source: xxhashWasmPath(), adapter: join(adaptersDir, 'xxhash.mjs'), memoryLimitMb: 4 },
  };
}

const LINES = ['the quick brown fox', 'jumps over', '', 'the lazy dog  again'];

/** Task `i` of the mix when it is a real-module task (2 in 100), else undefined. */
export function realModuleTask(i: number): { task: WasmTask; check(output: unknown): boolean } | undefined {
  if (i % 100 === 3) {
    const text = `${LINES.slice(0, 1 + (i % LINES.length)).join('\n')}\n`;
    const expected = `${text.split('\n').length - 1} ${text.split(/\s+/).filter(Boolean).length} ${Buffer.byteLength(text)}\n`;
    return {
      task: { module: 'wc', function: '_start', stdin: text },
      check: (out) => {
        const result = out as CommandResult;
        return result.exitCode === 0 && Buffer.from(result.stdout).toString() === expected;
      },
    };
  }
  if (i % 100 === 53) {
    const text = `task ${i}`;
    const expected = xxh32(Buffer.from(text));
    return { task: { module: 'xxhash', function: 'h32', params: [text] }, check: (out) => out === expected };
  }
  return undefined;
}

/** XXH32 with seed 0 for inputs under 16 bytes, from the xxHash specification (the reference). */
function xxh32(bytes: Uint8Array): number {
  if (bytes.length >= 16) throw new Error('this reference covers short inputs only');
  const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
  let acc = (0x165667b1 + bytes.length) >>> 0;
  let at = 0;
  for (; at + 4 <= bytes.length; at += 4) {
    const lane = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    acc = Math.imul(rotl((acc + Math.imul(lane, 0xc2b2ae3d)) >>> 0, 17), 0x27d4eb2f) >>> 0;
  }
  for (; at < bytes.length; at++) {
    acc = Math.imul(rotl((acc + Math.imul(bytes[at]!, 0x165667b1)) >>> 0, 11), 0x9e3779b1) >>> 0;
  }
  acc = Math.imul(acc ^ (acc >>> 15), 0x85ebca77) >>> 0;
  acc = Math.imul(acc ^ (acc >>> 13), 0xc2b2ae3d) >>> 0;
  return (acc ^ (acc >>> 16)) >>> 0;
}
