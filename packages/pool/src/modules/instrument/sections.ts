/**
 * Reading and rewriting the sections around the code for `rewriteModule` (module.ts): the
 * code section body by body, global initializers, exports, element segments and the name section,
 * with the function indices the added imports shift renumbered.
 */
import { Instrumentation } from '@wasmpool/worker';
import { ByteReader, ByteWriter } from '../bytes';
import { checkpoint, readLocals, rewriteExpression, type CodeContext } from './code';
import { isRefType, isValueType } from './opcodes';

/** One section of the input: its id and content (without id and size). */
export interface Section {
  id: number;
  /** Content, without id and size. */
  body: Uint8Array;
  /** Offset of the content in the input (for messages). */
  at: number;
}

export const I32 = 0x7f;
export const FUNC_TYPE = 0x60;

export function readSections(bytes: Uint8Array): Section[] {
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

export function reader(section: Section): ByteReader {
  return new ByteReader(section.body);
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);

export function name(r: ByteReader): string {
  const len = r.u32();
  const at = r.pos;
  r.skip(len);
  return decoder.decode(r.bytes.subarray(at, at + len));
}

export function limits(r: ByteReader): void {
  const flags = r.u8();
  if (flags & ~0x03) r.fail(`unsupported limits flags ${flags}`);
  r.u32();
  if (flags & 1) r.u32();
}

export function tableType(r: ByteReader): number {
  const ref = r.u8();
  if (!isRefType(ref)) r.fail('unsupported table element type', r.pos - 1);
  limits(r);
  return ref;
}

export function valueType(r: ByteReader): number {
  const t = r.u8();
  if (!isValueType(t)) r.fail('unsupported value type', r.pos - 1);
  return t;
}

/** The section's vector with entries appended (`added` of them) by `append`. */
export function appendVector(
  section: Section | undefined,
  append: (w: ByteWriter) => void,
  added = 1,
): Uint8Array {
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
export function growBody(grow: number[], resultLocal: number, refusedFunction: number): Uint8Array {
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

export function rewriteCode(
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

export function rewriteGlobals(section: Section | undefined, ctx: CodeContext): Uint8Array {
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

/**
 * The module's exports, function indices renumbered, then the budget global; with `stateGlobals`
 * (a restorable metered module), each of those globals and the budget again as the marker.
 */
export function rewriteExports(
  section: Section | undefined,
  funcIndex: (index: number) => number,
  budgetGlobal: number,
  stateGlobals?: readonly number[],
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
  entries.sized(utf8(Instrumentation.budgetExport)).byte(0x03).u32(budgetGlobal);
  let added = 1;
  if (stateGlobals !== undefined) {
    for (const global of stateGlobals) {
      entries
        .sized(utf8(`${Instrumentation.globalExportPrefix}${global}`))
        .byte(0x03)
        .u32(global);
    }
    entries.sized(utf8(Instrumentation.restorableExport)).byte(0x03).u32(budgetGlobal);
    added += stateGlobals.length + 1;
  }
  return w
    .u32(count + added)
    .bytes(entries.result())
    .result();
}

export function rewriteElements(section: Section, ctx: CodeContext): Uint8Array {
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
export function rewriteCustom(
  section: Section,
  funcIndex: (index: number) => number,
): Uint8Array | undefined {
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
