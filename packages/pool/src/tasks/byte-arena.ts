/** Bytes up to this size share chunks; a bigger param gets a shared buffer of its own. */
const CHUNK_BYTES = 1 << 20;
const OWN_BUFFER_ABOVE = CHUNK_BYTES >> 2;
/** Empty chunks kept for reuse (the rest are left to the garbage collector). */
const SPARE_CHUNKS = 16;

interface Chunk {
  readonly buffer: SharedArrayBuffer;
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

  /** A copy of `bytes` in pool-owned shared memory; `release` it once its task has settled. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > OWN_BUFFER_ABOVE) {
      const own = new Uint8Array(new SharedArrayBuffer(length));
      own.set(bytes);
      return own;
    }
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
    if (chunk === undefined) return;
    if (--chunk.live === 0 && chunk !== this.current) this.keep(chunk);
  }

  private newChunk(): Chunk {
    const chunk: Chunk = { buffer: new SharedArrayBuffer(CHUNK_BYTES), live: 0 };
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
