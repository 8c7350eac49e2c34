/**
 * A small, dependency-free reader and rewriter of the WebAssembly binary format.
 *
 * It reads only what the pool needs (types, imports, functions, memories, tags, exports, start) and skips every
 * other section by its size, so the code section is never decoded. See the "Binary Format" chapter of the
 * WebAssembly core specification, plus the threads (shared memory), memory64 and exception-handling (tags)
 * proposals.
 */
import type { FunctionSignature, ValueType } from '../types';
import { ByteReader } from './bytes';

/** Size of one WebAssembly page in bytes (64 KiB). */
export const WASM_PAGE_BYTES = 65536;

/** Limits of a linear memory, in pages of {@link WASM_PAGE_BYTES}. */
export interface MemoryLimits {
  initial: number;
  maximum?: number;
  shared: boolean;
  memory64: boolean;
}

/** The kind of an import or export. */
export type ExternalKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

/** A table's element type and limits (in elements; `shared` and `memory64` are always false). */
export interface TableType {
  element: 'funcref' | 'externref';
  limits: MemoryLimits;
}

/**
 * One entry of the import section. `signature` is set for functions and tags, `memory` for memories,
 * `table` for tables.
 */
export interface WasmImport {
  module: string;
  name: string;
  kind: ExternalKind;
  signature?: FunctionSignature;
  memory?: MemoryLimits;
  table?: TableType;
}

/** One entry of the export section. `signature` is set for functions and tags, `memory` for memories. */
export interface WasmExport {
  name: string;
  kind: ExternalKind;
  signature?: FunctionSignature;
  memory?: MemoryLimits;
}

/** What {@link parseWasmBinary} reads from a module. */
export interface WasmBinaryInfo {
  imports: WasmImport[];
  exports: WasmExport[];
  /** memories defined by the module itself (memory section), in index order after imported ones */
  memories: MemoryLimits[];
  /** tables defined by the module itself (table section), in index order after imported ones */
  tables: TableType[];
  hasStart: boolean;
}

/** Thrown for malformed or unsupported input; message says what and at which byte offset. */
export class WasmBinaryError extends Error {
  /** Byte offset in the input where the problem was found, when there is one. */
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} at byte offset ${offset}`);
    this.name = 'WasmBinaryError';
    this.offset = offset;
  }
}

const KINDS: readonly ExternalKind[] = ['function', 'table', 'memory', 'global', 'tag'];
const VALUE_TYPES: Readonly<Record<number, ValueType>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};
const utf8 = new TextDecoder('utf-8', { fatal: true });
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/**
 * A bounds-checked cursor over the input (the LEB128 and byte reads of `ByteReader`); `end` is the
 * end of the section being read. Errors are WasmBinaryErrors naming the section.
 */
class Reader extends ByteReader {
  /** Id of the section being read, or -1 outside sections. */
  section = -1;
  /** Offset just after the initial size of the last limits read. */
  initialEnd = 0;

  constructor(bytes: Uint8Array) {
    super(bytes);
  }

  override fail(what: string, at = this.pos): never {
    throw new WasmBinaryError(what, at);
  }

  override u8(): number {
    if (this.pos >= this.end) this.fail(this.endOfInput());
    return this.bytes[this.pos++] as number;
  }

  override skip(n: number): void {
    if (n > this.end - this.pos) this.fail(this.endOfInput());
    this.pos += n;
  }

  private endOfInput(): string {
    return this.section < 0 ? 'unexpected end of input' : `unexpected end of section ${this.section}`;
  }

  /** Unsigned LEB128, at most 10 bytes; values beyond Number.MAX_SAFE_INTEGER are refused. */
  u64(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0, scale = 1; ; i++, scale *= 128) {
      const b = this.u8();
      if (i === 9 && b > 1) this.fail('LEB128 u64 too long or too large', start);
      result += (b & 0x7f) * scale;
      if (result > Number.MAX_SAFE_INTEGER) this.fail('64-bit value too large to represent', start);
      if (!(b & 0x80)) return result;
    }
  }

  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    try {
      return utf8.decode(this.bytes.subarray(start, start + len));
    } catch {
      return this.fail('name is not valid UTF-8', start);
    }
  }

  valueType(): ValueType {
    const at = this.pos;
    const b = this.u8();
    const t = VALUE_TYPES[b];
    if (t === undefined)
      this.fail(`unsupported value type ${hex(b)} (typed references/GC are not supported)`, at);
    return t;
  }

  kind(what: string): ExternalKind {
    const b = this.u8();
    return KINDS[b] ?? this.fail(`unknown ${what} kind ${hex(b)}`, this.pos - 1);
  }

  valueTypes(): ValueType[] {
    const n = this.u32();
    const out: ValueType[] = [];
    for (let i = 0; i < n; i++) out.push(this.valueType());
    return out;
  }

  /** Memory or table limits (flags: 0x01 has maximum, 0x02 shared, 0x04 64-bit). */
  limits(what: 'memory' | 'table'): MemoryLimits {
    const at = this.pos;
    const flags = this.u8();
    if (flags & ~0x07) this.fail(`unsupported ${what} limits flags ${hex(flags)}`, at);
    const memory64 = (flags & 0x04) !== 0;
    const shared = (flags & 0x02) !== 0;
    const initial = memory64 ? this.u64() : this.u32();
    this.initialEnd = this.pos;
    const limits: MemoryLimits = { initial, shared, memory64 };
    if (flags & 0x01) limits.maximum = memory64 ? this.u64() : this.u32();
    return limits;
  }
}

/** A memory type's byte range [start, end) in the memory section; the maximum, if any, follows initialEnd. */
type MemoryEntry = { limits: MemoryLimits; start: number; initialEnd: number; end: number };

/** Where one memory or table type's limits sit, for {@link capResources}. */
interface LimitSite {
  kind: 'memory' | 'table';
  /** Index in its index space (imports first). */
  index: number;
  imported: boolean;
  limits: MemoryLimits;
  start: number;
  initialEnd: number;
  end: number;
}

/** A section's byte range: `start` is its id byte, `contentStart` follows its size. */
interface SectionSite {
  id: number;
  start: number;
  contentStart: number;
  end: number;
}

/** The parsed info, plus where the memory section sits so {@link limitMemory} can rewrite it. */
interface ParsedModule {
  info: WasmBinaryInfo;
  sections: SectionSite[];
  limitSites: LimitSite[];
  /** Where the export section's entry count ends, when there is one. */
  exportCountEnd?: number;
  exportCount: number;
  /** start: section id byte; countEnd: after the entry count; firstIndex: index of the first defined memory */
  memorySection?: {
    start: number;
    contentStart: number;
    countEnd: number;
    end: number;
    firstIndex: number;
    entries: MemoryEntry[];
  };
}

function parse(bytes: Uint8Array): ParsedModule {
  const r = new Reader(bytes);
  if (bytes.length < 8) r.fail('input too short to be a WebAssembly module', 0);
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    r.fail('bad magic number (not a WebAssembly binary)', 0);
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    const component = bytes[6] === 1 && bytes[7] === 0;
    r.fail(component ? 'a component, not a core module, is not supported' : 'unsupported binary version', 4);
  }
  r.pos = 8;

  const types: FunctionSignature[] = [];
  const funcTypes: number[] = [];
  const tagTypes: number[] = [];
  const memories: MemoryLimits[] = [];
  const importedMemories: MemoryLimits[] = [];
  const tables: TableType[] = [];
  let importedTables = 0;
  const sections: SectionSite[] = [];
  const limitSites: LimitSite[] = [];
  let exportCountEnd: number | undefined;
  let exportCount = 0;
  const site = (kind: LimitSite['kind'], index: number, imported: boolean, start: number): MemoryLimits => {
    const limits = r.limits(kind);
    limitSites.push({ kind, index, imported, limits, start, initialEnd: r.initialEnd, end: r.pos });
    return limits;
  };
  const tableType = (): TableType => {
    const at = r.pos;
    const element = r.valueType();
    if (element !== 'funcref' && element !== 'externref') r.fail(`bad table element type ${element}`, at);
    return {
      element: element as TableType['element'],
      limits: site('table', importedTables + tables.length, false, r.pos),
    };
  };
  const imports: WasmImport[] = [];
  const rawExports: { name: string; kind: ExternalKind; index: number; at: number }[] = [];
  let hasStart = false;
  let memorySection: ParsedModule['memorySection'];
  const seen = new Set<number>();

  const typeIndex = (): number => {
    const at = r.pos;
    const idx = r.u32();
    if (idx >= types.length) r.fail(`type index ${idx} out of range (${types.length} types)`, at);
    return idx;
  };

  while (r.pos < bytes.length) {
    const start = r.pos;
    r.end = bytes.length;
    r.section = -1;
    const id = r.u8();
    const size = r.u32();
    const contentStart = r.pos;
    if (size > bytes.length - contentStart)
      r.fail(`section ${id} (size ${size}) extends past the end of input`, start);
    const end = contentStart + size;
    if (id !== 0) {
      if (id > 13) r.fail(`unknown section id ${id}`, start);
      if (seen.has(id)) r.fail(`duplicate section id ${id}`, start);
      seen.add(id);
    }
    r.end = end;
    r.section = id;
    sections.push({ id, start, contentStart, end });
    switch (id) {
      case 1: // type
        for (let n = r.u32(); n > 0; n--) {
          const at = r.pos;
          const form = r.u8();
          if (form !== 0x60) {
            const gc = [0x4e, 0x50, 0x4f, 0x5f, 0x5e].includes(form); // rec, sub, sub final, struct, array
            r.fail(
              gc ? `GC proposal type form ${hex(form)} is not supported` : `bad type form ${hex(form)}`,
              at,
            );
          }
          types.push({ params: r.valueTypes(), results: r.valueTypes() });
        }
        break;
      case 2: // import
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name();
          const name = r.name();
          const kind = r.kind('import');
          const imp: WasmImport = { module, name, kind };
          if (kind === 'function') {
            const t = typeIndex();
            funcTypes.push(t);
            imp.signature = copySig(types[t]);
          } else if (kind === 'table') {
            const at = r.pos;
            const element = r.valueType();
            if (element !== 'funcref' && element !== 'externref')
              r.fail(`bad table element type ${element}`, at);
            imp.table = {
              element: element as TableType['element'],
              limits: site('table', importedTables++, true, r.pos),
            };
          } else if (kind === 'memory') {
            imp.memory = site('memory', importedMemories.length, true, r.pos);
            importedMemories.push(imp.memory);
          } else if (kind === 'global') {
            r.valueType();
            if (r.u8() > 1) r.fail('bad global mutability', r.pos - 1);
          } else {
            if (r.u8() !== 0) r.fail('bad tag attribute', r.pos - 1);
            const t = typeIndex();
            tagTypes.push(t);
            imp.signature = copySig(types[t]);
          }
          imports.push(imp);
        }
        break;
      case 3: // function
        for (let n = r.u32(); n > 0; n--) funcTypes.push(typeIndex());
        break;
      case 4: // table
        for (let n = r.u32(); n > 0; n--) {
          if (bytes[r.pos] === 0x40) r.fail('tables with an initializer expression are not supported');
          tables.push(tableType());
        }
        break;
      case 5: {
        // memory
        const entries: MemoryEntry[] = [];
        const count = r.u32();
        const countEnd = r.pos;
        for (let n = count; n > 0; n--) {
          const entryStart = r.pos;
          const limits = site('memory', importedMemories.length + memories.length, false, entryStart);
          entries.push({ limits, start: entryStart, initialEnd: r.initialEnd, end: r.pos });
          memories.push(limits);
        }
        memorySection = { start, contentStart, end, countEnd, firstIndex: importedMemories.length, entries };
        break;
      }
      case 7: // export
        exportCount = r.u32();
        exportCountEnd = r.pos;
        for (let n = exportCount; n > 0; n--) {
          const name = r.name();
          const at = r.pos;
          rawExports.push({ name, kind: r.kind('export'), index: r.u32(), at });
        }
        break;
      case 8: // start
        r.u32();
        hasStart = true;
        break;
      case 13: // tag
        for (let n = r.u32(); n > 0; n--) {
          if (r.u8() !== 0) r.fail('bad tag attribute', r.pos - 1);
          tagTypes.push(typeIndex());
        }
        break;
      default: // custom, table, global, element, code, data, data count: not needed
        r.pos = end;
    }
    if (r.pos !== end)
      r.fail(`section ${id} is ${size} bytes but its content ends at a different offset`, r.pos);
  }

  const allMemories = [...importedMemories, ...memories];
  const exports = rawExports.map(({ name, kind, index, at }): WasmExport => {
    const exp: WasmExport = { name, kind };
    const space =
      kind === 'function' ? funcTypes : kind === 'tag' ? tagTypes : kind === 'memory' ? allMemories : null;
    if (space !== null && index >= space.length) {
      r.fail(`export "${name}" refers to ${kind} ${index}, which does not exist`, at);
    }
    if (kind === 'function' || kind === 'tag') exp.signature = copySig(types[(space as number[])[index]]);
    else if (kind === 'memory') exp.memory = { ...allMemories[index] };
    return exp;
  });
  return {
    info: { imports, exports, memories, tables, hasStart },
    memorySection,
    sections,
    limitSites,
    exportCount,
    ...(exportCountEnd === undefined ? {} : { exportCountEnd }),
  };
}

function copySig(sig: FunctionSignature): FunctionSignature {
  return { params: [...sig.params], results: [...sig.results] };
}

/**
 * Reads the imports, exports (with function signatures and memory limits), defined memories and whether a start
 * function is present. Sections that are not needed (code, data, custom, ...) are skipped by their size.
 * @throws WasmBinaryError for malformed, truncated or unsupported input.
 */
export function parseWasmBinary(bytes: Uint8Array): WasmBinaryInfo {
  return parse(bytes).info;
}

/** Unsigned LEB128 encoding of a non-negative integer up to Number.MAX_SAFE_INTEGER. */
function leb(value: number): number[] {
  const out: number[] = [];
  do {
    const b = value % 128;
    value = Math.floor(value / 128);
    out.push(value > 0 ? b | 0x80 : b);
  } while (value > 0);
  return out;
}

const mib = (pages: number): string => `${(pages * WASM_PAGE_BYTES) / (1024 * 1024)} MiB`;

/**
 * Returns a copy of `bytes` where every memory DEFINED in the memory section has
 * maximum = min(declared maximum, maxPages); a memory without a maximum gets maxPages. Imported memories are not
 * touched (the caller provides them). Every other section stays byte-identical; the memory section's size is
 * re-encoded when its length changes. When nothing needs changing the input itself is returned.
 *
 * For 32-bit memories the limit is capped at 65536 pages (4 GiB), the largest maximum such a memory may declare.
 * @throws WasmBinaryError if the input is malformed, or a defined memory's initial size already exceeds the limit
 *   (the message gives both sizes in pages and MiB).
 * @throws RangeError if `maxPages` is not a non-negative safe integer.
 */
export function limitMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  if (!Number.isSafeInteger(maxPages) || maxPages < 0) {
    throw new RangeError(`maxPages must be a non-negative integer, got ${maxPages}`);
  }
  const section = parse(bytes).memorySection;
  if (section === undefined) return bytes;

  const parts: number[][] = [];
  let changed = false;
  section.entries.forEach((entry, i) => {
    const { limits } = entry;
    const cap = limits.memory64 ? maxPages : Math.min(maxPages, 65536);
    if (limits.initial > cap) {
      throw new WasmBinaryError(
        `memory ${section.firstIndex + i} needs ${limits.initial} pages (${mib(limits.initial)}) initially, ` +
          `more than the limit of ${cap} pages (${mib(cap)})`,
        entry.start,
      );
    }
    if (limits.maximum !== undefined && limits.maximum <= cap) {
      parts.push(Array.from(bytes.subarray(entry.start, entry.end)));
      return;
    }
    changed = true;
    parts.push([
      bytes[entry.start] | 0x01,
      ...bytes.subarray(entry.start + 1, entry.initialEnd),
      ...leb(cap),
    ]);
  });
  if (!changed) return bytes;

  const content = [...bytes.subarray(section.contentStart, section.countEnd), ...parts.flat()];
  const header = [5, ...leb(content.length)];
  const out = new Uint8Array(bytes.length - (section.end - section.start) + header.length + content.length);
  out.set(bytes.subarray(0, section.start), 0);
  out.set(header, section.start);
  out.set(content, section.start + header.length);
  out.set(bytes.subarray(section.end), section.start + header.length + content.length);
  return out;
}

/** What {@link capResources} enforces. */
export interface ResourceCaps {
  /** Most pages of any memory, imported or defined (32-bit memories stop at 65536 whatever this says). */
  memoryPages: number;
  /** Most elements of any table, imported or defined. */
  tableElements: number;
  /**
   * When the module has a memory that it does not export, export memory 0 under this name, so that
   * the pool can see (and account for) it. Nothing is added when the name is taken.
   */
  exportMemoryAs?: string;
}

/** Order of the non-custom sections in a module (the tag section sits between memory and global). */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const rank = (id: number): number => SECTION_ORDER.indexOf(id);

/**
 * Returns a copy of `bytes` in which every memory and every table, imported or defined, declares a
 * maximum no larger than the caps (one without a maximum gets the cap). An imported one so rewritten
 * makes the engine refuse, at link time, a provided memory or table whose own maximum is larger or
 * missing. Other sections stay byte-identical; a section whose length changes gets its size
 * re-encoded. Optionally exports a memory the module keeps to itself (see {@link ResourceCaps}).
 * Returns the input itself when nothing needs changing.
 * @throws WasmBinaryError if the input is malformed, or a memory or table already needs more than its
 *   cap initially (the message names it and gives both sizes).
 * @throws RangeError if a cap is not a non-negative safe integer.
 */
export function capResources(bytes: Uint8Array, caps: ResourceCaps): Uint8Array {
  for (const [name, value] of [
    ['memoryPages', caps.memoryPages],
    ['tableElements', caps.tableElements],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
    }
  }
  const parsed = parse(bytes);
  /** Replacements [start, end, bytes], in input order. */
  const edits: [number, number, number[]][] = [];
  for (const site of parsed.limitSites) {
    const { limits } = site;
    const cap =
      site.kind === 'table'
        ? caps.tableElements
        : limits.memory64
          ? caps.memoryPages
          : Math.min(caps.memoryPages, 65536);
    const what = `${site.imported ? 'imported ' : ''}${site.kind} ${site.index}`;
    if (limits.initial > cap) {
      const sizes =
        site.kind === 'table'
          ? `${limits.initial} elements, more than the limit of ${cap}`
          : `${limits.initial} pages (${mib(limits.initial)}), more than the limit of ${cap} pages (${mib(cap)})`;
      throw new WasmBinaryError(`${what} needs ${sizes} initially`, site.start);
    }
    if (limits.maximum !== undefined && limits.maximum <= cap) continue;
    edits.push([
      site.start,
      site.end,
      [bytes[site.start]! | 0x01, ...bytes.subarray(site.start + 1, site.initialEnd), ...leb(cap)],
    ]);
  }

  let exportEntry: number[] | undefined;
  const { info } = parsed;
  const name = caps.exportMemoryAs;
  const hasMemory = info.memories.length > 0 || info.imports.some((entry) => entry.kind === 'memory');
  if (
    name !== undefined &&
    hasMemory &&
    !info.exports.some((entry) => entry.kind === 'memory' || entry.name === name)
  ) {
    const encoded = new TextEncoder().encode(name);
    exportEntry = [...leb(encoded.length), ...encoded, 0x02, 0x00];
    if (parsed.exportCountEnd !== undefined) {
      const section = parsed.sections.find((entry) => entry.id === 7)!;
      edits.push([section.contentStart, parsed.exportCountEnd, leb(parsed.exportCount + 1)]);
      edits.push([section.end, section.end, exportEntry]);
      exportEntry = undefined;
    }
  }
  if (edits.length === 0 && exportEntry === undefined) return bytes;
  edits.sort((a, b) => a[0] - b[0] || a[1] - b[1]);

  // Parts of the output: untouched spans stay views of the input (a code section of megabytes is
  // never copied into a JS array: that made registering a 1 MiB module take 60-90 ms instead of 5).
  const out: ArrayLike<number>[] = [bytes.subarray(0, 8)];
  let edit = 0;
  for (const section of parsed.sections) {
    if (exportEntry !== undefined && section.id !== 0 && rank(section.id) > rank(7)) {
      out.push([7, ...leb(exportEntry.length + 1), 1, ...exportEntry]);
      exportEntry = undefined;
    }
    // Edits of this section: those starting inside it, or at its end (an appended export).
    const mine: [number, number, number[]][] = [];
    while (edit < edits.length && edits[edit]![0] <= section.end) {
      mine.push(edits[edit]!);
      edit++;
    }
    if (mine.length === 0) {
      out.push(bytes.subarray(section.start, section.end));
      continue;
    }
    const content: ArrayLike<number>[] = [];
    let at = section.contentStart;
    for (const [start, end, replacement] of mine) {
      content.push(bytes.subarray(at, start), replacement);
      at = end;
    }
    content.push(bytes.subarray(at, section.end));
    const contentLength = content.reduce((sum, part) => sum + part.length, 0);
    out.push([section.id, ...leb(contentLength)], ...content);
  }
  if (exportEntry !== undefined) out.push([7, ...leb(exportEntry.length + 1), 1, ...exportEntry]);
  const result = new Uint8Array(out.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of out) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
