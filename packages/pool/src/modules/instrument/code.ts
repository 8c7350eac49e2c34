/**
 * Rewrites one expression (a function body or a constant expression): copies every instruction as it
 * is, except
 * - at function entry, loop headers: a checkpoint (see {@link checkpoint});
 * - at the start of catch and catch_all handlers: the check half of a checkpoint, so that a module
 *   cannot swallow an interruption (V8's catch_all also catches the host's JS exception);
 * - `call`, `return_call`, `ref.func`: function indices renumbered past the added import;
 * - `memory.grow`, `table.grow`: a call to a helper that records a refused grow.
 */
import { ByteReader, ByteWriter } from './bytes';
import { ATOMIC, Imm, MISC, PLAIN, SIMD, isValueType, skipImmediates } from './opcodes';

/** Indices the rewriter needs, and the helpers it asks for. */
export interface CodeContext {
  /** Maps an original function index to its index in the rewritten module. */
  funcIndex(index: number): number;
  /** Global holding the checkpoint counter. */
  budgetGlobal: number;
  /** Function index of the imported host check. */
  checkFunction: number;
  /** Function index of the helper standing in for `memory.grow`. */
  growMemory(): number;
  /** Function index of the helper standing in for `table.grow` on table `table`. */
  growTable(table: number): number;
  /** Whether to place checkpoints (loop headers, function entry, catch handlers). */
  checkpoints: boolean;
}

/**
 * The counted check: `if (budget == 0) budget = check(); budget -= 1`. The host's `check` returns
 * the next budget (a slice of work, or the rest of a task's fuel; at least 1) or throws to stop the
 * task. It returns the budget rather than setting the global because during instantiation (a start
 * function) the host has no access to the instance's exports yet.
 */
export function checkpoint(out: ByteWriter, ctx: CodeContext): void {
  checkOnly(out, ctx);
  out.byte(0x23).u32(ctx.budgetGlobal); // global.get
  out.byte(0x41).byte(0x01); // i32.const 1
  out.byte(0x6b); // i32.sub
  out.byte(0x24).u32(ctx.budgetGlobal); // global.set
}

function checkOnly(out: ByteWriter, ctx: CodeContext): void {
  out.byte(0x23).u32(ctx.budgetGlobal); // global.get
  out.byte(0x45); // i32.eqz
  out.byte(0x04).byte(0x40); // if (no result)
  out.byte(0x10).u32(ctx.checkFunction); // call: returns the new budget
  out.byte(0x24).u32(ctx.budgetGlobal); // global.set
  out.byte(0x0b); // end
}

/** Copies the locals declaration of a function body. */
export function copyLocals(r: ByteReader, out: ByteWriter): void {
  const start = r.pos;
  for (let n = r.u32(); n > 0; n--) {
    r.u32();
    const at = r.pos;
    if (!isValueType(r.u8())) r.fail('unsupported local type', at);
  }
  out.bytes(r.bytes.subarray(start, r.pos));
}

/**
 * Rewrites the expression at `r.pos` up to its final `end` (included) into `out`. `r.end` must be
 * the end of the body or section holding it.
 */
export function rewriteExpression(r: ByteReader, out: ByteWriter, ctx: CodeContext, body: boolean): void {
  if (body && ctx.checkpoints) checkpoint(out, ctx);
  let depth = 0;
  let copyFrom = r.pos;
  const flush = (to: number): void => {
    if (to > copyFrom) out.bytes(r.bytes.subarray(copyFrom, to));
  };
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    switch (op) {
      case 0x02: // block
      case 0x04: // if
      case 0x06: // try
        skipImmediates(r, Imm.BlockType, at);
        depth++;
        continue;
      case 0x03: // loop
        skipImmediates(r, Imm.BlockType, at);
        depth++;
        if (ctx.checkpoints) {
          flush(r.pos);
          checkpoint(out, ctx);
          copyFrom = r.pos;
        }
        continue;
      case 0x07: // catch
      case 0x19: // catch_all
        if (op === 0x07) r.u32();
        if (ctx.checkpoints) {
          flush(r.pos);
          checkOnly(out, ctx);
          copyFrom = r.pos;
        }
        continue;
      case 0x18: // delegate: ends its try block
        r.u32();
        depth--;
        continue;
      case 0x0b: // end
        if (depth-- === 0) {
          flush(r.pos);
          return;
        }
        continue;
      case 0x10: // call
      case 0x12: // return_call
      case 0xd2: {
        // ref.func
        flush(at);
        out.byte(op).u32(ctx.funcIndex(r.u32()));
        copyFrom = r.pos;
        continue;
      }
      case 0x40: // memory.grow
        flush(at);
        skipImmediates(r, Imm.Memory0, at);
        out.byte(0x10).u32(ctx.growMemory());
        copyFrom = r.pos;
        continue;
      case 0xfc: {
        const sub = r.u32();
        const imm = sub < MISC.length ? (MISC[sub] as Imm) : Imm.Unknown;
        if (sub === 15) {
          // table.grow
          flush(at);
          out.byte(0x10).u32(ctx.growTable(r.u32()));
          copyFrom = r.pos;
          continue;
        }
        skipImmediates(r, imm, at);
        continue;
      }
      case 0xfd: {
        const sub = r.u32();
        skipImmediates(r, sub < SIMD.length ? (SIMD[sub] as Imm) : Imm.Unknown, at);
        continue;
      }
      case 0xfe: {
        const sub = r.u32();
        skipImmediates(r, sub < ATOMIC.length ? (ATOMIC[sub] as Imm) : Imm.Unknown, at);
        continue;
      }
      default:
        skipImmediates(r, PLAIN[op] as Imm, at);
    }
  }
}
