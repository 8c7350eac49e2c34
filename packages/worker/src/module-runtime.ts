import { pathToFileURL } from 'node:url';
import { Instrumentation, type TaskMeter } from './meter';
import type { FunctionSignature, ModuleLoad } from './protocol';

const PAGE = 65536;

/** What a host-imports module receives when it builds its imports. */
export interface HostImportContext {
  /** Name the module is registered under. */
  moduleName: string;
  /** The live instance's linear memory (exported or imported), once instantiated. */
  memory(): WebAssembly.Memory | undefined;
}

/** The function a `hostImports` module exports (default export, module.exports, or `createImports`). */
export type CreateHostImports = (context: HostImportContext) => WebAssembly.Imports;

/** Thrown by AssemblyScript's `abort()` inside a task. */
export class WasmAbort extends Error {
  override readonly name = 'WasmAbort';
}

type WasmFunction = (...args: unknown[]) => unknown;

/** One exported function, ready to call. */
export interface BoundFunction {
  fn: WasmFunction;
  signature: FunctionSignature;
  /** i64 parameters take BigInt arguments. */
  i64Params: boolean[];
  hasI64Param: boolean;
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
  private memoryObject: WebAssembly.Memory | undefined;
  functions: BoundFunction[] = [];
  alloc: WasmFunction | undefined;
  dealloc: WasmFunction | undefined;
  /** The last memory size reported to the pool. */
  reportedBytes = -1;
  /** Instrumented modules (sandbox): their checkpoint budget. */
  budget: WebAssembly.Global | undefined;

  private constructor(
    load: ModuleLoad,
    hostImports: CreateHostImports | undefined,
    private readonly meter: TaskMeter | undefined,
  ) {
    this.load = load;
    this.id = load.id;
    this.name = load.name;
    this.maxPages = load.maxPages;
    this.checkMemoryAfterCall = load.checkMemoryAfterCall;
    this.hostImports = hostImports;
  }

  static async create(load: ModuleLoad, meter?: TaskMeter): Promise<ModuleRuntime> {
    const hostImports = load.hostImports === undefined ? undefined : await loadHostImports(load.hostImports);
    const runtime = new ModuleRuntime(load, hostImports, meter);
    runtime.instantiate();
    return runtime;
  }

  get memory(): WebAssembly.Memory | undefined {
    return this.memoryObject;
  }

  memoryBytes(): number {
    return this.memoryObject === undefined ? 0 : this.memoryObject.buffer.byteLength;
  }

  /**
   * Whether a grow was refused during the current task: an instrumented module flags every
   * `memory.grow`/`table.grow` that returned -1. A module given compiled cannot be instrumented:
   * for it, only a memory at its cap counts as a refused grow.
   */
  growRefused(): boolean {
    if (this.budget !== undefined) return this.meter?.growRefused === true;
    const memory = this.memoryObject;
    return memory !== undefined && memory.buffer.byteLength >= this.maxPages * PAGE;
  }

  /** Throws the engine's error (LinkError, RuntimeError from a start function) when it fails. */
  instantiate(): void {
    const imports: WebAssembly.Imports = this.hostImports
      ? this.hostImports({ moduleName: this.name, memory: () => this.memoryObject })
      : {};
    const plan = this.load.importedMemory;
    let importedMemory: WebAssembly.Memory | undefined;
    if (plan !== undefined) {
      importedMemory = new WebAssembly.Memory({
        initial: plan.initial,
        maximum: plan.maximum,
        shared: plan.shared,
      });
      imports[plan.module] = { ...imports[plan.module], [plan.name]: importedMemory };
    }
    if (this.load.importsAbort) {
      imports.env = {
        abort: (msg: number, file: number, line: number, col: number) => this.abort(msg, file, line, col),
        ...imports.env,
      };
    }
    if (this.load.instrumented) {
      imports[Instrumentation.checkModule] = {
        [Instrumentation.checkName]: this.meter?.check ?? (() => 0x7fffffff),
        [Instrumentation.refusedName]: this.meter?.refused ?? (() => undefined),
      };
    }
    // Dropping the old memory first lets it be collected before the new one is allocated.
    this.memoryObject = undefined;
    this.functions = [];
    const instance = new WebAssembly.Instance(this.load.module, imports);
    const exports = instance.exports;
    if (this.load.instrumented) {
      this.budget = exports[Instrumentation.budgetExport] as WebAssembly.Global;
    }
    this.memoryObject = importedMemory ?? findMemory(exports);
    this.functions = this.load.functions.map(({ name, signature }) => {
      const i64Params = signature.params.map((type) => type === 'i64');
      return {
        fn: exports[name] as WasmFunction,
        signature,
        i64Params,
        hasI64Param: i64Params.includes(true),
      };
    });
    this.alloc = this.load.alloc >= 0 ? this.functions[this.load.alloc]?.fn : undefined;
    this.dealloc = this.load.dealloc >= 0 ? this.functions[this.load.dealloc]?.fn : undefined;
  }

  /** Forget the instance; the next `instantiate()` starts clean. */
  dispose(): void {
    this.memoryObject = undefined;
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
