/**
 * A WASI command run without a pool, for the single thread and the piscina/tinypool worker: a fresh
 * instance per task over `@bjorn3/browser_wasi_shim`, the shim wasmpool's workers use
 * (`packages/worker/src/wasi.ts`), with the same descriptors: stdin an in-memory read-only file,
 * stdout and stderr collected in memory, no preopened directory, no environment.
 *
 * What wasmpool adds on top of the shim and this does not: its policy wrappers (refused sockets and file
 * system writes, UTF-8 sizes of argv and environ, an output cap) and the instrumentation of the module.
 * None of them is reached by `wasi-tool wc` over ASCII text, whose output is checked the same way.
 */
import { readFileSync } from 'node:fs';
import type * as WasiShim from '@bjorn3/browser_wasi_shim' with { 'resolution-mode': 'import' };

/** What a command task gives back (wasmpool's `CommandResult` without `truncated`). */
export interface CommandOutput {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

// The shim is an ES module. Node 20.19+ can require() it synchronously; Node's own require is used (from the
// real `node:module`) because Jest's sandbox can neither import() without --experimental-vm-modules nor
// require ESM through its own module registry (the same as tinypool's contender).
const nativeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
let shim: typeof WasiShim | undefined;
function loadShim(): typeof WasiShim {
  shim ??= nativeRequire('@bjorn3/browser_wasi_shim') as typeof WasiShim;
  return shim;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A compiled WASI command, run once per call on a fresh instance. */
export class WasiCommand {
  private readonly module: WebAssembly.Module;
  private readonly shim = loadShim();

  /** `programName` is argv[0] (wasmpool gives the module's name). */
  constructor(
    file: string,
    private readonly programName: string,
  ) {
    this.module = new WebAssembly.Module(readFileSync(file));
  }

  run(stdin: Uint8Array, args: string[]): CommandOutput {
    const s = this.shim;
    const stdout: Uint8Array[] = [];
    const stderr: Uint8Array[] = [];
    const fds = [
      new s.OpenFile(new s.File(stdin, { readonly: true })),
      // Copied, as wasmpool's output sink does (the shim already hands over a fresh slice).
      new s.ConsoleStdout((bytes) => stdout.push(bytes.slice())),
      new s.ConsoleStdout((bytes) => stderr.push(bytes.slice())),
    ];
    // debug: false must be explicit: the shim logs every call when the option is left out.
    const wasi = new s.WASI([this.programName, ...args], [], fds, { debug: false });
    const instance = new WebAssembly.Instance(this.module, { wasi_snapshot_preview1: wasi.wasiImport });
    const exitCode = wasi.start(
      instance as unknown as { exports: { memory: WebAssembly.Memory; _start: () => unknown } },
    );
    return { exitCode, stdout: concat(stdout), stderr: concat(stderr) };
  }
}
