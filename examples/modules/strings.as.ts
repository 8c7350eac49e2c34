// asc-flags: --exportRuntime
// An AssemblyScript library with string APIs, called through `abi: 'assemblyscript'`: strings cross
// as managed AssemblyScript strings (built with --exportRuntime, so the pool can use __new/__pin/__unpin),
// and bytes as ArrayBuffers.

/** "Hello, <name>!" */
export function greet(name: string): string {
  return 'Hello, ' + name + '!';
}

/** The string with its UTF-16 code units in reverse order, surrogate pairs kept together. */
export function reverse(text: string): string {
  let out = '';
  let i = text.length - 1;
  while (i >= 0) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const high = text.charCodeAt(i - 1);
      if (high >= 0xd800 && high <= 0xdbff) {
        out += text.substring(i - 1, i + 1);
        i -= 2;
        continue;
      }
    }
    out += String.fromCharCode(unit);
    i--;
  }
  return out;
}

/** How many times `needle` occurs in `text` (non-overlapping); 0 for an empty needle. */
export function count(text: string, needle: string): i32 {
  if (needle.length == 0) return 0;
  let n = 0;
  let at = text.indexOf(needle);
  while (at >= 0) {
    n++;
    at = text.indexOf(needle, at + needle.length);
  }
  return n;
}

/** `text` repeated `times` times, joined by `separator`. */
export function repeatJoin(text: string, times: i32, separator: string): string {
  const parts = new Array<string>(max(times, 0));
  for (let i = 0; i < times; i++) parts[i] = text;
  return parts.join(separator);
}

/** The bytes XOR-ed with `key` (a new ArrayBuffer). */
export function xorBytes(data: ArrayBuffer, key: u8): ArrayBuffer {
  const input = Uint8Array.wrap(data);
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i] ^ key;
  return out.buffer;
}

/** The UTF-8 length of the string. */
export function utf8Length(text: string): i32 {
  return String.UTF8.byteLength(text);
}
