import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  OutputKind,
  type FunctionSignature,
  type ImportedMemoryPlan,
  type ImportedTablePlan,
  type ModuleLoad,
  type RealCall,
  type ValueType,
} from '@wasmpool/worker';
import { readCompiledModuleBytes } from './compiled-module';
import { toFilePath } from './file-path';
import { instrumentModule } from './instrument';
import { checkFuel } from '../tasks/fuel';
import { WasmPoolError, errorText } from '../errors';
import { ownCopy } from '../typed-arrays';
import {
  DEFAULT_TABLE_LIMIT,
  MAX_MEMORY_LIMIT_MB,
  MAX_TABLE_ELEMENTS_PER_INSTANCE,
  MAX_TABLE_LIMIT,
  MIN_MEMORY_LIMIT_MB,
} from '../options';
import type { ModuleInfo, ModuleSpec } from '../types';
import { WASI_MODULE, planRealModule, type RealModulePlan } from './real-modules';
import { unsendableReason } from './sendable';
import {
  WASM_PAGE_BYTES,
  WasmBinaryError,
  capResources,
  parseWasmBinary,
  type WasmBinaryInfo,
} from './wasm-binary';

/** Name under which a memory the module keeps to itself is exported, so the pool can see it. */
export const HIDDEN_MEMORY_EXPORT = '__wasmpool_memory';

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
  /** Why tasks cannot call this function (a type the wire cannot carry), or undefined. */
  readonly refusal: string | undefined;
  /** Set for a function called through a request object: a WASI command, an adapter or AssemblyScript function. */
  readonly real: RealCall | undefined;
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
      const label = `${info.name}.${name}${formatSignature(signature)}`;
      this.functions.set(name, {
        version: this,
        index,
        name,
        signature,
        defaultOutput: defaultOutputOf(signature),
        label,
        refusal: unsendableReason(label, signature),
        meanRunMs: -1,
        plainParams: signature.params.every((type) => type === 'i32' || type === 'f32' || type === 'f64')
          ? signature.params.map((type) => type === 'i32')
          : undefined,
        real: load.real?.calls[index] ?? undefined,
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

/** The fields of a module spec, each read once (own or inherited, as the pool reads them). */
const SPEC_FIELDS = [
  'source',
  'memoryLimitMb',
  'tableLimit',
  'sha256',
  'hostImports',
  'fuel',
  'instrument',
  'wasi',
  'init',
  'abi',
  'adapter',
] as const satisfies readonly (keyof ModuleSpec)[];

function readSpec(spec: ModuleSpec): ModuleSpec {
  const copy: Record<string, unknown> = {};
  for (const field of SPEC_FIELDS) {
    const value: unknown = spec[field];
    if (value !== undefined) copy[field] = value;
  }
  return copy as unknown as ModuleSpec;
}

/**
 * The module's bytes, as the pool's own copy: the digest, the checks and the compiler all see the
 * same bytes, whatever the caller does with its buffer meanwhile (read through the engine's
 * getters: a subclass's `length` cannot shorten or lengthen them).
 */
async function readSource(name: string, source: ModuleSpec['source']): Promise<Uint8Array> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = ownCopy(source instanceof ArrayBuffer ? new Uint8Array(source) : source);
    } catch {
      bytes = undefined;
    }
    if (bytes === undefined) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}': its source cannot be read (a detached buffer, or a proxy)`,
      );
    }
    return bytes;
  }
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

/** Whether function `index` is called directly (not through a request object). */
function isDirect(real: RealModulePlan | undefined, index: number): boolean {
  return (real?.load.calls[index] ?? null) === null;
}

/**
 * Whether an allocator export has the shape the bytes convention calls it with: `alloc(len: i32)
 * -> i32`, `dealloc(ptr: i32, len: i32)` or `free(ptr: i32)` (their results, if any, are ignored). One of another shape is
 * not used: called with the wrong types it would fail every task that passes bytes, after the fact.
 * A compiled module's hidden types ('unknown') are taken on trust.
 */
function fits(signature: FunctionSignature, params: ValueType[], results?: ValueType[]): boolean {
  const matches = (types: ValueType[], wanted: ValueType[]): boolean =>
    types.length === wanted.length && types.every((type, i) => type === wanted[i] || type === 'unknown');
  return matches(signature.params, params) && (results === undefined || matches(signature.results, results));
}

/**
 * Turns module specs into compiled, memory-capped module versions and keeps track of them by name
 * (for new tasks) and by id (for tasks already accepted against an older version).
 */
export class ModuleRegistry {
  private readonly byName = new Map<string, ModuleVersion>();
  private readonly byId = new Map<number, ModuleVersion>();
  private nextId = 1;

  private readonly defaultTableLimit: number;
  private readonly readTimeoutMs: number;

  /**
   * `limits`: the pool's default `tableLimit`, and `instantiateTimeoutMs`, which also bounds the
   * reading back of a compiled module's bytes.
   */
  constructor(
    private readonly defaultMemoryLimitMb: number,
    limits: { tableLimit?: number; instantiateTimeoutMs?: number } = {},
  ) {
    this.defaultTableLimit = limits.tableLimit ?? DEFAULT_TABLE_LIMIT;
    this.readTimeoutMs = limits.instantiateTimeoutMs ?? 5_000;
  }

  /**
   * Loads, checks and compiles a module; it is not visible to tasks until `activate()`. The spec's
   * fields are read once; whatever the caller's objects throw (a getter, a proxy trap, in the spec
   * or in its wasi/abi/init values) is INVALID_CONFIG.
   */
  async prepare(name: string, spec: ModuleSpec): Promise<ModuleVersion> {
    if (typeof name !== 'string' || name.length === 0) {
      throw new WasmPoolError('INVALID_CONFIG', 'a module name must be a non-empty string');
    }
    if (typeof spec !== 'object' || spec === null) {
      throw new WasmPoolError('INVALID_CONFIG', `modules.${name} must be a module spec object with a source`);
    }
    try {
      return await this.prepareSpec(name, readSpec(spec));
    } catch (error) {
      if (error instanceof WasmPoolError) throw error;
      throw new WasmPoolError(
        'INVALID_CONFIG',
        `modules.${name}: reading the spec threw: ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  private async prepareSpec(name: string, spec: ModuleSpec): Promise<ModuleVersion> {
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
    const tableLimit = spec.tableLimit ?? this.defaultTableLimit;
    if (!(Number.isInteger(tableLimit) && tableLimit >= 0 && tableLimit <= MAX_TABLE_LIMIT)) {
      throw new WasmPoolError(
        'INVALID_CONFIG',
        `modules.${name}.tableLimit must be an integer from 0 to ${MAX_TABLE_LIMIT} (table elements); got ${String(tableLimit)}`,
      );
    }
    const maxPages = Math.max(1, Math.floor(memoryLimitMb * PAGES_PER_MIB));
    const fuel = checkFuel(spec.fuel, `modules.${name}.fuel`, 'INVALID_CONFIG');
    const instrument = spec.instrument ?? true;
    if (typeof instrument !== 'boolean') {
      throw new WasmPoolError('INVALID_CONFIG', `modules.${name}.instrument must be true or false`);
    }
    if (fuel !== undefined && !instrument) {
      throw new WasmPoolError('INVALID_CONFIG', `modules.${name}.fuel needs instrument: true`);
    }
    const bytes =
      spec.source instanceof WebAssembly.Module
        ? await this.compiledBytes(name, spec.source)
        : await readSource(name, spec.source);
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
    this.checkInitialSizes(name, info, maxPages, tableLimit);
    const importedMemory = this.importedMemoryPlan(name, info, maxPages);
    const importedTables = this.importedTablePlans(info, tableLimit);
    const limited = this.capResources(name, bytes, maxPages, tableLimit);
    const importsAbort = this.checkImports(name, info.imports, hostImports !== undefined, spec);
    // Checkpoints (interruption, fuel) and refused-grow flags; see modules/instrument. Metered
    // checkpoints (exact fuel) only for a module with fuel: they cost hot loops far more.
    const code = instrument
      ? instrumentModule(name, limited, fuel === undefined ? 'interruptible' : 'metered')
      : limited;
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(code);
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
    const real = await planRealModule(name, spec, functions);
    return this.version(
      { name, sha256, size: bytes.length, memoryLimitMb, tableLimit, exports: functions },
      {
        module,
        maxPages,
        importsAbort,
        checkMemoryAfterCall: false,
        instrumented: instrument,
        ...(fuel === undefined ? {} : { fuel }),
        ...(importedMemory === undefined ? {} : { importedMemory }),
        ...(importedTables.length === 0 ? {} : { importedTables }),
        ...(hostImports === undefined ? {} : { hostImports }),
      },
      real,
    );
  }

  private version(
    info: ModuleInfo,
    load: Omit<ModuleLoad, 'id' | 'name' | 'functions' | 'alloc' | 'dealloc'>,
    real?: RealModulePlan,
  ): ModuleVersion {
    const functions = real?.functions ?? info.exports;
    const id = this.nextId++;
    const allocName = real?.alloc ?? 'alloc';
    const deallocName = real?.dealloc ?? 'dealloc';
    return new ModuleVersion(
      id,
      real === undefined || real.adapterFunctions.length === 0
        ? info
        : { ...info, adapterFunctions: real.adapterFunctions },
      {
        ...load,
        id,
        name: info.name,
        functions,
        alloc: functions.findIndex(
          (f, i) => f.name === allocName && isDirect(real, i) && fits(f.signature, ['i32'], ['i32']),
        ),
        dealloc: functions.findIndex(
          (f, i) =>
            f.name === deallocName &&
            isDirect(real, i) &&
            // free(ptr) takes the pointer alone: the length it is also given is ignored
            (fits(f.signature, ['i32', 'i32']) || fits(f.signature, ['i32'])),
        ),
        ...(real === undefined ? {} : { real: real.load }),
      },
    );
  }

  /** The bytes of a module given compiled (see compiled-module.ts); INVALID_MODULE when they cannot be had. */
  private async compiledBytes(name: string, module: WebAssembly.Module): Promise<Uint8Array> {
    try {
      return await readCompiledModuleBytes(module, this.readTimeoutMs);
    } catch (error) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}' was given compiled and ${(error as Error).message}; without them its memories and tables cannot be capped, so pass its bytes instead`,
        { cause: error },
      );
    }
  }

  /** Refuses 64-bit memories, and memories and tables that start larger than their caps. */
  private checkInitialSizes(name: string, info: WasmBinaryInfo, maxPages: number, tableLimit: number): void {
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
    const tables = [
      ...info.imports.flatMap((entry) => (entry.table === undefined ? [] : [entry.table])),
      ...info.tables,
    ];
    let total = 0;
    tables.forEach((table, index) => {
      if (table.limits.initial > tableLimit) {
        throw new WasmPoolError(
          'INVALID_MODULE',
          `module '${name}': its table ${index} of ${table.limits.initial} elements exceeds its table limit of ${tableLimit} (tableLimit)`,
        );
      }
      total += Math.min(table.limits.maximum ?? tableLimit, tableLimit);
    });
    if (total > MAX_TABLE_ELEMENTS_PER_INSTANCE) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}': its ${tables.length} tables may grow to ${total} elements together, more than the ${MAX_TABLE_ELEMENTS_PER_INSTANCE} one instance may hold (tables live on the worker's heap); declare smaller maxima or lower tableLimit`,
      );
    }
  }

  /** Caps every memory and table in the binary, and exports a memory the module keeps to itself. */
  private capResources(name: string, bytes: Uint8Array, maxPages: number, tableLimit: number): Uint8Array {
    try {
      return capResources(bytes, {
        memoryPages: maxPages,
        tableElements: tableLimit,
        exportMemoryAs: HIDDEN_MEMORY_EXPORT,
      });
    } catch (error) {
      if (error instanceof WasmBinaryError)
        throw new WasmPoolError('INVALID_MODULE', `module '${name}': ${error.message}`);
      throw error;
    }
  }

  private importedTablePlans(info: WasmBinaryInfo, tableLimit: number): ImportedTablePlan[] {
    return info.imports.flatMap(({ module, name, table }) =>
      table === undefined
        ? []
        : [
            {
              module,
              name,
              element: table.element,
              initial: table.limits.initial,
              maximum: Math.min(table.limits.maximum ?? tableLimit, tableLimit),
            },
          ],
    );
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
    spec: ModuleSpec,
  ): boolean {
    let importsAbort = false;
    const missing: string[] = [];
    let memories = 0;
    const wasi = spec.wasi !== undefined && spec.wasi !== false;
    for (const entry of imports) {
      if (wasi && entry.module === WASI_MODULE && entry.kind === 'function') continue;
      // The worker creates the first memory and every table a module imports (under their caps).
      if (entry.kind === 'memory' && memories++ === 0) continue;
      if (entry.kind === 'table') continue;
      if (entry.kind === 'function' && entry.module === 'env' && entry.name === 'abort') {
        importsAbort = true;
        continue;
      }
      if (!hasHostImports) missing.push(`${entry.module}.${entry.name} (${entry.kind})`);
    }
    if (missing.length > 0) {
      throw new WasmPoolError(
        'INVALID_MODULE',
        `module '${name}' imports ${missing.join(', ')}, which nothing provides; give the module spec ${missing.some((m) => m.startsWith(WASI_MODULE)) ? '`wasi: true` or ' : ''}a hostImports file`,
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

  /**
   * Takes a version that cannot be instantiated out of use: new workers no longer load it, and if it
   * was active its name is removed. Returns true if it was active.
   */
  quarantine(id: number): boolean {
    const version = this.byId.get(id);
    if (version === undefined) return false;
    this.byId.delete(id);
    if (this.byName.get(version.name) !== version) return false;
    version.active = false;
    this.byName.delete(version.name);
    return true;
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
