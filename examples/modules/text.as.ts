// text.as.ts — small text utilities over bytes passed with the wasmpool bytes calling convention.
// Compiled by scripts/build-wasm.mjs with AssemblyScript (-O3 --runtime incremental) to build/text.wasm.
//
// Imports:
//   env.abort(msgPtr: i32, filePtr: i32, line: i32, col: i32): void   (AssemblyScript runtime: failed
//     assertion or allocator failure, e.g. "Allocation too large"; the host should throw/trap)
// Exports:
//   memory
//   alloc(len: i32): i32                 heap.alloc; the host copies input bytes there
//   dealloc(ptr: i32, len: i32): void    heap.free (len is ignored)
//   wordstats(ptr: i32, len: i32): i64   UTF-8 JSON {"bytes":B,"words":W,"lines":L} in a fresh alloc,
//                                        as (i64(outPtr) << 32) | jsonLength   (task output: 'json')
//     bytes = len; words = maximal runs of non-whitespace bytes (whitespace = ASCII space, \t \n \v \f \r;
//     every other byte, including UTF-8 multi-byte sequences, is a word byte);
//     lines = number of '\n' bytes, plus 1 when the input is non-empty and does not end with '\n'
//     (so "a\nb" -> 2, "a\nb\n" -> 2, "" -> 0).
//   upper(ptr: i32, len: i32): i64       copy with ASCII a-z uppercased (other bytes unchanged) in a fresh
//                                        alloc, as (i64(outPtr) << 32) | len   (task output: 'string')
//
// No managed (GC) objects are created: everything works on raw linear memory.

const SCRATCH: usize = memory.data(64, 16);

export function alloc(len: i32): i32 {
  return <i32>heap.alloc(<usize>len);
}

export function dealloc(ptr: i32, _len: i32): void {
  if (ptr != 0) heap.free(<usize>ptr);
}

function pack(ptr: usize, len: usize): i64 {
  return ((<i64>ptr) << 32) | (<i64>(<u32>len));
}

function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Writes `s` (ASCII) at `at`, returns the position after it. */
function putAscii(at: usize, s: string): usize {
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; i++) {
    store<u8>(at + i, <u8>s.charCodeAt(<i32>i));
  }
  return at + n;
}

/** Writes the decimal form of `v` at `at`, returns the position after it. */
function putU32(at: usize, v: u32): usize {
  let digits: usize = 1;
  let t = v;
  while (t >= 10) {
    t /= 10;
    digits++;
  }
  let p = at + digits;
  do {
    p--;
    store<u8>(p, <u8>(0x30 + (v % 10)));
    v /= 10;
  } while (v != 0);
  return at + digits;
}

export function wordstats(ptr: i32, len: i32): i64 {
  const base = <usize>ptr;
  const n = <usize>(<u32>len);
  let words: u32 = 0;
  let lines: u32 = 0;
  let inWord = false;
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(base + i);
    if (c == 0x0a) lines++;
    if (isSpace(c)) {
      inWord = false;
    } else if (!inWord) {
      inWord = true;
      words++;
    }
  }
  if (n > 0 && load<u8>(base + n - 1) != 0x0a) lines++;

  let p = SCRATCH;
  p = putAscii(p, '{"bytes":');
  p = putU32(p, <u32>n);
  p = putAscii(p, ',"words":');
  p = putU32(p, words);
  p = putAscii(p, ',"lines":');
  p = putU32(p, lines);
  store<u8>(p, 0x7d); // '}'
  p++;
  const size = p - SCRATCH;
  const out = heap.alloc(size);
  memory.copy(out, SCRATCH, size);
  return pack(out, size);
}

export function upper(ptr: i32, len: i32): i64 {
  const base = <usize>ptr;
  const n = <usize>(<u32>len);
  const out = heap.alloc(n);
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(base + i);
    store<u8>(out + i, c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  return pack(out, n);
}
