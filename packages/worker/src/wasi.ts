/**
 * WASI preview1 for one instance, denied by default, over `@bjorn3/browser_wasi_shim`.
 *
 * Why that shim: it is pure JavaScript (no native build, ~45 KB), kept up to date, and implements
 * preview1 over in-memory file descriptors, so a program can only reach what we put in its
 * descriptor table: stdin as an in-memory file, stdout/stderr as capped sinks, and, when granted,
 * a preopened directory of read-only virtual files. `node:wasi` is not used: it is experimental
 * (and warns once per thread) and can only hand real host descriptors to the program.
 *
 * On top of the shim this module adds the policy: sockets, writes to the file system and signals
 * are refused; proc_exit becomes an exit code; the clock and randomness can be made deterministic.
 */
import type { CommandRequest, WasiLoad } from './real-module';

type Shim = typeof import('@bjorn3/browser_wasi_shim', { with: { 'resolution-mode': 'import' } });
type ShimWasi = InstanceType<Shim['WASI']>;
type WasiFunction = (...args: never[]) => unknown;

let shimLoading: Promise<Shim> | undefined;

/** Loads the shim (an ES module) once per worker. */
export function loadWasiShim(): Promise<Shim> {
  shimLoading ??= import('@bjorn3/browser_wasi_shim');
  return shimLoading;
}

const utf8 = new TextEncoder();
const ERRNO_SUCCESS = 0;
const ERRNO_INVAL = 28;
const ERRNO_ROFS = 69;
const ERRNO_NOTCAPABLE = 76;
const CLOCK_REALTIME = 0;
const OFLAGS_WRITE = 1 /* CREAT */ | 4 /* EXCL */ | 8; /* TRUNC */
const RIGHTS_WRITE =
  (1n << 6n) /* FD_WRITE */ | (1n << 8n) /* FD_ALLOCATE */ | (1n << 22n); /* FD_FILESTAT_SET_SIZE */
const FDFLAGS_APPEND = 1;

/** Calls that would change the file system: refused (the virtual files are read-only). */
const FILE_SYSTEM_WRITES = [
  'fd_allocate',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pwrite',
  'path_create_directory',
  'path_filestat_set_times',
  'path_link',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
] as const;
const SOCKETS = ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown'] as const;

/** Bytes written to stdout or stderr, kept up to a cap (the rest is counted, not kept). */
class CappedSink {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  write(bytes: Uint8Array): void {
    const room = this.cap - this.kept;
    if (bytes.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.chunks.push(part.slice());
    this.kept += part.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.kept);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** splitmix32: a small seeded PRNG, so that seeded runs give the same bytes everywhere. */
function seededBytes(seed: number): (into: Uint8Array) => void {
  let state = seed >>> 0;
  return (into) => {
    for (let i = 0; i < into.length; i += 4) {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      z ^= z >>> 16;
      for (let b = 0; b < 4 && i + b < into.length; b++) into[i + b] = (z >>> (8 * b)) & 0xff;
    }
  };
}

/** Thrown by proc_exit; caught by the command runner (or surfaces as a trap elsewhere). */
export class WasiExit extends Error {
  override readonly name = 'WasiExit';
  constructor(readonly code: number) {
    super(`the program exited with code ${code}`);
  }
}

/**
 * The WASI world of one instance: its descriptors, arguments, environment, clock and randomness.
 * A command task gets its own; a reactor's (or library's) instance gets one with empty stdin whose
 * output is discarded.
 */
export class WasiSession {
  /** The `wasi_snapshot_preview1` import object. */
  readonly imports: Record<string, WasiFunction>;
  private readonly wasi: ShimWasi;
  private readonly stdout: CappedSink;
  private readonly stderr: CappedSink;
  private memory: WebAssembly.Memory | undefined;

  constructor(shim: Shim, load: WasiLoad, programName: string, request?: CommandRequest) {
    const cap = request === undefined ? 0 : load.maxOutputBytes;
    this.stdout = new CappedSink(cap);
    this.stderr = new CappedSink(cap);
    const fds: InstanceType<Shim['Fd']>[] = [
      new shim.OpenFile(new shim.File(request?.stdin ?? new Uint8Array(0), { readonly: true })),
      new shim.ConsoleStdout((bytes) => this.stdout.write(bytes)),
      new shim.ConsoleStdout((bytes) => this.stderr.write(bytes)),
    ];
    if (load.files.length > 0) fds.push(new shim.PreopenDirectory('/', virtualTree(shim, load.files)));
    const args = [programName, ...load.args, ...(request?.args ?? [])];
    const env = new Map(load.env);
    for (const [name, value] of request?.env ?? []) env.set(name, value);
    const environment = [...env].map(([name, value]) => `${name}=${value}`);
    // debug: false must be explicit: the shim logs every call when the option is left out.
    this.wasi = new shim.WASI(args, environment, fds, { debug: false });
    this.imports = { ...this.wasi.wasiImport } as Record<string, WasiFunction>;
    this.restrict(load);
    // The shim sizes argv and environ in UTF-16 units, not UTF-8 bytes: its own versions are replaced.
    this.strings('args', args);
    this.strings('environ', environment);
  }

  /** Points the session at the instance's memory; call before running any of its code. */
  bind(memory: WebAssembly.Memory | undefined): void {
    this.memory = memory;
    // The shim reads `inst.exports.memory`; a module may name its memory otherwise, or import it.
    this.wasi.inst = { exports: { memory: memory ?? new WebAssembly.Memory({ initial: 0, maximum: 0 }) } };
  }

  /** Runs `_start`; returns the exit code (0 when it returns, proc_exit's code otherwise). */
  start(start: () => unknown): number {
    try {
      start();
      return 0;
    } catch (error) {
      if (error instanceof WasiExit) return error.code;
      throw error;
    }
  }

  output(): { stdout: Uint8Array; stderr: Uint8Array; truncated: boolean } {
    return {
      stdout: this.stdout.bytes(),
      stderr: this.stderr.bytes(),
      truncated: this.stdout.truncated || this.stderr.truncated,
    };
  }

  private view(): DataView {
    return new DataView((this.memory as WebAssembly.Memory).buffer);
  }

  /** `<kind>_sizes_get` and `<kind>_get` over NUL-terminated UTF-8 strings. */
  private strings(kind: 'args' | 'environ', values: string[]): void {
    const encoded = values.map((value) => utf8.encode(`${value}\0`));
    const total = encoded.reduce((sum, bytes) => sum + bytes.length, 0);
    this.imports[`${kind}_sizes_get`] = ((countAt: number, sizeAt: number) => {
      const view = this.view();
      view.setUint32(countAt, encoded.length, true);
      view.setUint32(sizeAt, total, true);
      return ERRNO_SUCCESS;
    }) as WasiFunction;
    this.imports[`${kind}_get`] = ((pointersAt: number, bufferAt: number) => {
      const view = this.view();
      const memory = new Uint8Array(view.buffer);
      let at = bufferAt;
      encoded.forEach((bytes, i) => {
        view.setUint32(pointersAt + 4 * i, at, true);
        memory.set(bytes, at);
        at += bytes.length;
      });
      return ERRNO_SUCCESS;
    }) as WasiFunction;
  }

  private restrict(load: WasiLoad): void {
    const imports = this.imports;
    const original = this.wasi.wasiImport;
    imports.proc_exit = ((code: number) => {
      throw new WasiExit(code >>> 0);
    }) as WasiFunction;
    imports.proc_raise = ((signal: number) => {
      throw new WasiExit(128 + signal);
    }) as WasiFunction;
    for (const name of SOCKETS) imports[name] = () => ERRNO_NOTCAPABLE;
    for (const name of FILE_SYSTEM_WRITES) imports[name] = () => ERRNO_ROFS;
    const pathOpen = original.path_open!;
    imports.path_open = ((...args: number[]) => {
      const [, , , , oflags, rightsBase, , fdflags] = args as unknown as [
        number,
        number,
        number,
        number,
        number,
        bigint,
        bigint,
        number,
      ];
      if ((oflags & OFLAGS_WRITE) !== 0 || (BigInt(rightsBase) & RIGHTS_WRITE) !== 0n) return ERRNO_ROFS;
      if ((fdflags & FDFLAGS_APPEND) !== 0) return ERRNO_ROFS;
      return pathOpen(...args);
    }) as WasiFunction;
    const fdWrite = original.fd_write!;
    // Only stdout and stderr are writable.
    imports.fd_write = ((fd: number, ...rest: number[]) =>
      fd === 1 || fd === 2 ? fdWrite(fd, ...rest) : ERRNO_ROFS) as WasiFunction;
    if (load.fixedTimeMs !== null) {
      const realtime = BigInt(Math.round(load.fixedTimeMs)) * 1_000_000n;
      imports.clock_time_get = ((id: number, _precision: bigint, at: number) => {
        if (id > 3) return ERRNO_INVAL;
        this.view().setBigUint64(at, id === CLOCK_REALTIME ? realtime : 0n, true);
        return ERRNO_SUCCESS;
      }) as WasiFunction;
    }
    if (load.randomSeed !== null) {
      const fill = seededBytes(load.randomSeed);
      imports.random_get = ((at: number, length: number) => {
        const memory = this.memory as WebAssembly.Memory;
        if (at + length > memory.buffer.byteLength) return ERRNO_INVAL;
        fill(new Uint8Array(memory.buffer, at, length));
        return ERRNO_SUCCESS;
      }) as WasiFunction;
    }
  }
}

type ShimInode = InstanceType<Shim['File']> | InstanceType<Shim['Directory']>;
/** A directory before it is handed to the shim (whose Directory links its children once, when made). */
interface PlainDirectory {
  files: Map<string, Uint8Array>;
  dirs: Map<string, PlainDirectory>;
}

/** Builds the directory tree of the granted files (paths like 'data/input.txt'), leaves first. */
function virtualTree(shim: Shim, files: WasiLoad['files']): Map<string, ShimInode> {
  const root: PlainDirectory = { files: new Map(), dirs: new Map() };
  for (const { path, data } of files) {
    const parts = path.split('/');
    const name = parts.pop() as string;
    let dir = root;
    for (const part of parts) {
      let next = dir.dirs.get(part);
      if (next === undefined) dir.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
      dir = next;
    }
    dir.files.set(name, data);
  }
  const build = (dir: PlainDirectory): Map<string, ShimInode> => {
    const contents = new Map<string, ShimInode>();
    for (const [name, sub] of dir.dirs) contents.set(name, new shim.Directory(build(sub)));
    for (const [name, data] of dir.files) contents.set(name, new shim.File(data, { readonly: true }));
    return contents;
  };
  return build(root);
}
