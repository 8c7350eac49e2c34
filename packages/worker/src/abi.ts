import type { ModuleRuntime } from './module-runtime';

/** A failure with a wasmpool error code, raised while running one task. */
export class TaskFault extends Error {
  readonly code: 'INVALID_OUTPUT' | 'OUT_OF_MEMORY' | 'INVALID_PARAMS' | 'TRAP' | 'INVALID_MODULE';
  constructor(code: TaskFault['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Copies a byte or string argument into the instance's memory through its `alloc(len) -> ptr`
 * export (the bytes calling convention) and returns the pointer.
 */
export function copyIn(runtime: ModuleRuntime, data: Uint8Array | string): { ptr: number; len: number } {
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  const alloc = runtime.alloc;
  if (alloc === undefined) {
    throw new TaskFault('INVALID_PARAMS', `module '${runtime.name}' does not export alloc(len: i32) -> i32`);
  }
  const len = bytes.length;
  const ptr = (alloc(len) as number) >>> 0;
  const memory = runtime.memory;
  if (memory === undefined || ptr + len > memory.buffer.byteLength || (ptr === 0 && len > 0)) {
    // The pool's allocation for the task's params failed (SPEC: OUT_OF_MEMORY), whether the
    // allocator saw a refused grow or returned null or an unusable pointer for another reason.
    throw new TaskFault(
      'OUT_OF_MEMORY',
      outOfMemoryMessage(runtime, `alloc(${len}) returned ${ptr}, outside the instance's memory`),
    );
  }
  new Uint8Array(memory.buffer, ptr, len).set(bytes);
  return { ptr, len };
}

/** Splits the i64 `(ptr << 32) | len` a function returns for a bytes, string or json output. */
function view(runtime: ModuleRuntime, packed: unknown): Uint8Array {
  let ptr: number;
  let len: number;
  if (typeof packed === 'bigint') {
    ptr = Number(BigInt.asUintN(32, packed >> 32n));
    len = Number(BigInt.asUintN(32, packed));
  } else if (Array.isArray(packed) && packed.length === 2) {
    ptr = Number(packed[0]) >>> 0;
    len = Number(packed[1]) >>> 0;
  } else {
    throw new TaskFault(
      'INVALID_OUTPUT',
      'a bytes, string or json output must be returned as an i64 (ptr << 32) | len',
    );
  }
  const memory = runtime.memory;
  if (memory === undefined)
    throw new TaskFault('INVALID_OUTPUT', 'the module has no memory to read the output from');
  if (ptr + len > memory.buffer.byteLength) {
    throw new TaskFault(
      'INVALID_OUTPUT',
      `output [${ptr}, ${ptr + len}) lies outside the instance's memory of ${memory.buffer.byteLength} bytes`,
    );
  }
  return new Uint8Array(memory.buffer, ptr, len);
}

function release(runtime: ModuleRuntime, packed: unknown): void {
  const dealloc = runtime.dealloc;
  if (dealloc === undefined) return;
  if (typeof packed === 'bigint') {
    dealloc(Number(BigInt.asIntN(32, packed >> 32n)), Number(BigInt.asIntN(32, packed)));
  } else if (Array.isArray(packed)) {
    dealloc(packed[0], packed[1]);
  }
}

/** Reads a bytes output: a copy made by `copy` (out of wasm memory, which the next task may change). */
export function readBytes(
  runtime: ModuleRuntime,
  packed: unknown,
  copy: (source: Uint8Array) => Uint8Array = (source) => source.slice(),
): Uint8Array {
  const bytes = copy(view(runtime, packed));
  release(runtime, packed);
  return bytes;
}

export function readString(runtime: ModuleRuntime, packed: unknown): string {
  let text: string;
  try {
    text = strictUtf8.decode(view(runtime, packed));
  } catch (error) {
    if (error instanceof TaskFault) throw error;
    throw new TaskFault('INVALID_OUTPUT', 'the output is not valid UTF-8');
  }
  release(runtime, packed);
  return text;
}

export function readJson(runtime: ModuleRuntime, packed: unknown): unknown {
  const text = readString(runtime, packed);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TaskFault('INVALID_OUTPUT', `the output is not valid JSON: ${(error as Error).message}`);
  }
}

export function outOfMemoryMessage(runtime: ModuleRuntime, what: string): string {
  const mib = (runtime.maxPages * 65536) / (1024 * 1024);
  return `out of memory: ${what}; the instance's memory limit is ${mib} MiB (${runtime.maxPages} pages)`;
}
