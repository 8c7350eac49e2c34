/**
 * Byte-level reading and writing of WebAssembly binaries (the section parser in wasm-binary.ts and
 * the instrumenter): LEB128 integers and raw spans. Every read is bounds-checked and reports its
 * offset, so that malformed input is refused, never misread.
 */

/** Thrown for input the instrumenter cannot read or does not know; `offset` is where. */
export class InstrumentError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte offset ${offset}`);
    this.name = 'InstrumentError';
  }
}

/** A bounds-checked cursor over `bytes[pos, end)`. */
export class ByteReader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    public end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(what: string, at = this.pos): never {
    throw new InstrumentError(what, at);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end of input');
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.u8();
      if (shift === 28) {
        if (b & 0xf0) this.fail('LEB128 u32 too long or too large', start);
        return (result | (b << 28)) >>> 0;
      }
      result |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return result >>> 0;
    }
  }

  /** Skips a LEB128 integer of at most `bits` bits (signed or not: only its length matters). */
  skipLeb(bits: number): void {
    const start = this.pos;
    const max = Math.ceil(bits / 7);
    for (let n = 1; ; n++) {
      const b = this.u8();
      if (!(b & 0x80)) return;
      if (n === max) this.fail(`LEB128 longer than ${bits} bits`, start);
    }
  }

  /** Signed LEB128 of at most 33 bits (block types), as a number. */
  s33(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let n = 1; ; n++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return b & 0x40 ? result - scale : result;
      if (n === 5) this.fail('LEB128 s33 too long', start);
    }
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.fail('unexpected end of input');
    this.pos += n;
  }
}

/** A growing byte buffer. */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.reserve(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(data: ArrayLike<number>): this {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer up to 2^32 - 1. */
  u32(value: number): this {
    let v = value >>> 0;
    do {
      const b = v & 0x7f;
      v >>>= 7;
      this.byte(v !== 0 ? b | 0x80 : b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(value: number): this {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  /** Writes a byte vector preceded by its length. */
  sized(data: Uint8Array): this {
    return this.u32(data.length).bytes(data);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
