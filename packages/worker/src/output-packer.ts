/** Outputs up to this size share one buffer per results message; a bigger one is sent on its own. */
const OWN_BUFFER_ABOVE = 64 * 1024;
const CHUNK_BYTES = 256 * 1024;

/**
 * Where a worker copies the bytes outputs of one results message. Transferring an ArrayBuffer per
 * output costs more than the copy for small outputs: with 1,024 SHA-256 digests per message the
 * worker spent about a fifth of its time in postMessage (cpu profile of 4 KiB tasks). Small outputs
 * are packed into a few shared chunks (one transfer each); the pool gives each task a copy of its
 * own bytes (`ownBytes`), so that no result keeps another's bytes alive.
 */
export class OutputPacker {
  private chunk: ArrayBuffer | undefined;
  private used = 0;

  /**
   * A copy of `source` (a view of wasm memory) that travels in the message; its buffer joins
   * `transfer`. `tasksLeft` (this one included) sizes a new chunk: outputs of the message's other
   * tasks are guessed to be of this one's size, so a message of one task allocates only its bytes.
   */
  copy(source: Uint8Array, transfer: ArrayBuffer[], tasksLeft: number): Uint8Array {
    const length = source.length;
    if (length > OWN_BUFFER_ABOVE) {
      const own = source.slice();
      transfer.push(own.buffer);
      return own;
    }
    if (this.chunk === undefined || this.used + length > this.chunk.byteLength) {
      this.chunk = new ArrayBuffer(Math.max(length, Math.min(CHUNK_BYTES, length * tasksLeft)));
      this.used = 0;
      transfer.push(this.chunk);
    }
    const view = new Uint8Array(this.chunk, this.used, length);
    view.set(source);
    this.used += length;
    return view;
  }

  /** The message was posted: its chunks are gone (transferred). */
  sent(): void {
    this.chunk = undefined;
    this.used = 0;
  }
}

/** A bytes output as the caller gets it: its own buffer (a packed output is copied out of its chunk). */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
