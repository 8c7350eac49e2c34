/** Bytes up to this size share chunks; a bigger param gets a shared buffer of its own. */
const CHUNK_BYTES = 1 << 20;
const OWN_BUFFER_ABOVE = CHUNK_BYTES >> 2;

/**
 * Where admission copies the caller's byte params: shared memory that the pool owns. A view over a
 * SharedArrayBuffer reaches the worker without another copy (postMessage shares it), and it stays
 * valid when a task is put back in the queue after its worker was lost. Small params are packed
 * into 1 MiB chunks (one allocation for many tasks); a chunk is collected once no task holds a view
 * of it.
 */
export class ByteArena {
  private chunk: SharedArrayBuffer | undefined;
  private used = 0;

  /** A copy of `bytes` in pool-owned shared memory. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > OWN_BUFFER_ABOVE) {
      const own = new Uint8Array(new SharedArrayBuffer(length));
      own.set(bytes);
      return own;
    }
    if (this.chunk === undefined || this.used + length > CHUNK_BYTES) {
      this.chunk = new SharedArrayBuffer(CHUNK_BYTES);
      this.used = 0;
    }
    const view = new Uint8Array(this.chunk, this.used, length);
    view.set(bytes);
    // Views start 8-byte aligned.
    this.used += (length + 7) & ~7;
    return view;
  }
}
