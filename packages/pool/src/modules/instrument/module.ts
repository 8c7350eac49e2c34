/**
 * Module-level rewrite for {@link instrument}: adds two imported host functions (the check and the
 * refused-grow callback), one exported global (the checkpoint budget), new types and the helper
 * functions the code asks for, and renumbers every function index the added imports shift (code,
 * element segments, global initializers, exports, start, the name section; see sections.ts). A
 * metered module whose state is its memory and its own globals also exports those globals (see
 * `restorableGlobals`), so that the worker can put a fresh instance's state back before each task.
 */
import { Instrumentation } from '@wasmpool/worker';
import { ByteReader, ByteWriter } from '../bytes';
import { claimBody, rewriteExpression, type CheckpointMode, type CodeContext } from './code';
import {
  FUNC_TYPE,
  I32,
  appendVector,
  growBody,
  limits,
  name,
  readSections,
  reader,
  rewriteCode,
  rewriteCustom,
  rewriteElements,
  rewriteExports,
  rewriteGlobals,
  tableType,
  utf8,
  valueType,
  type Section,
} from './sections';

/** Import the rewritten module adds: `(import "__wasmpool" "check" (func (result i32)))`. */
export const CHECK_IMPORT = { module: Instrumentation.checkModule, name: Instrumentation.checkName } as const;
/** Exported mutable i32 global: units of work left before the next host check. */
export const BUDGET_EXPORT = Instrumentation.budgetExport;
/** Names of the exports a restorable metered module gets (see `restorableGlobals`). */
const STATE_EXPORT_PREFIX = Instrumentation.globalExportPrefix;
const V128 = 0x7b;
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

/** Rewrites `bytes`; see {@link instrument}. */
export function rewriteModule(bytes: Uint8Array, options: InstrumentOptions): Uint8Array {
  const sections = readSections(bytes);
  const byId = new Map<number, Section>();
  for (const section of sections) if (section.id !== 0) byId.set(section.id, section);

  // Counts of what the module declares, to place what is added after it.
  let typeCount = 0;
  let importedFuncs = 0;
  let importedGlobals = 0;
  /** A mutable global the host shares with the module: state outside the instance. */
  let importsMutableGlobal = false;
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
        if (r.u8() !== 0) importsMutableGlobal = true;
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
  for (const exported of exportNames) {
    if (
      exported === BUDGET_EXPORT ||
      exported === Instrumentation.restorableExport ||
      exported.startsWith(STATE_EXPORT_PREFIX)
    ) {
      throw new ByteReader(bytes).fail(`the export name ${exported} is reserved`, 0);
    }
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
    changesTablesOrSegments: false,
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
  const stateGlobals =
    options.mode === 'metered' && !importsMutableGlobal && !ctx.changesTablesOrSegments
      ? restorableGlobals(byId.get(6), importedGlobals, ctx)
      : undefined;
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
        return rewriteExports(section, funcIndex, budgetGlobal, stateGlobals);
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

/**
 * The indices of the module's own mutable globals when a copy of memory and globals is all the
 * state a task can leave behind (metered modules, see `Instrumentation.restorableExport`), or
 * undefined when one of them cannot be read from JS (a v128).
 */
function restorableGlobals(
  section: Section | undefined,
  imported: number,
  ctx: CodeContext,
): number[] | undefined {
  const mutable: number[] = [];
  if (section === undefined) return mutable;
  const r = reader(section);
  const scratch = new ByteWriter();
  for (let n = 0, count = r.u32(); n < count; n++) {
    const type = valueType(r);
    if (r.u8() !== 0) {
      if (type === V128) return undefined;
      mutable.push(imported + n);
    }
    rewriteExpression(r, scratch, ctx);
  }
  return mutable;
}
