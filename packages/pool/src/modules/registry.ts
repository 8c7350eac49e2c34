import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  OutputKind,
  type FunctionSignature,
  type ImportedMemoryPlan,
  type ModuleLoad,
} from '@wasmpool/worker';
import { inspectCompiledModule, type CompiledModuleFacts } from './compiled-module';
import { toFilePath } from './file-path';
import { WasmPoolError } from '../errors';
import { MAX_MEMORY_LIMIT_MB, MIN_MEMORY_LIMIT_MB } from '../options';
import type { ModuleInfo, ModuleSpec } from '../types';
import {
  WASM_PAGE_BYTES,
  WasmBinaryError,
  limitMemory,
  parseWasmBinary,
  type WasmBinaryInfo,
} from './wasm-binary';

/** An exported function of a module version, as tasks refer to it. */
export interface FunctionRef {
  readonly version: ModuleVersion;
  /** Index in the version's function table (the worker's too). */
  readonly index: number;
  readonly name: string;
  readonly signature: FunctionSignature;
  readonly defaultOutput: OutputKind;
  /** `module.function(params) -> results`, for messages. */
  readonly label: string;
  /** Learned mean run time (ms), used to size the batches sent to workers. */
  meanRunMs: number;
  /**
   * When every param is an i32, f32 or f64: per param, whether it is an i32. Tasks of such functions
   * are checked and encoded on a shorter path (`isPlainTask`, `encodePlain`).
   */
  readonly plainParams: readonly boolean[] | undefined;
}

/** One registered version of a module. A new registration under the same name makes a new version. */
export class ModuleVersion {
  /** Accepted tasks of this version not yet settled; a replaced version is unloaded at zero. */
  pending = 0;
  active = true;
  completed = 0;
  failed = 0;
  readonly functions = new Map<string, FunctionRef>();

  constructor(
    readonly id: number,
    readonly info: ModuleInfo,
    readonly load: ModuleLoad,
  ) {
    load.functions.forEach(({ name, signature }, index) => {
      this.functions.set(name, {
        version: this,
        index,
        name,
        signature,
        defaultOutput: defaultOutputOf(signature),
        label: `${info.name}.${name}${formatSignature(signature)}`,
        meanRunMs: -1,
        plainParams: signature.params.every((type) => type === 'i32' || type === 'f32' || type === 'f64')
          ? signature.params.map((type) => type === 'i32')
          : undefined,
      });
    });
  }

  get name(): string {
    return this.info.name;
  }

  get hasAlloc(): boolean {
    return this.load.alloc >= 0;
  }
}

export function formatSignature({ params, results }: FunctionSignature): string {
  const out = results.length === 0 ? 'void' : results.length === 1 ? results[0] : `(${results.join(', ')})`;
  return `(${params.join(', ')}) -> ${out}`;
}

function defaultOutputOf({ results }: FunctionSignature): OutputKind {
  if (results[0] === 'unknown') return OutputKind.auto;
  if (results.length === 0) return OutputKind.void;
  if (results.length > 1) return OutputKind.multi;
  return results[0] === 'i64' ? OutputKind.bigint : OutputKind.number;
}

const PAGES_PER_MIB = (1024 * 1024) / WASM_PAGE_BYTES;

function mib(pages: number): string {
  return `${+(pages / PAGES_PER_MIB).toFixed(4)} MiB (${pages} pages)`;
}

/** The absolute path of a module's `hostImports` file (a path or a `file:` URL), which must exist. */
function hostImportsPath(name: string, location: string | URL): string {
  let path: string;
  try {
    path = toFilePath(location);
  } catch (error) {
    throw new WasmPoolError(
      'INVALID_CONFIG',
      `modules.${name}.hostImports must be a file path or a file: URL; ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!existsSync(path)) {
    throw new WasmPoolError('INVALID_CONFIG', `modules.${name}.hostImports: no file at ${path}`);
  }
  return path;
}

async function readSource(name: string, source: ModuleSpec['source']): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source === 'string' || source instanceof URL) {
    let path = String(source);
    try {
      path = toFilePath(source);
      return new Uint8Array(await readFile(path));
    } catch (error) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}': cannot read ${path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  throw new WasmPoolError(
    'INVALID_MODULE',
    `module '${name}': source must be a file path, a file URL, a Uint8Array, an ArrayBuffer or a WebAssembly.Module`,
  );
}

async function engineReason(bytes: Uint8Array): Promise<string | undefined> {
  try {
    await WebAssembly.compile(bytes);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Turns module specs into compiled, memory-capped module versions and keeps track of them by name
 * (for new tasks) and by id (for tasks already accepted against an older version).
 */
export class ModuleRegistry {
  private readonly byName = new Map<string, ModuleVersion>();
  private readonly byId = new Map<number, ModuleVersion>();
  private nextId = 1;

  constructor(private readonly defaultMemoryLimitMb: number) {}

  /** Loads, checks and compiles a module; it is not visible to tasks until `activate()`. */
  async prepare(name: string, spec: ModuleSpec): Promise<ModuleVersion> {
    if (typeof name !== 'string' || name.length === 0) {
      throw new WasmPoolError('INVALID_CONFIG', 'a module name must be a non-empty string');
    }
    if (typeof spec !== 'object' || spec === null) {
      throw new WasmPoolError('INVALID_CONFIG', `modules.${name} must be a module spec object with a source`);
    }
    const memoryLimitMb = spec.memoryLimitMb ?? this.defaultMemoryLimitMb;
    if (
      typeof memoryLimitMb !== 'number' ||
      !(memoryLimitMb >= MIN_MEMORY_LIMIT_MB && memoryLimitMb <= MAX_MEMORY_LIMIT_MB)
    ) {
      throw new WasmPoolError(
        'INVALID_CONFIG',
        `modules.${name}.memoryLimitMb must be a number from ${MIN_MEMORY_LIMIT_MB} (one 64 KiB page) to ${MAX_MEMORY_LIMIT_MB} (4 GiB); got ${String(memoryLimitMb)}`,
      );
    }
    if (
      spec.sha256 !== undefined &&
      !(typeof spec.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(spec.sha256))
    ) {
      throw new WasmPoolError('INVALID_CONFIG', `modules.${name}.sha256 must be 64 hexadecimal digits`);
    }
    const hostImports = spec.hostImports === undefined ? undefined : hostImportsPath(name, spec.hostImports);
    const maxPages = Math.max(1, Math.floor(memoryLimitMb * PAGES_PER_MIB));
    if (spec.source instanceof WebAssembly.Module) {
      return this.prepareCompiled(name, spec, spec.source, memoryLimitMb, maxPages, hostImports);
    }
    const bytes = await readSource(name, spec.source);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (spec.sha256 !== undefined && spec.sha256.toLowerCase() !== sha256) {
      throw new WasmPoolError(
        'INTEGRITY_MISMATCH',
        `module '${name}': expected sha256 ${spec.sha256.toLowerCase()}, the bytes have ${sha256}`,
      );
    }
    let info: WasmBinaryInfo;
    try {
      info = parseWasmBinary(bytes);
    } catch (error) {
      const reason = (await engineReason(bytes)) ?? (error as Error).message;
      throw new WasmPoolError('INVALID_MODULE', `module '${name}' is not valid WebAssembly: ${reason}`, {
        cause: error,
      });
    }
    const limited = this.applyMemoryLimit(name, bytes, info, maxPages);
    const importedMemory = this.importedMemoryPlan(name, info, maxPages);
    const importsAbort = this.checkImports(name, info.imports, hostImports !== undefined);
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(limited);
    } catch (error) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}' does not compile: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const functions = info.exports
      .filter((entry) => entry.kind === 'function' && entry.signature !== undefined)
      .map((entry) => ({ name: entry.name, signature: entry.signature as FunctionSignature }));
    return this.version(
      { name, sha256, size: bytes.length, memoryLimitMb, exports: functions },
      {
        module,
        maxPages,
        importsAbort,
        checkMemoryAfterCall: false,
        ...(importedMemory === undefined ? {} : { importedMemory }),
        ...(hostImports === undefined ? {} : { hostImports }),
      },
    );
  }

  private version(
    info: ModuleInfo,
    load: Omit<ModuleLoad, 'id' | 'name' | 'functions' | 'alloc' | 'dealloc'>,
  ): ModuleVersion {
    const functions = info.exports;
    const id = this.nextId++;
    return new ModuleVersion(id, info, {
      ...load,
      id,
      name: info.name,
      functions,
      alloc: functions.findIndex((f) => f.name === 'alloc'),
      dealloc: functions.findIndex((f) => f.name === 'dealloc'),
    });
  }

  /**
   * A module given compiled: its types are hidden, so exports are known by arity only, and a memory
   * of its own cannot be capped in the binary (tasks that leave it above the cap fail instead).
   */
  private prepareCompiled(
    name: string,
    spec: ModuleSpec,
    module: WebAssembly.Module,
    memoryLimitMb: number,
    maxPages: number,
    hostImports: string | undefined,
  ): ModuleVersion {
    if (spec.sha256 !== undefined) {
      throw new WasmPoolError(
        'INVALID_CONFIG',
        `modules.${name}.sha256 needs the module's bytes, not a compiled module`,
      );
    }
    const importsAbort = this.checkImports(
      name,
      WebAssembly.Module.imports(module),
      hostImports !== undefined,
    );
    let facts: CompiledModuleFacts;
    try {
      facts = inspectCompiledModule(module);
    } catch (error) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}' cannot be used compiled (${(error as Error).message}); pass its bytes instead`,
        { cause: error },
      );
    }
    if (facts.definedMemoryPages !== undefined && facts.definedMemoryPages > maxPages) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}': its initial memory of ${mib(facts.definedMemoryPages)} exceeds its memory limit of ${mib(maxPages)}`,
      );
    }
    let importedMemory: ImportedMemoryPlan | undefined;
    if (facts.importedMemory !== undefined) {
      const { initial, maximum } = facts.importedMemory;
      if (initial > maxPages) {
        throw new WasmPoolError(
          'INVALID_MODULE',
          `module '${name}': its imported memory's initial size of ${mib(initial)} exceeds its memory limit of ${mib(maxPages)}`,
        );
      }
      importedMemory = {
        ...facts.importedMemory,
        maximum: Math.min(maximum ?? maxPages, maxPages),
        shared: false,
      };
    }
    return this.version(
      { name, sha256: '', size: 0, memoryLimitMb, exports: facts.functions },
      {
        module,
        maxPages,
        importsAbort: importsAbort || facts.importsAbort,
        checkMemoryAfterCall: facts.definedMemoryPages !== undefined,
        ...(importedMemory === undefined ? {} : { importedMemory }),
        ...(hostImports === undefined ? {} : { hostImports }),
      },
    );
  }

  private applyMemoryLimit(
    name: string,
    bytes: Uint8Array,
    info: WasmBinaryInfo,
    maxPages: number,
  ): Uint8Array {
    for (const memory of info.memories) {
      if (memory.memory64) {
        throw new WasmPoolError('INVALID_MODULE', `module '${name}': 64-bit memories are not supported`);
      }
      if (memory.initial > maxPages) {
        throw new WasmPoolError(
          'INVALID_MODULE',
          `module '${name}': its initial memory of ${mib(memory.initial)} exceeds its memory limit of ${mib(maxPages)}`,
        );
      }
    }
    if (info.memories.length === 0) return bytes;
    try {
      return limitMemory(bytes, maxPages);
    } catch (error) {
      if (error instanceof WasmBinaryError)
        throw new WasmPoolError('INVALID_MODULE', `module '${name}': ${error.message}`);
      throw error;
    }
  }

  private importedMemoryPlan(
    name: string,
    info: WasmBinaryInfo,
    maxPages: number,
  ): ImportedMemoryPlan | undefined {
    const imported = info.imports.find((entry) => entry.kind === 'memory');
    if (imported?.memory === undefined) return undefined;
    const { initial, maximum, shared, memory64 } = imported.memory;
    if (memory64)
      throw new WasmPoolError('INVALID_MODULE', `module '${name}': 64-bit memories are not supported`);
    if (initial > maxPages) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}': its imported memory's initial size of ${mib(initial)} exceeds its memory limit of ${mib(maxPages)}`,
      );
    }
    return {
      module: imported.module,
      name: imported.name,
      initial,
      maximum: Math.min(maximum ?? maxPages, maxPages),
      shared,
    };
  }

  /** Returns whether the module imports AssemblyScript's `env.abort`; refuses imports nobody provides. */
  private checkImports(
    name: string,
    imports: readonly { module: string; name: string; kind: string }[],
    hasHostImports: boolean,
  ): boolean {
    let importsAbort = false;
    const missing: string[] = [];
    let memories = 0;
    for (const entry of imports) {
      if (entry.kind === 'memory' && memories++ === 0) continue;
      if (entry.kind === 'function' && entry.module === 'env' && entry.name === 'abort') {
        importsAbort = true;
        continue;
      }
      if (!hasHostImports) missing.push(`${entry.module}.${entry.name} (${entry.kind})`);
    }
    if (missing.length > 0) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}' imports ${missing.join(', ')}, which nothing provides; give the module spec a hostImports file`,
      );
    }
    return importsAbort;
  }

  /** Makes a prepared version the one new tasks use; returns the version it replaces. */
  activate(version: ModuleVersion): ModuleVersion | undefined {
    const previous = this.byName.get(version.name);
    if (previous !== undefined) previous.active = false;
    this.byName.set(version.name, version);
    this.byId.set(version.id, version);
    return previous;
  }

  /** Removes the name; the version stays loaded until its accepted tasks have settled. */
  deactivate(name: string): ModuleVersion | undefined {
    const version = this.byName.get(name);
    if (version === undefined) return undefined;
    version.active = false;
    this.byName.delete(name);
    return version;
  }

  /** Makes a version known by id (new workers load it) before it is active. */
  stage(version: ModuleVersion): void {
    this.byId.set(version.id, version);
  }

  /** Forgets a version that is neither active nor needed by any task. */
  drop(version: ModuleVersion): void {
    this.byId.delete(version.id);
  }

  get(name: string): ModuleVersion | undefined {
    return this.byName.get(name);
  }

  /** Every version a new worker must load. */
  loads(): ModuleLoad[] {
    return [...this.byId.values()].map((version) => version.load);
  }

  active(): ModuleVersion[] {
    return [...this.byName.values()];
  }

  versions(): IterableIterator<ModuleVersion> {
    return this.byId.values();
  }
}
