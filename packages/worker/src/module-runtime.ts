import { pathToFileURL } from 'node:url';
import { Instrumentation, type TaskMeter } from './meter';
import type { FunctionSignature, ModuleLoad } from './protocol';
import { checkProvidedMemory } from './provided-memory';
import { RealModuleRuntime } from './real-runtime';
import type { WasiSession } from './wasi';

const PAGE = 65536;

/** What a host-imports module receives when it builds its imports. */
export interface HostImportContext {
  /** Name the module is registered under. */
  moduleName: string;
  /** The live instance's linear memory (exported or imported), once instantiated. */
  memory(): WebAssembly.Memory | undefined;
  /** The live instance's exports, once instantiated (for glue code such as wasm-bindgen's). */
  exports(): WebAssembly.Exports | undefined;
}

/** The function a `hostImports` module exports (default export, module.exports, or `createImports`). */
export type CreateHostImports = (context: HostImportContext) => WebAssembly.Imports;

/** Thrown by AssemblyScript's `abort()` inside a task. */
export class WasmAbort extends Error {
  override readonly name = 'WasmAbort';
}

type WasmFunction = (...args: unknown[]) => unknown;

/**
 * Memories up to this size are copied back before a metered task (see `ModuleRuntime.restoreFresh`);
 * a bigger one gets a new instance, whose pages are mapped only when touched. Measured here: copying
 * 1, 4 and 16 MiB back took 0.06, 0.41 and 1.8 ms; a new memory of that size 0.02, 0.23 and 0.26 ms,
 * plus the instance's own making (about 0.09 ms for a small C program) and a page fault per 4 KiB
 * the task then touches (about 2 µs each).
 */
const FRESH_COPY_MAX_BYTES = 2 << 20;

/** A new instance's memory and mutable globals (see `ModuleRuntime.restoreFresh`). */
interface FreshState {
  bytes: Uint8Array;
  globals: WebAssembly.Global[];
  values: unknown[];
}

/** One exported function, ready to call. */
export interface BoundFunction {
  fn: WasmFunction;
  signature: FunctionSignature;
  /** i64 parameters take BigInt arguments. */
  i64Params: boolean[];
  hasI64Param: boolean;
  /** Takes the task's request object as its one argument (see real-runtime.ts). */
  raw?: boolean;
}

/**
 * One module version inside a worker: its instance, made again after every failed task so that a
 * task never sees the state a trap left behind.
 */
export class ModuleRuntime {
  readonly id: number;
  readonly name: string;
  readonly maxPages: number;
  readonly checkMemoryAfterCall: boolean;
  private readonly load: ModuleLoad;
  private hostImports: CreateHostImports | undefined;
  private readonly real: RealModuleRuntime | undefined;
  private memoryObject: WebAssembly.Memory | undefined;
  private instanceObject: WebAssembly.Instance | undefined;
  functions: BoundFunction[] = [];
  alloc: WasmFunction | undefined;
  dealloc: WasmFunction | undefined;
  /** The last memory size reported to the pool. */
  reportedBytes = -1;
  /** Instrumented modules (sandbox): their checkpoint budget. */
  budget: WebAssembly.Global | undefined;
  /** Whether a task has run on the instance since it was made. */
  used = false;
  /** The state of the instance as it was made, when it can be put back (see {@link restoreFresh}). */
  private fresh: FreshState | undefined;

  private constructor(
    load: ModuleLoad,
    hostImports: CreateHostImports | undefined,
    real: RealModuleRuntime | undefined,
    private readonly meter: TaskMeter | undefined,
  ) {
    this.load = load;
    this.real = real;
    this.id = load.id;
    this.name = load.name;
    this.maxPages = load.maxPages;
    this.checkMemoryAfterCall = load.checkMemoryAfterCall;
    this.hostImports = hostImports;
  }

  static async create(load: ModuleLoad, meter?: TaskMeter): Promise<ModuleRuntime> {
    const hostImports = load.hostImports === undefined ? undefined : await loadHostImports(load.hostImports);
    const real = load.real === undefined ? undefined : await RealModuleRuntime.create(load.real, load.name);
    const runtime = new ModuleRuntime(load, hostImports, real, meter);
    runtime.instantiate();
    return runtime;
  }

  get memory(): WebAssembly.Memory | undefined {
    return this.memoryObject;
  }

  /** The live instance, once instantiated. */
  get instance(): WebAssembly.Instance | undefined {
    return this.instanceObject;
  }

  functionName(index: number): string {
    return this.load.functions[index]?.name ?? '';
  }

  memoryBytes(): number {
    return this.memoryObject === undefined ? 0 : this.memoryObject.buffer.byteLength;
  }

  /**
   * Whether a grow was refused during the current task: an instrumented module flags every
   * `memory.grow`/`table.grow` that returned -1. A module that is not instrumented: only a memory
   * at its cap counts as a refused grow.
   */
  growRefused(): boolean {
    if (this.budget !== undefined) return this.meter?.growRefused === true;
    const memory = this.memoryObject;
    return memory !== undefined && memory.buffer.byteLength >= this.maxPages * PAGE;
  }

  /**
   * Throws the engine's error (LinkError, RuntimeError from a start function) when it fails. Calls
   * `_initialize` and the init exports (see `newInstance`), after the start function.
   */
  instantiate(): void {
    // Dropping the old memory first lets it be collected before the new one is allocated.
    this.memoryObject = undefined;
    this.instanceObject = undefined;
    this.functions = [];
    this.used = false;
    const { instance, memory } = this.newInstance(this.real?.session());
    const exports = instance.exports;
    this.instanceObject = instance;
    this.memoryObject = memory;
    if (this.load.instrumented) this.budget = exports[Instrumentation.budgetExport] as WebAssembly.Global;
    this.functions = this.load.functions.map(({ name, signature }) => {
      const i64Params = signature.params.map((type) => type === 'i64');
      return {
        fn: exports[name] as WasmFunction,
        signature,
        i64Params,
        hasI64Param: i64Params.includes(true),
      };
    });
    this.real?.bindCalls(this);
    this.alloc = this.load.alloc >= 0 ? this.functions[this.load.alloc]?.fn : undefined;
    this.dealloc = this.load.dealloc >= 0 ? this.functions[this.load.dealloc]?.fn : undefined;
    this.fresh = this.captureFresh(exports, memory);
  }

  /**
   * A copy of a new instance's memory and mutable globals, when they are all the state its tasks can
   * change: a metered module the pool's instrumenter marked restorable (no table or segment changes,
   * no mutable imported global), with no host imports and no WASI or adapter (state outside it).
   */
  private captureFresh(
    exports: WebAssembly.Exports,
    memory: WebAssembly.Memory | undefined,
  ): FreshState | undefined {
    if (
      exports[Instrumentation.restorableExport] === undefined ||
      memory === undefined ||
      memory.buffer.byteLength > FRESH_COPY_MAX_BYTES ||
      this.hostImports !== undefined ||
      this.real !== undefined
    ) {
      return undefined;
    }
    const globals: WebAssembly.Global[] = [];
    for (const name of Object.keys(exports)) {
      if (name.startsWith(Instrumentation.globalExportPrefix))
        globals.push(exports[name] as WebAssembly.Global);
    }
    return {
      bytes: new Uint8Array(memory.buffer).slice(),
      globals,
      values: globals.map((global) => global.value),
    };
  }

  /**
   * Puts the instance back as it was made (memory and mutable globals), for a metered task: the
   * same task then uses the same fuel, without the cost of a new instance. False when it cannot be
   * (the memory grew, or the module keeps state elsewhere): a new instance is needed.
   */
  restoreFresh(): boolean {
    const fresh = this.fresh;
    const memory = this.memoryObject;
    if (fresh === undefined || memory === undefined || memory.buffer.byteLength !== fresh.bytes.length) {
      return false;
    }
    new Uint8Array(memory.buffer).set(fresh.bytes);
    for (let i = 0; i < fresh.globals.length; i++) fresh.globals[i]!.value = fresh.values[i];
    this.used = false;
    return true;
  }

  /**
   * Makes an instance with its own imports (a fresh imported memory, the given WASI session) and
   * runs its init exports (`_initialize`, `ModuleSpec.init`). The live instance is not changed:
   * WASI commands run each task on an instance of their own.
   */
  newInstance(session?: WasiSession): {
    instance: WebAssembly.Instance;
    memory: WebAssembly.Memory | undefined;
  } {
    const live: { instance?: WebAssembly.Instance; memory?: WebAssembly.Memory } = {};
    const imports: WebAssembly.Imports = this.hostImports
      ? this.hostImports({
          moduleName: this.name,
          memory: () => live.memory,
          exports: () => live.instance?.exports,
        })
      : {};
    const plan = this.load.importedMemory;
    let importedMemory: WebAssembly.Memory | undefined;
    if (plan !== undefined) {
      const provided = imports[plan.module]?.[plan.name];
      if (provided instanceof WebAssembly.Memory) {
        checkProvidedMemory(provided, plan, this.maxPages);
        importedMemory = provided;
      } else {
        importedMemory = new WebAssembly.Memory({
          initial: plan.initial,
          maximum: plan.maximum,
          shared: plan.shared,
        });
        imports[plan.module] = { ...imports[plan.module], [plan.name]: importedMemory };
      }
    }
    this.provideImportedTables(imports);
    if (this.load.importsAbort) {
      imports.env = {
        abort: (msg: number, file: number, line: number, col: number) => this.abort(msg, file, line, col),
        ...imports.env,
      };
    }
    if (session !== undefined) imports.wasi_snapshot_preview1 = session.imports;
    if (this.load.instrumented) {
      imports[Instrumentation.checkModule] = {
        [Instrumentation.checkName]: this.meter?.check ?? (() => 0x7fffffff),
        [Instrumentation.refusedName]: this.meter?.refused ?? (() => undefined),
      };
    }
    const instance = new WebAssembly.Instance(this.load.module, imports);
    live.instance = instance;
    live.memory = importedMemory ?? findMemory(instance.exports);
    session?.bind(live.memory);
    this.real?.initialize(instance);
    return { instance, memory: live.memory };
  }

  /** Tables the module imports and its host imports do not give: new ones under the cap. */
  private provideImportedTables(imports: WebAssembly.Imports): void {
    for (const plan of this.load.importedTables ?? []) {
      if (imports[plan.module]?.[plan.name] instanceof WebAssembly.Table) continue;
      const table = new WebAssembly.Table({
        element: plan.element === 'funcref' ? 'anyfunc' : ('externref' as WebAssembly.TableKind),
        initial: plan.initial,
        maximum: plan.maximum,
      });
      imports[plan.module] = { ...imports[plan.module], [plan.name]: table };
    }
  }

  /** Forget the instance; the next `instantiate()` starts clean. */
  dispose(): void {
    this.memoryObject = undefined;
    this.instanceObject = undefined;
    this.functions = [];
    this.budget = undefined;
  }

  private abort(messagePtr: number, filePtr: number, line: number, column: number): never {
    const message = this.readAssemblyScriptString(messagePtr) ?? 'abort';
    const file = this.readAssemblyScriptString(filePtr);
    throw new WasmAbort(file === undefined ? message : `${message} (${file}:${line}:${column})`);
  }

  /** AssemblyScript strings are UTF-16 with their byte length stored just before them. */
  private readAssemblyScriptString(ptr: number): string | undefined {
    const memory = this.memoryObject;
    if (memory === undefined || ptr < 4 || ptr >= memory.buffer.byteLength) return undefined;
    const byteLength = new Uint32Array(memory.buffer, (ptr - 4) & ~3, 1)[0] ?? 0;
    if (ptr % 2 !== 0 || ptr + byteLength > memory.buffer.byteLength || byteLength > 4096) return undefined;
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, byteLength >>> 1));
  }
}

function findMemory(exports: WebAssembly.Exports): WebAssembly.Memory | undefined {
  for (const value of Object.values(exports)) {
    if (value instanceof WebAssembly.Memory) return value;
  }
  return undefined;
}

async function loadHostImports(path: string): Promise<CreateHostImports> {
  const loaded = (await import(pathToFileURL(path).href)) as {
    default?: unknown;
    createImports?: unknown;
  };
  const candidate =
    typeof loaded.createImports === 'function'
      ? loaded.createImports
      : typeof loaded.default === 'function'
        ? loaded.default
        : (loaded.default as { createImports?: unknown } | undefined)?.createImports;
  if (typeof candidate !== 'function') {
    throw new Error(`host imports module ${path} exports no function (default export or createImports)`);
  }
  return candidate as CreateHostImports;
}
