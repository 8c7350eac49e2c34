/**
 * Section-level rewrite of a module for {@link instrument}: adds one imported host function (the
 * check and the refused-grow callback), one exported global (the checkpoint budget) and helpers
 * helpers, and renumbers every function index the added import shifts (code, element segments,
 * global initializers, exports, start, the name section).
 */
import { Instrumentation } from '@wasmpool/worker';
import { ByteReader, ByteWriter } from './bytes';
import {
  checkpoint,
  claimBody,
  readLocals,
  rewriteExpression,
  type CheckpointMode,
  type CodeContext,
} from './code';
import { isRefType, isValueType } from './opcodes';

/** Import the rewritten module adds: `(import "__wasmpool" "check" (func (result i32)))`. */
export const CHECK_IMPORT = { module: Instrumentation.checkModule, name: Instrumentation.checkName } as const;
/** Exported mutable i32 global: units of work left before the next host check. */
export const BUDGET_EXPORT = Instrumentation.budgetExport;
/**
 * Import the rewritten module adds: `(import "__wasmpool" "refused" (func))`, called when a
 * `memory.grow` or `table.grow` returns -1 (rare: the worker pays nothing per task for it).
 */
export const REFUSED_IMPORT = {
  module: Instrumentation.checkModule,
  name: Instrumentation.refusedName,
} as const;

export interface InstrumentOptions {
  /** The checkpoints to place (see CheckpointMode in code.ts); `none` rewrites only the grows. */
  mode: CheckpointMode;
}

interface Section {
  id: number;
  /** Content, without id and size. */
  body: Uint8Array;
  /** Offset of the content in the input (for messages). */
  at: number;
}

const I32 = 0x7f;
const FUNC_TYPE = 0x60;

/** Rewrites `bytes`; see {@link instrument}. */
export function rewriteModule(bytes: Uint8Array, options: InstrumentOptions): Uint8Array {
  const sections = readSections(bytes);
  const byId = new Map<number, Section>();
  for (const section of sections) if (section.id !== 0) byId.set(section.id, section);

  // Counts of what the module declares, to place what is added after it.
  let typeCount = 0;
  let importedFuncs = 0;
  let importedGlobals = 0;
  const tableTypes: number[] = [];
  const exportNames = new Set<string>();
  const importSection = byId.get(2);
  const types = byId.get(1);
  // Parameter counts of the types, and type of each defined function: a function's added local
  // comes after its params and locals.
  const typeParams: number[] = [];
  if (types !== undefined) {
    const r = reader(types);
    typeCount = r.u32();
    for (let n = 0; n < typeCount; n++) {
      if (r.u8() !== FUNC_TYPE) r.fail('unsupported type form', r.pos - 1);
      const params = r.u32();
      for (let p = 0; p < params; p++) valueType(r);
      for (let results = r.u32(); results > 0; results--) valueType(r);
      typeParams.push(params);
    }
  }
  if (importSection !== undefined) {
    const r = reader(importSection);
    for (let n = r.u32(); n > 0; n--) {
      const module = name(r);
      name(r);
      if (module === CHECK_IMPORT.module) r.fail(`the import module name ${module} is reserved`);
      const kind = r.u8();
      if (kind === 0) {
        r.u32();
        importedFuncs++;
      } else if (kind === 1) {
        tableTypes.push(tableType(r));
      } else if (kind === 2) {
        limits(r);
      } else if (kind === 3) {
        valueType(r);
        r.u8();
        importedGlobals++;
      } else if (kind === 4) {
        r.u8();
        r.u32();
      } else r.fail(`unknown import kind ${kind}`);
    }
  }
  const funcTypes: number[] = [];
  if (byId.has(3)) {
    const r = reader(byId.get(3)!);
    for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
  }
  const definedFuncs = funcTypes.length;
  const tables = byId.get(4);
  if (tables !== undefined) {
    const r = reader(tables);
    for (let n = r.u32(); n > 0; n--) tableTypes.push(tableType(r));
  }
  const definedGlobals = byId.has(6) ? new ByteReader(byId.get(6)!.body).u32() : 0;
  const exportSection = byId.get(7);
  if (exportSection !== undefined) {
    const r = reader(exportSection);
    for (let n = r.u32(); n > 0; n--) {
      exportNames.add(name(r));
      r.u8();
      r.u32();
    }
  }
  if (exportNames.has(BUDGET_EXPORT)) {
    throw new ByteReader(bytes).fail(`the export name ${BUDGET_EXPORT} is reserved`, 0);
  }

  // New types, appended: () -> i32; (i32) -> i32; (funcref, i32) -> i32; (externref, i32) -> i32; () -> ().
  const checkType = typeCount;
  const growMemoryType = typeCount + 1;
  const growTableType = (ref: number): number => typeCount + (ref === 0x70 ? 2 : 3);
  const voidType = typeCount + 4;
  // The two imports come after the module's own: defined functions move up by two.
  const checkFunction = importedFuncs;
  const refusedFunction = importedFuncs + 1;
  const funcIndex = (index: number): number => (index >= importedFuncs ? index + 2 : index);
  const budgetGlobal = importedGlobals + definedGlobals;

  // Helpers are appended after the module's functions, in the order they are first needed.
  const helpers: { type: number; body: Uint8Array }[] = [];
  let growMemoryHelper = -1;
  let claimHelper = -1;
  const growTableHelpers = new Map<number, number>();
  const helperIndex = (): number => importedFuncs + 2 + definedFuncs + helpers.length;
  const ctx: CodeContext = {
    funcIndex,
    budgetGlobal,
    checkFunction,
    mode: options.mode,
    counterLocal: -1,
    claimFunction() {
      if (claimHelper < 0) {
        claimHelper = helperIndex();
        helpers.push({ type: checkType, body: claimBody(ctx) });
      }
      return claimHelper;
    },
    growMemory() {
      if (growMemoryHelper < 0) {
        growMemoryHelper = helperIndex();
        // (param i32) (result i32) (local i32): local.get 0, memory.grow, local.tee 1, flag if -1.
        helpers.push({ type: growMemoryType, body: growBody([0x20, 0x00, 0x40, 0x00], 1, refusedFunction) });
      }
      return growMemoryHelper;
    },
    growTable(table) {
      let index = growTableHelpers.get(table);
      if (index === undefined) {
        const ref = tableTypes[table];
        if (ref === undefined)
          throw new ByteReader(bytes).fail(`table.grow on table ${table}, which does not exist`, 0);
        index = helperIndex();
        growTableHelpers.set(table, index);
        const grow = new ByteWriter().bytes([0x20, 0x00, 0x20, 0x01, 0xfc, 15]).u32(table).result();
        helpers.push({ type: growTableType(ref), body: growBody(Array.from(grow), 2, refusedFunction) });
      }
      return index;
    },
  };

  const out = new ByteWriter().bytes(bytes.subarray(0, 8));
  const emit = (id: number, body: Uint8Array): void => {
    out.byte(id).sized(body);
  };
  // Sections the module lacks but the rewrite needs are made where the order of sections puts them.
  const code = byId.get(10);
  const codeBody = rewriteCode(code, ctx, helpers, (n) => typeParams[funcTypes[n] ?? -1]);
  const order = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
  const rank = (id: number): number => order.indexOf(id);
  const missing = [1, 2, 3, 6, 7, 10].filter((id) => !byId.has(id));
  const emitMissingBefore = (id: number): void => {
    while (missing.length > 0 && (id < 0 || rank(missing[0]!) < rank(id))) {
      const add = missing.shift()!;
      emit(add, build(add, undefined));
    }
  };
  const build = (id: number, section: Section | undefined): Uint8Array => {
    switch (id) {
      case 1:
        return appendTypes(section);
      case 2:
        return appendVector(
          section,
          (w) => {
            w.sized(utf8(CHECK_IMPORT.module)).sized(utf8(CHECK_IMPORT.name)).byte(0x00).u32(checkType);
            w.sized(utf8(REFUSED_IMPORT.module)).sized(utf8(REFUSED_IMPORT.name)).byte(0x00).u32(voidType);
          },
          2,
        );
      case 3:
        return appendVector(
          section,
          (w) => {
            for (const helper of helpers) w.u32(helper.type);
          },
          helpers.length,
        );
      case 6:
        return rewriteGlobals(section, ctx);
      case 7:
        return rewriteExports(section, funcIndex, budgetGlobal);
      case 8:
        return new ByteWriter().u32(funcIndex(reader(section!).u32())).result();
      case 9:
        return rewriteElements(section!, ctx);
      case 10:
        return codeBody;
      default:
        return section!.body;
    }
  };
  const appendTypes = (section: Section | undefined): Uint8Array =>
    appendVector(
      section,
      (w) => {
        w.byte(FUNC_TYPE).u32(0).u32(1).byte(I32);
        w.byte(FUNC_TYPE).u32(1).byte(I32).u32(1).byte(I32);
        w.byte(FUNC_TYPE).u32(2).byte(0x70).byte(I32).u32(1).byte(I32);
        w.byte(FUNC_TYPE).u32(2).byte(0x6f).byte(I32).u32(1).byte(I32);
        w.byte(FUNC_TYPE).u32(0).u32(0);
      },
      5,
    );

  for (const section of sections) {
    if (section.id === 0) {
      const custom = rewriteCustom(section, funcIndex);
      if (custom !== undefined) emit(0, custom);
      continue;
    }
    emitMissingBefore(section.id);
    emit(section.id, build(section.id, section));
  }
  emitMissingBefore(-1);
  return out.result();
}

function readSections(bytes: Uint8Array): Section[] {
  const r = new ByteReader(bytes, 8);
  const sections: Section[] = [];
  while (!r.done) {
    const id = r.u8();
    const size = r.u32();
    const at = r.pos;
    r.skip(size);
    sections.push({ id, body: bytes.subarray(at, at + size), at });
  }
  return sections;
}

function reader(section: Section): ByteReader {
  return new ByteReader(section.body);
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);

function name(r: ByteReader): string {
  const len = r.u32();
  const at = r.pos;
  r.skip(len);
  return decoder.decode(r.bytes.subarray(at, at + len));
}

function limits(r: ByteReader): void {
  const flags = r.u8();
  if (flags & ~0x03) r.fail(`unsupported limits flags ${flags}`);
  r.u32();
  if (flags & 1) r.u32();
}

function tableType(r: ByteReader): number {
  const ref = r.u8();
  if (!isRefType(ref)) r.fail('unsupported table element type', r.pos - 1);
  limits(r);
  return ref;
}

function valueType(r: ByteReader): number {
  const t = r.u8();
  if (!isValueType(t)) r.fail('unsupported value type', r.pos - 1);
  return t;
}

/** The section's vector with entries appended (`added` of them) by `append`. */
function appendVector(section: Section | undefined, append: (w: ByteWriter) => void, added = 1): Uint8Array {
  const w = new ByteWriter();
  if (section === undefined) {
    w.u32(added);
  } else {
    const r = reader(section);
    w.u32(r.u32() + added).bytes(section.body.subarray(r.pos));
  }
  append(w);
  return w.result();
}

/** A grow helper's body: `grow` leaves the result; -1 calls the refused import; the result is returned. */
function growBody(grow: number[], resultLocal: number, refusedFunction: number): Uint8Array {
  const w = new ByteWriter();
  w.u32(1).u32(1).byte(I32); // one i32 local
  w.bytes(grow);
  w.byte(0x22).u32(resultLocal); // local.tee
  w.byte(0x41).byte(0x7f); // i32.const -1
  w.byte(0x46); // i32.eq
  w.byte(0x04).byte(0x40); // if
  w.byte(0x10).u32(refusedFunction); // call refused
  w.byte(0x0b); // end
  w.byte(0x20).u32(resultLocal).byte(0x0b); // local.get, end
  return w.result();
}

function rewriteCode(
  section: Section | undefined,
  ctx: CodeContext,
  helpers: { body: Uint8Array }[],
  paramsOf: (defined: number) => number | undefined,
): Uint8Array {
  const bodies = new ByteWriter();
  let count = 0;
  if (section !== undefined) {
    const r = reader(section);
    count = r.u32();
    for (let n = 0; n < count; n++) {
      const size = r.u32();
      const end = r.pos + size;
      if (end > r.end) r.fail('function body extends past its section', section.at + r.pos);
      const body = new ByteReader(section.body, r.pos, end);
      const params = paramsOf(n);
      if (params === undefined) return r.fail(`function body ${n} has no declared type`, section.at + r.pos);
      const locals = readLocals(body);
      ctx.counterLocal = params + locals.declared;
      const expression = new ByteWriter();
      const { calls, loops } = rewriteExpression(body, expression, ctx);
      if (body.pos !== end) body.fail('function body continues after its end', section.at + body.pos);
      const w = new ByteWriter();
      // Interruptible loops count in one more i32 local (zero at entry).
      const addLocal = loops && ctx.mode === 'interruptible';
      w.u32(locals.entries + (addLocal ? 1 : 0)).bytes(locals.bytes);
      if (addLocal) w.u32(1).byte(I32);
      if (calls && ctx.mode !== 'none') checkpoint(w, ctx);
      w.bytes(expression.result());
      bodies.sized(w.result());
      r.pos = end;
    }
    if (!r.done) r.fail('code section continues after its last body', section.at + r.pos);
  }
  // Helpers are asked for while bodies are rewritten: add them last.
  for (const helper of helpers) bodies.sized(helper.body);
  return new ByteWriter()
    .u32(count + helpers.length)
    .bytes(bodies.result())
    .result();
}

function rewriteGlobals(section: Section | undefined, ctx: CodeContext): Uint8Array {
  const w = new ByteWriter();
  let count = 0;
  const entries = new ByteWriter();
  if (section !== undefined) {
    const r = reader(section);
    count = r.u32();
    for (let n = 0; n < count; n++) {
      const at = r.pos;
      valueType(r);
      r.u8();
      entries.bytes(section.body.subarray(at, r.pos));
      rewriteExpression(r, entries, ctx);
    }
  }
  // The budget starts at 0: the first checkpoint (a start function's too) asks the host.
  entries.byte(I32).byte(0x01).byte(0x41).byte(0x00).byte(0x0b);
  return w
    .u32(count + 1)
    .bytes(entries.result())
    .result();
}

function rewriteExports(
  section: Section | undefined,
  funcIndex: (index: number) => number,
  budgetGlobal: number,
): Uint8Array {
  const w = new ByteWriter();
  let count = 0;
  const entries = new ByteWriter();
  if (section !== undefined) {
    const r = reader(section);
    count = r.u32();
    for (let n = 0; n < count; n++) {
      const at = r.pos;
      name(r);
      const kind = r.u8();
      entries.bytes(section.body.subarray(at, r.pos));
      const index = r.u32();
      entries.u32(kind === 0 ? funcIndex(index) : index);
    }
  }
  entries.sized(utf8(BUDGET_EXPORT)).byte(0x03).u32(budgetGlobal);
  return w
    .u32(count + 1)
    .bytes(entries.result())
    .result();
}

function rewriteElements(section: Section, ctx: CodeContext): Uint8Array {
  const r = reader(section);
  const w = new ByteWriter();
  const count = r.u32();
  w.u32(count);
  for (let n = 0; n < count; n++) {
    const flags = r.u32();
    w.u32(flags);
    if (flags > 7) r.fail(`unknown element segment kind ${flags}`);
    const passiveOrDeclarative = (flags & 1) !== 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (!passiveOrDeclarative) {
      if (explicitTable) w.u32(r.u32());
      rewriteExpression(r, w, ctx); // offset
    }
    if (passiveOrDeclarative || explicitTable) {
      const kind = r.u8(); // elemkind (0x00) or reftype
      if (expressions ? !isRefType(kind) : kind !== 0) r.fail('unsupported element kind', r.pos - 1);
      w.byte(kind);
    }
    const items = r.u32();
    w.u32(items);
    for (let i = 0; i < items; i++) {
      if (expressions) rewriteExpression(r, w, ctx);
      else w.u32(ctx.funcIndex(r.u32()));
    }
  }
  if (!r.done) r.fail('element section continues after its last segment');
  return w.result();
}

/**
 * The name section with its function indices renumbered (function, local and label names); other
 * custom sections as they are, except code metadata, whose offsets no longer hold.
 */
function rewriteCustom(section: Section, funcIndex: (index: number) => number): Uint8Array | undefined {
  const r = reader(section);
  const sectionName = name(r);
  if (sectionName.startsWith('metadata.code.')) return undefined;
  if (sectionName !== 'name') return section.body;
  const w = new ByteWriter().bytes(section.body.subarray(0, r.pos));
  try {
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const end = r.pos + size;
      if (end > r.end) r.fail('name subsection extends past its section');
      if (id < 1 || id > 3) {
        w.byte(id).u32(size).bytes(section.body.subarray(r.pos, end));
        r.pos = end;
        continue;
      }
      const sub = new ByteWriter();
      const count = r.u32();
      sub.u32(count);
      for (let n = 0; n < count; n++) {
        sub.u32(funcIndex(r.u32()));
        const at = r.pos;
        if (id === 1) name(r);
        else {
          for (let m = r.u32(); m > 0; m--) {
            r.u32();
            name(r);
          }
        }
        sub.bytes(section.body.subarray(at, r.pos));
      }
      if (r.pos !== end) r.fail('name subsection size mismatch');
      w.byte(id).sized(sub.result());
    }
  } catch {
    // A malformed name section is ignored by engines; drop it rather than refuse the module.
    return undefined;
  }
  return w.result();
}
