/**
 * Rewrites one expression (a function body or a constant expression): copies every instruction as it
 * is, except
 * - at loop headers: a loop checkpoint (in interruptible mode, a small counted loop is instead
 *   counted once before it starts, see bounded.ts); the caller adds an entry checkpoint to a function that calls
 *   others (see {@link rewriteExpression}'s result), which bounds recursion. A function without calls
 *   or loops runs a bounded number of instructions and gets none (small, hot helpers would pay most);
 * - at the start of catch and catch_all handlers: the check half of a checkpoint, so that a module
 *   cannot swallow an interruption (V8's catch_all also catches the host's JS exception);
 * - `call`, `return_call`, `ref.func`: function indices renumbered past the added import;
 * - `memory.grow`, `table.grow`: a call to a helper that records a refused grow.
 *
 * Two kinds of checkpoints (see {@link CheckpointMode}): metered ones count every unit in the budget
 * global, exactly; interruptible ones count loop iterations in a local and take them from the global
 * LOOP_CHUNK at a time, because a read-modify-write of a global at every iteration costs a hot loop
 * about a quarter of its speed (V8 keeps locals in registers, globals in memory).
 */
import { boundedTrips } from './bounded';
import { ByteReader, ByteWriter } from '../bytes';
import { ATOMIC, Imm, MISC, PLAIN, SIMD, isValueType, skipImmediates } from './opcodes';

/**
 * - `metered`: one unit per loop iteration and per entry into a function that calls others, each
 *   taken from the budget global (deterministic fuel);
 * - `interruptible`: loop iterations are taken from the global in chunks of {@link LOOP_CHUNK}
 *   (claimed when a chunk starts, so the count of work between two host checks is an upper bound);
 * - `none`: no checkpoints, only the grow helpers.
 */
export type CheckpointMode = 'metered' | 'interruptible' | 'none';

/** Loop iterations an interruptible checkpoint takes from the budget global at a time. */
export const LOOP_CHUNK = 100;

/** Indices the rewriter needs, and the helpers it asks for. */
export interface CodeContext {
  /** Maps an original function index to its index in the rewritten module. */
  funcIndex(index: number): number;
  /** Global holding the checkpoint budget. */
  budgetGlobal: number;
  /** Function index of the imported host check. */
  checkFunction: number;
  /** Function index of the helper standing in for `memory.grow`. */
  growMemory(): number;
  /** Function index of the helper standing in for `table.grow` on table `table`. */
  growTable(table: number): number;
  mode: CheckpointMode;
  /** Interruptible mode: the i32 local counting the current function's loop iterations. */
  counterLocal: number;
  /** Interruptible mode: function index of the claim helper (see {@link claimBody}). */
  claimFunction(): number;
  /**
   * Set when the code changes state that a copy of memory and globals does not hold: a table
   * (`table.set`, `table.grow`, `table.fill`, `table.copy`, `table.init`) or a segment (`memory.init`,
   * `data.drop`, `elem.drop`).
   */
  changesTablesOrSegments: boolean;
}

/**
 * Takes `units` from the budget: `budget -= units; if (budget < 1) budget = check()` (metered mode
 * keeps the budget at 1 or more before it subtracts 1, so the order there is check first). The host's
 * `check` returns the next budget (a slice of work, or the rest of a task's fuel; at least 1) or
 * throws to stop the task. It returns the budget rather than setting the global because during
 * instantiation (a start function) the host has no access to the instance's exports yet.
 */
export function checkpoint(out: ByteWriter, ctx: CodeContext): void {
  checkOnly(out, ctx);
  out.byte(0x23).u32(ctx.budgetGlobal); // global.get
  out.byte(0x41).byte(0x01); // i32.const 1
  out.byte(0x6b); // i32.sub
  out.byte(0x24).u32(ctx.budgetGlobal); // global.set
}

/** `if (budget < 1) budget = check()`: a check that does not count. */
function checkOnly(out: ByteWriter, ctx: CodeContext): void {
  out.byte(0x23).u32(ctx.budgetGlobal); // global.get
  out.byte(0x41).byte(0x01); // i32.const 1
  out.byte(0x48); // i32.lt_s
  out.byte(0x04).byte(0x40); // if (no result)
  out.byte(0x10).u32(ctx.checkFunction); // call: returns the new budget
  out.byte(0x24).u32(ctx.budgetGlobal); // global.set
  out.byte(0x0b); // end
}

/**
 * Interruptible loop checkpoint: `counter -= 1; if (counter < 0) counter = claim()`, where `claim`
 * (a helper the rewrite appends, see {@link claimBody}) takes LOOP_CHUNK units from the budget and
 * returns LOOP_CHUNK - 1. The counter is a local, zero at entry, so a function's first iteration
 * claims: the units claimed are never fewer than the iterations run. The hot path is five small
 * instructions and a branch; a larger body in the loop (the claim inlined) measured 20-40 % slower
 * on SHA-256, this one a few percent.
 */
function loopCheckpoint(out: ByteWriter, ctx: CodeContext): void {
  // One unit per iteration: the same code as a bounded loop's claim of one trip.
  loopEntryClaim(out, ctx, 1);
}

/**
 * Before a bounded loop (see bounded.ts): `counter -= trips; if (counter < 0) counter = claim()`.
 * With trips <= LOOP_CHUNK, the units claimed are at least half the iterations run.
 */
function loopEntryClaim(out: ByteWriter, ctx: CodeContext, trips: number): void {
  const counter = ctx.counterLocal;
  out.byte(0x20).u32(counter); // local.get
  out.byte(0x41).s32(trips); // i32.const
  out.byte(0x6b); // i32.sub
  out.byte(0x22).u32(counter); // local.tee
  out.byte(0x41).byte(0x00); // i32.const 0
  out.byte(0x48); // i32.lt_s
  out.byte(0x04).byte(0x40); // if
  out.byte(0x10).u32(ctx.claimFunction()); // call claim
  out.byte(0x21).u32(counter); // local.set
  out.byte(0x0b); // end
}

/** Body of the claim helper, `() -> i32`: `budget -= LOOP_CHUNK; if (budget < 1) budget = check(); return LOOP_CHUNK - 1`. */
export function claimBody(ctx: CodeContext): Uint8Array {
  const out = new ByteWriter().u32(0); // no locals
  out.byte(0x23).u32(ctx.budgetGlobal); // global.get
  out.byte(0x41).s32(LOOP_CHUNK); // i32.const
  out.byte(0x6b); // i32.sub
  out.byte(0x24).u32(ctx.budgetGlobal); // global.set
  checkOnly(out, ctx);
  out.byte(0x41).s32(LOOP_CHUNK - 1); // i32.const
  out.byte(0x0b); // end
  return out.result();
}

/**
 * Reads the locals declaration of a function body; returns its bytes and how many locals it
 * declares (the index of the first local the rewrite may add is params + that).
 */
export function readLocals(r: ByteReader): { entries: number; declared: number; bytes: Uint8Array } {
  let declared = 0;
  const entries = r.u32();
  const start = r.pos;
  for (let n = entries; n > 0; n--) {
    declared += r.u32();
    const at = r.pos;
    if (!isValueType(r.u8())) r.fail('unsupported local type', at);
  }
  return { entries, declared, bytes: r.bytes.subarray(start, r.pos) };
}

/**
 * Rewrites the expression at `r.pos` up to its final `end` (included) into `out`. `r.end` must be
 * the end of the body or section holding it. Returns whether it calls a function (call,
 * call_indirect, return_call, return_call_indirect; not the grow helpers it adds) and whether it
 * has loops.
 */
export function rewriteExpression(
  r: ByteReader,
  out: ByteWriter,
  ctx: CodeContext,
): { calls: boolean; loops: boolean } {
  let calls = false;
  let loops = false;
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
      case 0x03: {
        // loop
        const emptyType = r.bytes[r.pos] === 0x40;
        skipImmediates(r, Imm.BlockType, at);
        depth++;
        loops = true;
        if (ctx.mode === 'none') continue;
        const trips = ctx.mode === 'interruptible' && emptyType ? boundedTrips(r) : 0;
        if (trips > 0) {
          // A loop of at most `trips` iterations (bounded.ts): counted once, before it starts.
          flush(at);
          loopEntryClaim(out, ctx, trips);
          copyFrom = at;
          continue;
        }
        flush(r.pos);
        if (ctx.mode === 'metered') checkpoint(out, ctx);
        else loopCheckpoint(out, ctx);
        copyFrom = r.pos;
        continue;
      }
      case 0x07: // catch
      case 0x19: // catch_all
        if (op === 0x07) r.u32();
        if (ctx.mode !== 'none') {
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
          return { calls, loops };
        }
        continue;
      case 0x11: // call_indirect
      case 0x13: // return_call_indirect
        calls = true;
        skipImmediates(r, Imm.Index2, at);
        continue;
      case 0x10: // call
      case 0x12: // return_call
      case 0xd2: {
        // ref.func
        if (op !== 0xd2) calls = true;
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
        if (imm === Imm.Unknown) r.fail(`unknown instruction 0xfc ${sub}`, at);
        // memory.init, data.drop, table.init, elem.drop, table.copy, table.grow, table.fill
        if (sub === 8 || sub === 9 || (sub >= 12 && sub <= 17 && sub !== 16))
          ctx.changesTablesOrSegments = true;
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
      case 0xfd:
      case 0xfe: {
        const sub = r.u32();
        const set = op === 0xfd ? SIMD : ATOMIC;
        const imm = sub < set.length ? (set[sub] as Imm) : Imm.Unknown;
        if (imm === Imm.Unknown) r.fail(`unknown instruction 0x${op.toString(16)} ${sub}`, at);
        skipImmediates(r, imm, at);
        continue;
      }
      case 0x26: // table.set
        ctx.changesTablesOrSegments = true;
        skipImmediates(r, Imm.Index, at);
        continue;
      default:
        skipImmediates(r, PLAIN[op] as Imm, at);
    }
  }
}
