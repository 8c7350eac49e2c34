/**
 * What `wasmpool inspect` shows of a binary: imports and exports with their types, and the limits of its
 * memories and tables. Read with `wasmparser`; the engine validates the module separately
 * (`WebAssembly.compile`), as the pool would.
 */
import {
  BinaryReader,
  bytesToString,
  type IExportEntry,
  type IFunctionEntry,
  type IGlobalType,
  type IImportEntry,
  type IMemoryType,
  type IResizableLimits,
  type ITableType,
  type ITypeEntry,
  type Type,
} from 'wasmparser';

/** Limits of a memory (in 64 KiB pages) or a table (in elements). */
export interface Limits {
  initial: number;
  maximum?: number;
}

export type Descriptor =
  | { kind: 'function'; params: string[]; results: string[] }
  | { kind: 'memory'; limits: Limits; shared: boolean }
  | { kind: 'table'; element: string; limits: Limits }
  | { kind: 'global'; type: string; mutable: boolean }
  | { kind: 'tag' };

export interface WasmFacts {
  imports: ({ module: string; name: string } & Descriptor)[];
  exports: ({ name: string } & Descriptor)[];
  /** Memories and tables the module defines (imported ones are among the imports). */
  memories: { limits: Limits; shared: boolean }[];
  tables: { element: string; limits: Limits }[];
  /** Index of the start function, when there is one. */
  start?: number;
}

// wasmparser declares its enums as `const enum`, which isolated modules cannot read: these are its values.
const State = {
  error: -1,
  typeEntry: 11,
  importEntry: 12,
  functionEntry: 13,
  tableEntry: 14,
  memoryEntry: 15,
  beginGlobalEntry: 39,
  exportEntry: 17,
  startEntry: 22,
  beginSection: 3,
} as const;
const Section = { code: 10, data: 11 } as const;
const Kind = { function: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;
const TYPE_NAMES: Record<number, string> = {
  [-1]: 'i32',
  [-2]: 'i64',
  [-3]: 'f32',
  [-4]: 'f64',
  [-5]: 'v128',
  [-16]: 'funcref',
  [-17]: 'externref',
  [-18]: 'anyref',
  [-19]: 'eqref',
  [-20]: 'i31ref',
  [-23]: 'exnref',
};

function typeName(type: Type): string {
  return TYPE_NAMES[type.kind] ?? (type.isIndex ? `type ${type.index}` : 'ref');
}

function limits(l: IResizableLimits): Limits {
  return l.maximum === undefined ? { initial: l.initial } : { initial: l.initial, maximum: l.maximum };
}

/** Reads the facts of a binary; throws when it is not well-formed. */
export function readWasmFacts(bytes: Uint8Array): WasmFacts {
  const types: { params: string[]; results: string[] }[] = [];
  const functions: number[] = []; // type index of each function, imported ones first
  const memories: Descriptor[] = [];
  const tables: Descriptor[] = [];
  const globals: Descriptor[] = [];
  const facts: WasmFacts = { imports: [], exports: [], memories: [], tables: [] };
  const exportEntries: IExportEntry[] = [];
  const signature = (typeIndex: number): Descriptor => ({
    kind: 'function',
    ...(types[typeIndex] ?? { params: [], results: [] }),
  });

  const reader = new BinaryReader();
  const copy = new Uint8Array(bytes); // setData wants an ArrayBuffer of its own
  reader.setData(copy.buffer, 0, copy.byteLength, true);
  while (reader.read()) {
    const state: number = reader.state;
    switch (state) {
      case State.error: // read() keeps returning true in the error state
        throw reader.error;
      case State.beginSection: {
        const id: number = (reader.result as { id: number }).id;
        if (id === Section.code || id === Section.data) reader.skipSection();
        break;
      }
      case State.typeEntry: {
        const entry = reader.result as ITypeEntry;
        types.push({
          params: (entry.params ?? []).map(typeName),
          results: (entry.returns ?? []).map(typeName),
        });
        break;
      }
      case State.importEntry: {
        const entry = reader.result as IImportEntry;
        const where = { module: bytesToString(entry.module), name: bytesToString(entry.field) };
        const kind: number = entry.kind;
        let descriptor: Descriptor;
        if (kind === Kind.function) {
          functions.push(entry.funcTypeIndex ?? -1);
          descriptor = signature(entry.funcTypeIndex ?? -1);
        } else if (kind === Kind.memory) {
          const type = entry.type as IMemoryType;
          descriptor = { kind: 'memory', limits: limits(type.limits), shared: type.shared };
          memories.push(descriptor);
        } else if (kind === Kind.table) {
          const type = entry.type as ITableType;
          descriptor = { kind: 'table', element: typeName(type.elementType), limits: limits(type.limits) };
          tables.push(descriptor);
        } else if (kind === Kind.global) {
          const type = entry.type as IGlobalType;
          descriptor = { kind: 'global', type: typeName(type.contentType), mutable: type.mutability === 1 };
          globals.push(descriptor);
        } else {
          descriptor = { kind: 'tag' };
        }
        facts.imports.push({ ...where, ...descriptor });
        break;
      }
      case State.functionEntry:
        functions.push((reader.result as IFunctionEntry).typeIndex);
        break;
      case State.tableEntry: {
        const type = reader.result as ITableType;
        const table = { element: typeName(type.elementType), limits: limits(type.limits) };
        facts.tables.push(table);
        tables.push({ kind: 'table', ...table });
        break;
      }
      case State.memoryEntry: {
        const type = reader.result as IMemoryType;
        const memory = { limits: limits(type.limits), shared: type.shared };
        facts.memories.push(memory);
        memories.push({ kind: 'memory', ...memory });
        break;
      }
      case State.beginGlobalEntry: {
        const type = (reader.result as { type: IGlobalType }).type;
        globals.push({ kind: 'global', type: typeName(type.contentType), mutable: type.mutability === 1 });
        reader.skipInitExpression();
        break;
      }
      case State.exportEntry:
        exportEntries.push(reader.result as IExportEntry);
        break;
      case State.startEntry:
        facts.start = (reader.result as { index: number }).index;
        break;
      default:
    }
  }

  for (const entry of exportEntries) {
    const kind: number = entry.kind;
    const byKind: Record<number, (i: number) => Descriptor | undefined> = {
      [Kind.function]: (i) => (i < functions.length ? signature(functions[i]!) : undefined),
      [Kind.memory]: (i) => memories[i],
      [Kind.table]: (i) => tables[i],
      [Kind.global]: (i) => globals[i],
    };
    const descriptor = byKind[kind]?.(entry.index) ?? { kind: 'tag' as const };
    facts.exports.push({ name: bytesToString(entry.field), ...descriptor });
  }
  return facts;
}
