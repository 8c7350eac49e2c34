/**
 * Recognizes a loop that cannot run more than a few iterations, so that an interruptible
 * checkpoint can count it once at its entry instead of at every iteration. Hot inner loops of real
 * code (SHA-256's rounds, block copies) are mostly of this shape, and their per-iteration check is
 * where most of the instrumentation's cost went.
 *
 * The one shape accepted, the `for (i = …; i < C; i += k)` loop compilers emit (AssemblyScript and
 * Binaryen keep it as is):
 *
 *     loop                          ;; no params or results
 *       local.get $i  i32.const C  i32.lt_u
 *       if                          ;; no else
 *         …                         ;; never writes $i, never branches back to the loop
 *         local.get $i  i32.const k  i32.add  local.set $i
 *         br 1                      ;; the only branch back to the loop
 *       end
 *     end
 *
 * with 1 <= C <= {@link MAX_BOUNDED_TRIPS} and 1 <= k <= 65536. Whatever $i starts at, unsigned and
 * growing by k without wrapping (i < C <= 2^16 and k <= 2^16), the loop runs at most C times per
 * entry. Anything else — another write to $i, another back edge, a `br_table` naming the loop, an
 * else — and the loop gets its per-iteration checkpoint.
 */
import type { ByteReader } from '../bytes';
import { ATOMIC, Imm, MISC, PLAIN, SIMD, skipImmediates } from './opcodes';

/** Most iterations a loop may have to be counted once at its entry. */
export const MAX_BOUNDED_TRIPS = 100;

const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_LT_U = 0x49;
const BR = 0x0c;
const BR_IF = 0x0d;
const BR_TABLE = 0x0e;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const EMPTY = 0x40;

/**
 * At `r.pos` just after a `loop` with an empty block type: the loop's bound C if it has the shape
 * above, else 0. Reads ahead on a copy of the position; `r.pos` is left as it was.
 */
export function boundedTrips(r: ByteReader): number {
  const start = r.pos;
  try {
    return scan(r);
  } catch {
    return 0; // malformed or unknown here: the main pass reports it
  } finally {
    r.pos = start;
  }
}

function scan(r: ByteReader): number {
  if (r.u8() !== LOCAL_GET) return 0;
  const counter = r.u32();
  if (r.u8() !== I32_CONST) return 0;
  const bound = r.s33();
  if (bound < 1 || bound > MAX_BOUNDED_TRIPS) return 0;
  if (r.u8() !== I32_LT_U || r.u8() !== IF || r.u8() !== EMPTY) return 0;

  // The if's body: depth 0 is the if itself; a branch to depth + 1 goes back to the loop.
  let depth = 0;
  let writes = 0;
  let backEdges = 0;
  /** Offsets of the last instructions directly in the if (five, and the end being read). */
  const tail: number[] = [];
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    if (depth === 0) {
      tail.push(at);
      if (tail.length > 6) tail.shift();
    }
    switch (op) {
      case 0x02: // block
      case 0x03: // loop
      case IF:
      case 0x06: // try
        skipImmediates(r, Imm.BlockType, at);
        depth++;
        continue;
      case ELSE:
        if (depth === 0) return 0;
        continue;
      case END:
        if (depth-- > 0) continue;
        tail.pop(); // the end itself
        if (r.u8() !== END) return 0; // the loop must end right after the if
        return writes === 1 && backEdges === 1 && isIncrementThenBack(r, tail.slice(-5), counter) ? bound : 0;
      case 0x18: // delegate: ends a try (an exception it passes on leaves the loop: no back edge)
        r.u32();
        depth--;
        continue;
      case LOCAL_SET:
      case LOCAL_TEE:
        if (r.u32() === counter) writes++;
        continue;
      case BR:
      case BR_IF:
        if (r.u32() === depth + 1) backEdges++;
        continue;
      case BR_TABLE:
        for (let n = r.u32(); n >= 0; n--) if (r.u32() === depth + 1) backEdges += 2;
        continue;
      case 0xfc:
      case 0xfd:
      case 0xfe: {
        const sub = r.u32();
        const set = op === 0xfc ? MISC : op === 0xfd ? SIMD : ATOMIC;
        skipImmediates(r, sub < set.length ? (set[sub] as Imm) : Imm.Unknown, at);
        continue;
      }
      default:
        skipImmediates(r, PLAIN[op] as Imm, at);
    }
  }
}

/** Whether the five instructions at `tail` are `local.get i, i32.const k, i32.add, local.set i, br 1`. */
function isIncrementThenBack(r: ByteReader, tail: number[], counter: number): boolean {
  if (tail.length !== 5) return false;
  const end = r.pos;
  try {
    r.pos = tail[0]!;
    if (r.u8() !== LOCAL_GET || r.u32() !== counter) return false;
    if (r.u8() !== I32_CONST) return false;
    const step = r.s33();
    if (step < 1 || step > 65536) return false;
    if (r.u8() !== I32_ADD) return false;
    if (r.u8() !== LOCAL_SET || r.u32() !== counter) return false;
    return r.u8() === BR && r.u32() === 1 && r.pos === tail[4]! + 2;
  } finally {
    r.pos = end;
  }
}
