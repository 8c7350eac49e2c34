/**
 * Independent JavaScript implementations the real-module tests compare the wasm answers with
 * (xxHash from its specification, FNV-1a, wc), plus deterministic random inputs.
 */

const P32_1 = 0x9e3779b1;
const P32_2 = 0x85ebca77;
const P32_3 = 0xc2b2ae3d;
const P32_4 = 0x27d4eb2f;
const P32_5 = 0x165667b1;

const rotl32 = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
const u32 = (bytes: Uint8Array, at: number): number =>
  (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;

/** XXH32 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md). */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  const round = (acc: number, lane: number): number =>
    Math.imul(rotl32((acc + Math.imul(lane, P32_2)) >>> 0, 13), P32_1) >>> 0;
  let at = 0;
  let acc: number;
  if (bytes.length >= 16) {
    let v1 = (seed + P32_1 + P32_2) >>> 0;
    let v2 = (seed + P32_2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - P32_1) >>> 0;
    for (; at + 16 <= bytes.length; at += 16) {
      v1 = round(v1, u32(bytes, at));
      v2 = round(v2, u32(bytes, at + 4));
      v3 = round(v3, u32(bytes, at + 8));
      v4 = round(v4, u32(bytes, at + 12));
    }
    acc = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) >>> 0;
  } else {
    acc = (seed + P32_5) >>> 0;
  }
  acc = (acc + bytes.length) >>> 0;
  for (; at + 4 <= bytes.length; at += 4) {
    acc = Math.imul(rotl32((acc + Math.imul(u32(bytes, at), P32_3)) >>> 0, 17), P32_4) >>> 0;
  }
  for (; at < bytes.length; at++) {
    acc = Math.imul(rotl32((acc + Math.imul(bytes[at]!, P32_5)) >>> 0, 11), P32_1) >>> 0;
  }
  acc = Math.imul(acc ^ (acc >>> 15), P32_2) >>> 0;
  acc = Math.imul(acc ^ (acc >>> 13), P32_3) >>> 0;
  return (acc ^ (acc >>> 16)) >>> 0;
}

const M64 = (1n << 64n) - 1n;
const P64_1 = 0x9e3779b185ebca87n;
const P64_2 = 0xc2b2ae3d27d4eb4fn;
const P64_3 = 0x165667b19e3779f9n;
const P64_4 = 0x85ebca77c2b2ae63n;
const P64_5 = 0x27d4eb2f165667c5n;
const rotl64 = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;
const u64 = (bytes: Uint8Array, at: number): bigint =>
  BigInt(u32(bytes, at)) | (BigInt(u32(bytes, at + 4)) << 32n);

/** XXH64, same specification. */
export function xxh64(bytes: Uint8Array, seed = 0n): bigint {
  const round = (acc: bigint, lane: bigint): bigint =>
    (rotl64((acc + lane * P64_2) & M64, 31n) * P64_1) & M64;
  const merge = (acc: bigint, v: bigint): bigint => ((acc ^ round(0n, v)) * P64_1 + P64_4) & M64;
  let at = 0;
  let acc: bigint;
  if (bytes.length >= 32) {
    let v1 = (seed + P64_1 + P64_2) & M64;
    let v2 = (seed + P64_2) & M64;
    let v3 = seed & M64;
    let v4 = (seed - P64_1) & M64;
    for (; at + 32 <= bytes.length; at += 32) {
      v1 = round(v1, u64(bytes, at));
      v2 = round(v2, u64(bytes, at + 8));
      v3 = round(v3, u64(bytes, at + 16));
      v4 = round(v4, u64(bytes, at + 24));
    }
    acc = (rotl64(v1, 1n) + rotl64(v2, 7n) + rotl64(v3, 12n) + rotl64(v4, 18n)) & M64;
    acc = merge(merge(merge(merge(acc, v1), v2), v3), v4);
  } else {
    acc = (seed + P64_5) & M64;
  }
  acc = (acc + BigInt(bytes.length)) & M64;
  for (; at + 8 <= bytes.length; at += 8) {
    acc = (rotl64(acc ^ round(0n, u64(bytes, at)), 27n) * P64_1 + P64_4) & M64;
  }
  if (at + 4 <= bytes.length) {
    acc = (rotl64(acc ^ ((BigInt(u32(bytes, at)) * P64_1) & M64), 23n) * P64_2 + P64_3) & M64;
    at += 4;
  }
  for (; at < bytes.length; at++) {
    acc = (rotl64(acc ^ ((BigInt(bytes[at]!) * P64_5) & M64), 11n) * P64_1) & M64;
  }
  acc = ((acc ^ (acc >> 33n)) * P64_2) & M64;
  acc = ((acc ^ (acc >> 29n)) * P64_3) & M64;
  return acc ^ (acc >> 32n);
}

/** 64-bit FNV-1a, as a signed i64 (what a wasm i64 result reads as). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & M64;
  return BigInt.asIntN(64, hash);
}

/** `wc`'s "lines words bytes" of a text, as the C command prints it. */
export function wc(bytes: Uint8Array): string {
  let lines = 0;
  let words = 0;
  let inWord = false;
  for (const byte of bytes) {
    if (byte === 10) lines++;
    if (byte === 32 || (byte >= 9 && byte <= 13)) inWord = false;
    else if (!inWord) {
      inWord = true;
      words++;
    }
  }
  return `${lines} ${words} ${bytes.length}\n`;
}

/** Deterministic pseudo-random bytes (xorshift32), so that failures can be replayed. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Deterministic text of words, spaces, tabs and newlines (and some non-ASCII letters). */
export function randomText(words: number, seed: number): string {
  const pieces = ['alpha', 'béta', 'γ', 'delta', '😀', 'x', 'lorem', 'ipsum'];
  const gaps = [' ', ' ', '  ', '\n', '\t', ' \n'];
  const noise = randomBytes(words * 2, seed);
  let text = '';
  for (let i = 0; i < words; i++) {
    text += pieces[noise[2 * i]! % pieces.length]! + gaps[noise[2 * i + 1]! % gaps.length]!;
  }
  return text;
}
