/** Bytes up to this size share chunks; a bigger param gets a shared buffer of its own (also reused). */
const CHUNK_BYTES = 1 << 20;
const OWN_BUFFER_ABOVE = CHUNK_BYTES >> 2;
/** Empty chunks kept for reuse (the rest are left to the garbage collector). */
const SPARE_CHUNKS = 16;
/** Bytes of empty own buffers kept for reuse. */
const SPARE_OWN_BYTES = 64 << 20;

interface Chunk {
  readonly buffer: SharedArrayBuffer;
  /** A buffer of one big param's own (else a chunk many params share). */
  readonly own: boolean;
  /** Views handed out and not released yet. */
  live: number;
}

/**
 * Where admission copies the caller's byte params: shared memory that the pool owns. A view over a
 * SharedArrayBuffer reaches the worker without another copy (postMessage shares it), and it stays
 * valid when a task is put back in the queue after its worker was lost. Small params are packed
 * into 1 MiB chunks (one allocation for many tasks).
 *
 * A chunk is reused once every task that had bytes in it has settled (`release`): the pages of a new
 * chunk are mapped on first write, and that page fault (about 2 µs per 4 KiB on this project's
 * machine) cost more than the copy itself, 2 µs of the main thread per 4 KiB task. A worker may still
 * read a settled task's bytes (a task timed out while it runs): it only reads, and that task's
 * result is dropped, so reuse cannot change another task's input.
 */
export class ByteArena {
  private current: Chunk | undefined;
  private used = 0;
  private readonly chunks = new Map<SharedArrayBuffer, Chunk>();
  private readonly spare: Chunk[] = [];
  /** Empty own buffers by size (a power of two), and their bytes in all. */
  private readonly spareOwn = new Map<number, Chunk[]>();
  private spareOwnBytes = 0;

  /** A copy of `bytes` in pool-owned shared memory; `release` it once its task has settled. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > OWN_BUFFER_ABOVE) return this.copyOwn(bytes);
    let chunk = this.current;
    if (chunk === undefined || this.used + length > CHUNK_BYTES) {
      if (chunk !== undefined && chunk.live === 0) this.keep(chunk);
      chunk = this.spare.pop() ?? this.newChunk();
      this.current = chunk;
      this.used = 0;
    }
    const view = new Uint8Array(chunk.buffer, this.used, length);
    view.set(bytes);
    chunk.live++;
    // Views start 8-byte aligned.
    this.used += (length + 7) & ~7;
    return view;
  }

  /** A task holding `view` (from `copy`) has settled: its chunk may be reused once none is left. */
  release(view: Uint8Array): void {
    const chunk = this.chunks.get(view.buffer as SharedArrayBuffer);
    if (chunk === undefined || chunk.live === 0) return;
    if (--chunk.live > 0 || chunk === this.current) return;
    if (chunk.own) this.keepOwn(chunk);
    else this.keep(chunk);
  }

  /**
   * A big param in a buffer of its own, of the next power of two (so that a buffer freed by one
   * task fits the next of about its size): reused like chunks, since a 1 MiB input cost about
   * 1 ms of page faults in a new buffer here, against 0.1 ms for the copy.
   */
  private copyOwn(bytes: Uint8Array): Uint8Array {
    const size = 2 ** Math.ceil(Math.log2(bytes.byteLength));
    const kept = this.spareOwn.get(size);
    let chunk = kept?.pop();
    if (chunk !== undefined) this.spareOwnBytes -= size;
    else {
      chunk = { buffer: new SharedArrayBuffer(size), own: true, live: 0 };
      this.chunks.set(chunk.buffer, chunk);
    }
    chunk.live = 1;
    const view = new Uint8Array(chunk.buffer, 0, bytes.byteLength);
    view.set(bytes);
    return view;
  }

  private keepOwn(chunk: Chunk): void {
    const size = chunk.buffer.byteLength;
    if (this.spareOwnBytes + size > SPARE_OWN_BYTES) {
      this.chunks.delete(chunk.buffer);
      return;
    }
    let kept = this.spareOwn.get(size);
    if (kept === undefined) this.spareOwn.set(size, (kept = []));
    kept.push(chunk);
    this.spareOwnBytes += size;
  }

  private newChunk(): Chunk {
    const chunk: Chunk = { buffer: new SharedArrayBuffer(CHUNK_BYTES), own: false, live: 0 };
    this.chunks.set(chunk.buffer, chunk);
    return chunk;
  }

  /** An empty chunk: kept for reuse, or forgotten (collected) when enough are kept. */
  private keep(chunk: Chunk): void {
    if (this.spare.length < SPARE_CHUNKS) this.spare.push(chunk);
    else this.chunks.delete(chunk.buffer);
  }
}

/** The arena of every pool in this thread (tasks of several pools share its chunks). */
export const byteArena = new ByteArena();

/** A settled task's copied params: their bytes' chunks may be reused. */
export function releaseParams(params: readonly unknown[]): void {
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    if (param instanceof Uint8Array) byteArena.release(param);
  }
}
