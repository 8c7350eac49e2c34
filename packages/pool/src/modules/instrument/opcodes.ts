/**
 * The instruction set the decoder knows: for every opcode Node 20's V8 (11.3) accepts by default, the
 * shape of its immediates. MVP, sign extension, saturating conversions and bulk memory (0xFC),
 * reference types, multi-value block types, fixed-width SIMD (0xFD), threads and atomics (0xFE), tail
 * calls and the legacy exception-handling instructions (try/catch/throw/rethrow/delegate/catch_all).
 * Anything else (GC, typed function references, exnref, relaxed SIMD, memory64, multi-memory) is
 * refused: the decoder only needs immediates' lengths, and a wrong length would misread every byte
 * after it.
 */
import type { ByteReader } from '../bytes';

/** What follows an opcode. */
export const Imm = {
  /** Not an instruction the decoder knows: refused. */
  Unknown: 0,
  /** Nothing. */
  None: 1,
  /** 0x40, a value type, or a type index (s33). */
  BlockType: 2,
  /** One u32 index or depth. */
  Index: 3,
  /** Two u32 indices. */
  Index2: 4,
  /** A vector of depths, then the default depth. */
  BrTable: 5,
  /** Alignment and offset (u32 each). */
  MemArg: 6,
  /** A memory index that must be 0 (memory.size, memory.grow, memory.fill). */
  Memory0: 7,
  /** A signed LEB128 of 32 bits. */
  I32: 8,
  /** A signed LEB128 of 64 bits. */
  I64: 9,
  /** 4 bytes. */
  F32: 10,
  /** 8 bytes. */
  F64: 11,
  /** A vector of value types (typed select). */
  SelectTypes: 12,
  /** A reference type byte (ref.null). */
  RefType: 13,
  /** An index, then a memory index 0 (memory.init). */
  IndexMemory0: 14,
  /** Two memory indices 0 (memory.copy). */
  Memory0x2: 15,
  /** 16 bytes (v128.const, i8x16.shuffle). */
  V128: 16,
  /** A memory argument and a lane index byte. */
  MemArgLane: 17,
  /** A lane index byte. */
  Lane: 18,
  /** A single reserved 0x00 byte (atomic.fence). */
  Zero: 19,
} as const;
export type Imm = (typeof Imm)[keyof typeof Imm];

function table(entries: [from: number, to: number, imm: Imm][], size = 256): Uint8Array {
  const out = new Uint8Array(size);
  for (const [from, to, imm] of entries) out.fill(imm, from, to + 1);
  return out;
}

/** Single-byte opcodes (0xFC, 0xFD and 0xFE are prefixes, handled apart). */
export const PLAIN = table([
  [0x00, 0x01, Imm.None], // unreachable, nop
  [0x02, 0x04, Imm.BlockType], // block, loop, if
  [0x05, 0x05, Imm.None], // else
  [0x06, 0x06, Imm.BlockType], // try
  [0x07, 0x09, Imm.Index], // catch tag, throw tag, rethrow depth
  [0x0b, 0x0b, Imm.None], // end
  [0x0c, 0x0d, Imm.Index], // br, br_if
  [0x0e, 0x0e, Imm.BrTable],
  [0x0f, 0x0f, Imm.None], // return
  [0x10, 0x10, Imm.Index], // call
  [0x11, 0x11, Imm.Index2], // call_indirect type table
  [0x12, 0x12, Imm.Index], // return_call
  [0x13, 0x13, Imm.Index2], // return_call_indirect
  [0x18, 0x18, Imm.Index], // delegate depth
  [0x19, 0x19, Imm.None], // catch_all
  [0x1a, 0x1b, Imm.None], // drop, select
  [0x1c, 0x1c, Imm.SelectTypes],
  [0x20, 0x26, Imm.Index], // local.get/set/tee, global.get/set, table.get/set
  [0x28, 0x3e, Imm.MemArg], // loads and stores
  [0x3f, 0x40, Imm.Memory0], // memory.size, memory.grow
  [0x41, 0x41, Imm.I32],
  [0x42, 0x42, Imm.I64],
  [0x43, 0x43, Imm.F32],
  [0x44, 0x44, Imm.F64],
  [0x45, 0xc4, Imm.None], // numeric, sign extension
  [0xd0, 0xd0, Imm.RefType], // ref.null
  [0xd1, 0xd1, Imm.None], // ref.is_null
  [0xd2, 0xd2, Imm.Index], // ref.func
]);

/** 0xFC sub-opcodes: saturating truncation, bulk memory, table instructions. */
export const MISC = table(
  [
    [0, 7, Imm.None], // i32/i64.trunc_sat_f32/f64_s/u
    [8, 8, Imm.IndexMemory0], // memory.init
    [9, 9, Imm.Index], // data.drop
    [10, 10, Imm.Memory0x2], // memory.copy
    [11, 11, Imm.Memory0], // memory.fill
    [12, 12, Imm.Index2], // table.init elem table
    [13, 13, Imm.Index], // elem.drop
    [14, 14, Imm.Index2], // table.copy
    [15, 17, Imm.Index], // table.grow, table.size, table.fill
  ],
  18,
);

/** Sub-opcodes of fixed-width SIMD with no assigned instruction below 0x100. */
const SIMD_GAPS = [
  0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4,
  0xe2, 0xee,
];

/** 0xFD sub-opcodes (fixed-width SIMD; relaxed SIMD, from 0x100, is not shipped in Node 20). */
export const SIMD = table([
  [0x00, 0x0b, Imm.MemArg], // v128.load*, v128.store
  [0x0c, 0x0c, Imm.V128], // v128.const
  [0x0d, 0x0d, Imm.V128], // i8x16.shuffle: 16 lane bytes
  [0x0e, 0x14, Imm.None], // swizzle, splats
  [0x15, 0x22, Imm.Lane], // extract_lane, replace_lane
  [0x23, 0x53, Imm.None], // comparisons, bitwise, any_true
  [0x54, 0x5b, Imm.MemArgLane], // load/store lane
  [0x5c, 0x5d, Imm.MemArg], // load32_zero, load64_zero
  [0x5e, 0xff, Imm.None],
]);
for (const gap of SIMD_GAPS) SIMD[gap] = Imm.Unknown;

/** 0xFE sub-opcodes (threads). */
export const ATOMIC = table(
  [
    [0x00, 0x02, Imm.MemArg], // memory.atomic.notify, wait32, wait64
    [0x03, 0x03, Imm.Zero], // atomic.fence
    [0x10, 0x4e, Imm.MemArg], // atomic loads, stores, read-modify-write, cmpxchg
  ],
  0x4f,
);

/** Value types of Node 20 (the single-byte ones). */
export function isValueType(b: number): boolean {
  return (b >= 0x7b && b <= 0x7f) || b === 0x70 || b === 0x6f;
}

export function isRefType(b: number): boolean {
  return b === 0x70 || b === 0x6f;
}

/** Reads the immediates of shape `imm` (the opcode is already read); refuses unknown shapes. */
export function skipImmediates(r: ByteReader, imm: Imm, opAt: number): void {
  switch (imm) {
    case Imm.None:
      return;
    case Imm.BlockType: {
      const b = r.bytes[r.pos];
      if (b === 0x40 || (b !== undefined && isValueType(b))) r.pos++;
      else if (r.s33() < 0) r.fail('unsupported block type', opAt);
      return;
    }
    case Imm.Index:
      r.u32();
      return;
    case Imm.Index2:
      r.u32();
      r.u32();
      return;
    case Imm.BrTable:
      for (let n = r.u32(); n >= 0; n--) r.u32();
      return;
    case Imm.MemArg:
      memArg(r);
      return;
    case Imm.MemArgLane:
      memArg(r);
      r.skip(1);
      return;
    case Imm.Memory0:
      memory0(r);
      return;
    case Imm.Memory0x2:
      memory0(r);
      memory0(r);
      return;
    case Imm.IndexMemory0:
      r.u32();
      memory0(r);
      return;
    case Imm.I32:
      r.skipLeb(32);
      return;
    case Imm.I64:
      r.skipLeb(64);
      return;
    case Imm.F32:
      r.skip(4);
      return;
    case Imm.F64:
      r.skip(8);
      return;
    case Imm.V128:
      r.skip(16);
      return;
    case Imm.Lane:
      r.skip(1);
      return;
    case Imm.Zero:
      if (r.u8() !== 0) r.fail('atomic.fence takes a zero byte', opAt);
      return;
    case Imm.SelectTypes:
      for (let n = r.u32(); n > 0; n--) {
        if (!isValueType(r.u8())) r.fail('unsupported value type in select', opAt);
      }
      return;
    case Imm.RefType:
      if (!isRefType(r.u8())) r.fail('unsupported reference type', opAt);
      return;
    default:
      r.fail(`unknown instruction 0x${r.bytes[opAt]!.toString(16)}`, opAt);
  }
}

function memArg(r: ByteReader): void {
  const at = r.pos;
  const align = r.u32();
  // Bit 6 of the alignment announces a memory index (multi-memory), not in Node 20.
  if (align >= 0x40) r.fail('memory argument with a memory index (multi-memory) is not supported', at);
  r.u32();
}

function memory0(r: ByteReader): void {
  const at = r.pos;
  if (r.u32() !== 0) r.fail('only memory 0 exists (multi-memory is not supported)', at);
}
