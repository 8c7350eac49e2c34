/** Bytes up to this size share chunks; a bigger param gets a shared buffer of its own (also reused). */
const CHUNK_BYTES = 1 << 20;
const OWN_BUFFER_ABOVE = CHUNK_BYTES >> 2;
/** Empty chunks kept for reuse at least (more while recent batches needed more, see `Retention`). */
const SPARE_CHUNKS = 16;
/** Bytes of empty own buffers kept for reuse at least. */
const SPARE_OWN_BYTES = 64 << 20;
/** Kept memory never exceeds this, whatever recent work needed (chunks and own buffers each). */
const MAX_SPARE_BYTES = 1 << 30;
/** How long the most memory in use at once is remembered (see `Retention`). */
const WINDOW_MS = 2000;

/**
 * How much empty memory of one kind (chunks, own buffers) is kept: at least a floor, and as much as
 * was in use at once during the last one or two windows of WINDOW_MS. A runBatch() of 1,024 params of
 * 64 KiB copies 64 MiB; with two such batches in flight and only the floor kept, most of each batch
 * went into new memory, whose page faults cost the main thread about 28 µs per 64 KiB param here
 * (14 faults per param measured, against 0.1 once the peak was kept). Memory a burst needed is
 * given back once two windows pass without such a burst (a timer, so an idle pool trims too).
 */
class Retention {
  private inUse = 0;
  private peak = 0;
  private lastPeak = 0;
  private windowStart: number;

  constructor(
    private readonly floor: number,
    private readonly now: () => number,
  ) {
    this.windowStart = now();
  }

  take(amount: number): void {
    this.inUse += amount;
    if (this.inUse > this.peak) this.peak = this.inUse;
  }

  give(amount: number): void {
    this.inUse -= amount;
  }

  /** The most spare memory to keep now. */
  limit(): number {
    const elapsed = this.now() - this.windowStart;
    if (elapsed >= WINDOW_MS) {
      this.lastPeak = elapsed >= 2 * WINDOW_MS ? this.inUse : this.peak;
      this.peak = this.inUse;
      this.windowStart = this.now();
    }
    return Math.min(MAX_SPARE_BYTES, Math.max(this.floor, this.peak, this.lastPeak));
  }
}

/** Options of a {@link ByteArena} (tests give a clock). */
export interface ByteArenaOptions {
  now?: () => number;
}

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
  private readonly chunkRetention: Retention;
  private readonly ownRetention: Retention;
  private trimTimer: NodeJS.Timeout | undefined;

  constructor(options: ByteArenaOptions = {}) {
    const now = options.now ?? (() => performance.now());
    this.chunkRetention = new Retention(SPARE_CHUNKS * CHUNK_BYTES, now);
    this.ownRetention = new Retention(SPARE_OWN_BYTES, now);
  }

  /** Empty memory kept for reuse, in bytes (chunks and own buffers). */
  get spareBytes(): number {
    return this.spare.length * CHUNK_BYTES + this.spareOwnBytes;
  }

  /** A copy of `bytes` in pool-owned shared memory; `release` it once its task has settled. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > OWN_BUFFER_ABOVE) return this.copyOwn(bytes);
    let chunk = this.current;
    if (chunk === undefined || this.used + length > CHUNK_BYTES) {
      if (chunk !== undefined && chunk.live === 0) this.keep(chunk);
      chunk = this.spare.pop() ?? this.newChunk();
      this.chunkRetention.take(CHUNK_BYTES);
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
   * Gives back to the garbage collector the spare memory over what recent work needed (see
   * `Retention`). Runs as memory is kept, and on a timer while more than the floor is kept.
   */
  trim(): void {
    const chunkLimit = this.chunkRetention.limit() / CHUNK_BYTES;
    while (this.spare.length > chunkLimit) this.chunks.delete(this.spare.pop()!.buffer);
    const ownLimit = this.ownRetention.limit();
    for (const [size, kept] of this.spareOwn) {
      while (this.spareOwnBytes > ownLimit && kept.length > 0) {
        this.chunks.delete(kept.pop()!.buffer);
        this.spareOwnBytes -= size;
      }
    }
    const aboveFloor = this.spare.length > SPARE_CHUNKS || this.spareOwnBytes > SPARE_OWN_BYTES;
    if (aboveFloor && this.trimTimer === undefined) {
      this.trimTimer = setTimeout(() => {
        this.trimTimer = undefined;
        this.trim();
      }, WINDOW_MS);
      // Trimming never keeps a process alive.
      this.trimTimer.unref();
    }
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
    this.ownRetention.take(size);
    chunk.live = 1;
    const view = new Uint8Array(chunk.buffer, 0, bytes.byteLength);
    view.set(bytes);
    return view;
  }

  private keepOwn(chunk: Chunk): void {
    const size = chunk.buffer.byteLength;
    this.ownRetention.give(size);
    let kept = this.spareOwn.get(size);
    if (kept === undefined) this.spareOwn.set(size, (kept = []));
    kept.push(chunk);
    this.spareOwnBytes += size;
    this.trim();
  }

  private newChunk(): Chunk {
    const chunk: Chunk = { buffer: new SharedArrayBuffer(CHUNK_BYTES), own: false, live: 0 };
    this.chunks.set(chunk.buffer, chunk);
    return chunk;
  }

  /** An empty chunk: kept for reuse (`trim` forgets what recent work does not need). */
  private keep(chunk: Chunk): void {
    this.chunkRetention.give(CHUNK_BYTES);
    this.spare.push(chunk);
    this.trim();
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
