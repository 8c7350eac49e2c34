/**
 * What the pool tells a worker about a module that does not follow wasmpool's own calling
 * convention: WASI, init exports, AssemblyScript strings, a JS adapter. It travels inside
 * `ModuleLoad.real` (structured-cloneable).
 */
import type { FunctionSignature } from './protocol';

/** WASI preview1 as granted to one module; everything not granted is denied. */
export interface WasiLoad {
  /** Arguments after argv[0] (the module's name) and before a command task's own `args`. */
  args: string[];
  /** Environment variables every instance sees (a command task's `env` is added on top). */
  env: [string, string][];
  /** Read-only virtual files, visible under the preopened directory `/`. Empty: no preopen at all. */
  files: { path: string; data: Uint8Array }[];
  /** Realtime clock fixed at this many ms since the epoch (monotonic clock at 0); null: real clocks. */
  fixedTimeMs: number | null;
  /** random_get gives a PRNG stream from this seed, restarted for every instance; null: real randomness. */
  randomSeed: number | null;
  /** The most bytes kept of stdout and of stderr, each, per task. */
  maxOutputBytes: number;
}

/** How a function the pool does not call directly is called. */
export type RealCall =
  /** A WASI command's `_start`, on a fresh instance; the request is a {@link CommandRequest}. */
  | { kind: 'command' }
  /** A function of the adapter module; the request is the task's params. */
  | { kind: 'adapter' }
  /** An AssemblyScript export; the request is an {@link AssemblyScriptRequest}. */
  | { kind: 'assemblyscript'; signature: FunctionSignature };

export interface RealModuleLoad {
  wasi?: WasiLoad;
  /** Exports called after every instantiation, in order (`_initialize` first when exported). */
  init: string[];
  /** Absolute path of the adapter module. */
  adapter?: string;
  /** Per function index of `ModuleLoad.functions`: how it is called (null: directly). */
  calls: (RealCall | null)[];
}

/** A command task, as the worker runs it. */
export interface CommandRequest {
  kind: 'command';
  stdin: Uint8Array;
  args: string[];
  env: [string, string][];
}

/** A value an AssemblyScript function takes. */
export type AssemblyScriptParam = number | bigint | string | Uint8Array;

export interface AssemblyScriptRequest {
  kind: 'assemblyscript';
  params: AssemblyScriptParam[];
  /** How to read the result: a managed string or ArrayBuffer, or the number as it is. */
  output: 'string' | 'bytes' | 'json' | 'number' | 'bigint' | 'void';
}

export interface AdapterRequest {
  kind: 'adapter';
  params: unknown[];
}

/** The one argument of a task of a function in `RealModuleLoad.calls`. */
export type RealRequest = CommandRequest | AssemblyScriptRequest | AdapterRequest;

/** What a command task resolves to. */
export interface CommandOutput {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Present (true) when stdout or stderr passed `maxOutputBytes` and was cut there. */
  truncated?: true;
}
