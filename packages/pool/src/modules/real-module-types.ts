/** Public types of real modules: WASI, ABIs, adapters (see SPEC "Real modules"). */

/**
 * WASI preview1 grants of a module (`ModuleSpec.wasi`). Whatever is not granted is denied: the
 * program sees no host file, no host environment variable, no socket and no host descriptor.
 */
export interface WasiOptions {
  /** Arguments given to every instance after argv[0] (the module's name), before a task's own `args`. */
  args?: string[];
  /** Environment variables every instance sees; a command task's `env` is added on top. */
  env?: Record<string, string>;
  /**
   * Read-only virtual files, by path (`'data/words.txt'`), under a preopened directory `/`: a program
   * opens them as `/data/words.txt`. Strings are stored as UTF-8.
   */
  files?: Record<string, Uint8Array | string>;
  /** `'real'` (default), or a realtime clock fixed at `fixedTimeMs` (ms since the epoch) with the monotonic clock at 0. */
  clock?: 'real' | { fixedTimeMs: number };
  /** `'real'` (default: crypto.getRandomValues), or a PRNG restarted from `seed` for every instance. */
  random?: 'real' | { seed: number };
  /** The most bytes kept of a command task's stdout, and of its stderr (default 1 MiB; the rest is cut). */
  maxOutputBytes?: number;
}

/**
 * How bytes and strings cross into a module (`ModuleSpec.abi`): the names of its allocator exports
 * (default `alloc` / `dealloc`), or `'assemblyscript'` for AssemblyScript's managed strings and
 * ArrayBuffers (module built with `--exportRuntime`).
 */
export type ModuleAbi = { alloc?: string; dealloc?: string } | 'assemblyscript';

/** What a WASI command task (`function: '_start'`) resolves to. A non-zero exit code is a success. */
export interface CommandResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Present (true) when stdout or stderr passed `maxOutputBytes` and was cut there. */
  truncated?: true;
}
