/**
 * AssemblyScript's calling convention for managed objects, for modules built with
 * `--exportRuntime`: a string goes in as a new `String` object (UTF-16), a Uint8Array as a new
 * `ArrayBuffer`, both pinned for the call; a returned pointer is read back by the object's runtime
 * type id, so a pointer to anything else is refused instead of misread.
 *
 * Object layout (AssemblyScript runtime, all versions since 0.18): the 20-byte header before an
 * object's data ends with `rtId: u32` at ptr-8 and `rtSize: u32` (byte length) at ptr-4. The ids of
 * `ArrayBuffer` (1) and `String` (2) are fixed by the compiler; other classes' ids depend on the
 * program, which is why typed arrays cross as ArrayBuffers.
 */
import { TaskFault } from './abi';
import type { AssemblyScriptRequest } from './real-module';

const ARRAY_BUFFER_ID = 1;
const STRING_ID = 2;

type WasmFunction = (...args: unknown[]) => unknown;

/** The runtime exports a module built with --exportRuntime has. */
export interface AssemblyScriptRuntime {
  __new: (size: number, id: number) => number;
  __pin: (ptr: number) => number;
  __unpin: (ptr: number) => void;
}

/** The runtime exports, or a message saying which are missing. */
export function assemblyScriptRuntime(exports: WebAssembly.Exports): AssemblyScriptRuntime | string {
  const missing = ['__new', '__pin', '__unpin'].filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) {
    return `it does not export ${missing.join(', ')}: build it with asc --exportRuntime`;
  }
  return exports as unknown as AssemblyScriptRuntime;
}

const utf16 = new TextDecoder('utf-16le');

/** Calls an AssemblyScript export with managed strings and ArrayBuffers in and out. */
export function callAssemblyScript(
  runtime: AssemblyScriptRuntime,
  memory: () => WebAssembly.Memory,
  fn: WasmFunction,
  request: AssemblyScriptRequest,
): unknown {
  const pinned: number[] = [];
  try {
    const args = request.params.map((param) => {
      if (typeof param === 'string') return pin(runtime, pinned, newString(runtime, memory, param));
      if (param instanceof Uint8Array) return pin(runtime, pinned, newArrayBuffer(runtime, memory, param));
      return param;
    });
    const result = fn(...args);
    switch (request.output) {
      case 'void':
        return undefined;
      case 'number':
        return typeof result === 'bigint' ? Number(result) : result;
      case 'bigint':
        return typeof result === 'bigint' ? result : BigInt(result as number);
      case 'string':
        return readString(memory(), result);
      case 'json': {
        const text = readString(memory(), result);
        try {
          return text === null ? null : (JSON.parse(text) as unknown);
        } catch (error) {
          throw new TaskFault('INVALID_OUTPUT', `the output is not valid JSON: ${(error as Error).message}`);
        }
      }
      case 'bytes':
        return readArrayBuffer(memory(), result);
    }
  } finally {
    for (const ptr of pinned) runtime.__unpin(ptr);
  }
}

function pin(runtime: AssemblyScriptRuntime, pinned: number[], ptr: number): number {
  runtime.__pin(ptr);
  pinned.push(ptr);
  return ptr;
}

function newString(runtime: AssemblyScriptRuntime, memory: () => WebAssembly.Memory, text: string): number {
  const ptr = runtime.__new(text.length << 1, STRING_ID) >>> 0;
  // __new may have grown memory: take the buffer after it.
  const units = new Uint16Array(memory().buffer, ptr, text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return ptr;
}

function newArrayBuffer(
  runtime: AssemblyScriptRuntime,
  memory: () => WebAssembly.Memory,
  bytes: Uint8Array,
): number {
  const ptr = runtime.__new(bytes.length, ARRAY_BUFFER_ID) >>> 0;
  new Uint8Array(memory().buffer, ptr, bytes.length).set(bytes);
  return ptr;
}

/** The object at `ptr`, checked to be of class `id`; null for a null pointer. */
function objectBytes(
  memory: WebAssembly.Memory,
  result: unknown,
  id: number,
  what: string,
): Uint8Array | null {
  const ptr = Number(result) >>> 0;
  if (ptr === 0) return null;
  const size = memory.buffer.byteLength;
  if (ptr < 20 || ptr % 4 !== 0 || ptr > size) {
    throw new TaskFault(
      'INVALID_OUTPUT',
      `the function returned ${ptr}, which is not a pointer to an object`,
    );
  }
  const header = new DataView(memory.buffer, ptr - 8, 8);
  const rtId = header.getUint32(0, true);
  const rtSize = header.getUint32(4, true);
  if (rtId !== id) {
    throw new TaskFault('INVALID_OUTPUT', `the function returned an object of class id ${rtId}, not ${what}`);
  }
  if (ptr + rtSize > size) {
    throw new TaskFault('INVALID_OUTPUT', `the ${what} at ${ptr} runs past the end of memory`);
  }
  return new Uint8Array(memory.buffer, ptr, rtSize);
}

function readString(memory: WebAssembly.Memory, result: unknown): string | null {
  const bytes = objectBytes(memory, result, STRING_ID, 'a String');
  return bytes === null ? null : utf16.decode(bytes);
}

function readArrayBuffer(memory: WebAssembly.Memory, result: unknown): Uint8Array | null {
  return objectBytes(memory, result, ARRAY_BUFFER_ID, 'an ArrayBuffer')?.slice() ?? null;
}
