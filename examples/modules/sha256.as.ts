// sha256.as.ts — SHA-256 (FIPS 180-4) over bytes passed with the wasmpool bytes calling convention.
// Compiled by scripts/build-wasm.mjs with AssemblyScript (-O3 --runtime incremental) to build/sha256.wasm.
//
// Imports:
//   env.abort(msgPtr: i32, filePtr: i32, line: i32, col: i32): void   (AssemblyScript runtime: failed
//     assertion or allocator failure, e.g. "Allocation too large"; the host should throw/trap)
// Exports:
//   memory
//   alloc(len: i32): i32                 heap.alloc; the host copies input bytes there
//   dealloc(ptr: i32, len: i32): void    heap.free (len is ignored)
//   sha256(ptr: i32, len: i32): i64      raw 32-byte digest in a fresh alloc, as (i64(outPtr) << 32) | 32
//   sha256_hex(ptr: i32, len: i32): i64  64-char lowercase hex digest in a fresh alloc, as (i64(outPtr) << 32) | 64
//
// No managed (GC) objects are created: everything works on raw linear memory, so memory use is bounded
// by what the host allocates and frees.

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const H0: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const HEX: usize = memory.data<u8>([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
]);

const W: usize = memory.data(64 * 4, 16); // message schedule
const STATE: usize = memory.data(8 * 4, 16); // running hash state
const BLOCK: usize = memory.data(64, 16); // padded tail block
const DIGEST: usize = memory.data(32, 16); // scratch digest for sha256_hex

export function alloc(len: i32): i32 {
  return <i32>heap.alloc(<usize>len);
}

export function dealloc(ptr: i32, _len: i32): void {
  if (ptr != 0) heap.free(<usize>ptr);
}

function pack(ptr: usize, len: i32): i64 {
  return ((<i64>ptr) << 32) | (<i64>(<u32>len));
}

function compress(block: usize): void {
  for (let i: usize = 0; i < 16; i++) {
    store<u32>(W + (i << 2), bswap<u32>(load<u32>(block + (i << 2))));
  }
  for (let i: usize = 16; i < 64; i++) {
    const w15 = load<u32>(W + ((i - 15) << 2));
    const w2 = load<u32>(W + ((i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (i << 2), load<u32>(W + ((i - 16) << 2)) + s0 + load<u32>(W + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(STATE, 0);
  let b = load<u32>(STATE, 4);
  let c = load<u32>(STATE, 8);
  let d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16);
  let f = load<u32>(STATE, 20);
  let g = load<u32>(STATE, 24);
  let h = load<u32>(STATE, 28);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + (i << 2)) + load<u32>(W + (i << 2));
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(STATE, load<u32>(STATE, 0) + a, 0);
  store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8);
  store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16);
  store<u32>(STATE, load<u32>(STATE, 20) + f, 20);
  store<u32>(STATE, load<u32>(STATE, 24) + g, 24);
  store<u32>(STATE, load<u32>(STATE, 28) + h, 28);
}

/** Hashes `len` bytes at `ptr` and writes the 32-byte big-endian digest to `out`. */
function digestInto(ptr: usize, len: usize, out: usize): void {
  memory.copy(STATE, H0, 32);
  let off: usize = 0;
  while (len - off >= 64) {
    compress(ptr + off);
    off += 64;
  }
  const rem = len - off;
  memory.copy(BLOCK, ptr + off, rem);
  store<u8>(BLOCK + rem, 0x80);
  memory.fill(BLOCK + rem + 1, 0, 63 - rem);
  if (rem >= 56) {
    compress(BLOCK);
    memory.fill(BLOCK, 0, 56);
  }
  store<u64>(BLOCK + 56, bswap<u64>((<u64>len) << 3));
  compress(BLOCK);
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(out + (i << 2), bswap<u32>(load<u32>(STATE + (i << 2))));
  }
}

/** Raw SHA-256 digest: returns (outPtr << 32) | 32; the host deallocs outPtr. */
export function sha256(ptr: i32, len: i32): i64 {
  const out = heap.alloc(32);
  digestInto(<usize>ptr, <usize>(<u32>len), out);
  return pack(out, 32);
}

/** Lowercase hex SHA-256 digest (64 ASCII chars): returns (outPtr << 32) | 64; the host deallocs outPtr. */
export function sha256_hex(ptr: i32, len: i32): i64 {
  digestInto(<usize>ptr, <usize>(<u32>len), DIGEST);
  const out = heap.alloc(64);
  for (let i: usize = 0; i < 32; i++) {
    const byte = <usize>load<u8>(DIGEST + i);
    store<u8>(out + (i << 1), load<u8>(HEX + (byte >> 4)));
    store<u8>(out + (i << 1) + 1, load<u8>(HEX + (byte & 15)));
  }
  return pack(out, 64);
}
