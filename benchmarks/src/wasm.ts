/**
 * Plain WebAssembly helpers shared by the single-thread contender and the piscina/tinypool worker, so that
 * every contender runs the same module code with the same calling convention as wasmpool's bytes ABI.
 */
import { readFileSync } from 'node:fs';

export interface MathExports {
  add(a: number, b: number): number;
  spin(iterations: number): number;
}

export interface Sha256Exports {
  memory: WebAssembly.Memory;
  alloc(len: number): number;
  dealloc(ptr: number, len: number): void;
  sha256(ptr: number, len: number): bigint;
}

export interface LargeExports {
  add(a: number, b: number): number;
}

/** Imports every module here may ask for: AssemblyScript's `env.abort` traps like wasmpool's worker would. */
const IMPORTS: WebAssembly.Imports = {
  env: {
    abort: (_msg: number, _file: number, line: number, col: number) => {
      throw new Error(`wasm abort at ${line}:${col}`);
    },
  },
};

/** Reads, compiles and instantiates a module synchronously (what a worker script would do at load). */
export function instantiateFile<T>(file: string): T {
  const module = new WebAssembly.Module(readFileSync(file));
  return new WebAssembly.Instance(module, importsFor(module)).exports as unknown as T;
}

function importsFor(module: WebAssembly.Module): WebAssembly.Imports {
  const wanted = WebAssembly.Module.imports(module);
  return wanted.some((i) => i.module === 'env') ? IMPORTS : {};
}

/**
 * SHA-256 through the bytes ABI: copy the input into memory obtained from `alloc`, call `sha256(ptr, len)`,
 * read `(outPtr << 32) | outLen`, copy the digest out, and free both buffers.
 */
export function sha256Call(ex: Sha256Exports, data: Uint8Array): Uint8Array {
  const len = data.byteLength;
  const ptr = ex.alloc(len);
  new Uint8Array(ex.memory.buffer, ptr, len).set(data);
  const packed = ex.sha256(ptr, len);
  const outPtr = Number(BigInt.asUintN(64, packed) >> 32n);
  const outLen = Number(packed & 0xffffffffn);
  const digest = new Uint8Array(ex.memory.buffer, outPtr, outLen).slice();
  ex.dealloc(ptr, len);
  ex.dealloc(outPtr, outLen);
  return digest;
}
