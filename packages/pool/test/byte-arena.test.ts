import fc from 'fast-check';
import { WasmPool } from '@wasmpool/pool';
import { ByteArena } from '../src/tasks/byte-arena';
import { fixture, trackPools } from './helpers';

const track = trackPools();

describe('ByteArena', () => {
  test('a chunk is reused only once every view in it was released', () => {
    const arena = new ByteArena();
    // Four of these fill a 1 MiB chunk.
    const piece = (fill: number): Uint8Array => new Uint8Array(256_000).fill(fill);
    const inA = [1, 2, 3, 4].map(() => arena.copy(piece(7)));
    const chunkA = inA[0]!.buffer;
    expect(inA.every((view) => view.buffer === chunkA)).toBe(true);
    const inB = [1, 2, 3, 4].map(() => arena.copy(piece(8)));
    const chunkB = inB[0]!.buffer;
    expect(chunkB).not.toBe(chunkA);
    for (const view of inA.slice(0, 3)) arena.release(view);
    // A still holds a live view: the next chunk is a new one.
    const inC = [1, 2, 3, 4].map(() => arena.copy(piece(9)));
    expect(inC[0]!.buffer).not.toBe(chunkA);
    expect(inC[0]!.buffer).not.toBe(chunkB);
    expect(inA[3]!.every((v) => v === 7)).toBe(true);
    arena.release(inA[3]!);
    // A is empty now: the next chunk needed is A, from its start.
    const reused = arena.copy(piece(10));
    expect(reused.buffer).toBe(chunkA);
    expect(reused.byteOffset).toBe(0);
    expect(inB.every((view) => view.every((v) => v === 8))).toBe(true);
    expect(inC.every((view) => view.every((v) => v === 9))).toBe(true);
  });

  test('params bigger than a quarter chunk get a buffer of their own, reused once released', () => {
    const arena = new ByteArena();
    const big = arena.copy(new Uint8Array(600_000).fill(3));
    expect(big.byteOffset).toBe(0);
    expect(big.byteLength).toBe(600_000);
    // Buffers come in powers of two, so that the next big param of about the size fits.
    expect(big.buffer.byteLength).toBe(1 << 20);
    const other = arena.copy(new Uint8Array(700_000).fill(4));
    expect(other.buffer).not.toBe(big.buffer);
    arena.release(big);
    arena.release(big); // a second release of the same view changes nothing
    const next = arena.copy(new Uint8Array(1 << 20).fill(5));
    expect(next.buffer).toBe(big.buffer);
    const fresh = arena.copy(new Uint8Array(1 << 20).fill(6));
    expect(fresh.buffer).not.toBe(big.buffer);
    expect(other.every((v) => v === 4)).toBe(true);
    expect(next.every((v) => v === 5)).toBe(true);
    // A size of another power of two does not take it.
    arena.release(next);
    const small = arena.copy(new Uint8Array(300_000).fill(7));
    expect(small.buffer).not.toBe(big.buffer);
    expect(small.buffer.byteLength).toBe(1 << 19);
  });
});

describe('ByteArena keeps what recent work needed', () => {
  const MiB = 1 << 20;
  // A quarter chunk each: four fill a chunk.
  const quarter = (): Uint8Array => new Uint8Array(256_000).fill(1);

  test('a burst bigger than the floor is reused by the next burst, and given back once it is over', () => {
    let clock = 0;
    const arena = new ByteArena({ now: () => clock });
    const burst = (): Uint8Array[] => Array.from({ length: 4 * 40 }, () => arena.copy(quarter()));
    const first = burst();
    const firstBuffers = new Set(first.map((view) => view.buffer));
    expect(firstBuffers.size).toBe(40);
    for (const view of first) arena.release(view);
    // 40 chunks were in use at once: all are kept, not just the floor of 16.
    expect(arena.spareBytes).toBeGreaterThanOrEqual(39 * MiB);
    clock += 500;
    const second = burst();
    const reused = second.filter((view) => firstBuffers.has(view.buffer as SharedArrayBuffer)).length;
    expect(reused).toBeGreaterThanOrEqual(4 * 39);
    for (const view of second) arena.release(view);
    // Two windows without such a burst: back to the floor.
    clock += 2000;
    arena.trim();
    clock += 2000;
    arena.trim();
    expect(arena.spareBytes).toBeLessThanOrEqual(16 * MiB);
    expect(arena.spareBytes).toBeGreaterThan(0);
  });

  test('own buffers of big params: kept up to the recent peak, then down to the 64 MiB floor', () => {
    let clock = 0;
    const arena = new ByteArena({ now: () => clock });
    const big = Array.from({ length: 100 }, () => arena.copy(new Uint8Array(MiB).fill(2)));
    for (const view of big) arena.release(view);
    expect(arena.spareBytes).toBe(100 * MiB);
    const again = Array.from({ length: 100 }, () => arena.copy(new Uint8Array(MiB).fill(3)));
    const before = new Set(big.map((view) => view.buffer));
    expect(again.every((view) => before.has(view.buffer as SharedArrayBuffer))).toBe(true);
    expect(again.every((view) => view.every((v) => v === 3))).toBe(true);
    for (const view of again) arena.release(view);
    clock += 4000;
    arena.trim();
    expect(arena.spareBytes).toBe(64 * MiB);
  });
});

describe('bytes params in reused memory', () => {
  // Every task's sum must be its own input's, whatever settled before it (timeouts and aborts
  // included): a chunk is reused only when no task that was given bytes in it is open.
  test('property: run() and runBatch() of many inputs, with aborts and timeouts among them', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 2,
        maxWorkers: 2,
        modules: { bytes: { source: fixture('bytes') }, faults: { source: fixture('faults') } },
      }),
    );
    const input = fc.record({
      size: fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 262_145, max: 1_100_000 })),
      fill: fc.integer({ min: 0, max: 255 }),
      fate: fc.constantFrom('run', 'batch', 'abort', 'busy'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(input, { minLength: 20, maxLength: 60 }), async (inputs) => {
        const sum = (size: number, fill: number): number => size * fill;
        const batch = inputs.filter((i) => i.fate === 'batch');
        const running = inputs
          .filter((i) => i.fate !== 'batch')
          .map(async ({ size, fill, fate }) => {
            const bytes = new Uint8Array(size).fill(fill);
            if (fate === 'busy') {
              // A slow task that times out while others' bytes are copied and settled.
              const error = await pool
                .run({ module: 'faults', function: 'busy', params: [50_000_000] }, { timeoutMs: 5 })
                .catch((e: { code: string }) => e);
              expect((error as { code: string }).code).toBe('TIMEOUT');
              return;
            }
            const controller = new AbortController();
            const result = pool.run<number>(
              { module: 'bytes', function: 'sum', params: [bytes] },
              { signal: controller.signal },
            );
            bytes.fill(255 - fill); // read once: the task keeps its copy
            if (fate === 'abort') controller.abort();
            const outcome = await result.then(
              (value) => ({ value }),
              (error: { code: string }) => ({ code: error.code }),
            );
            if ('value' in outcome) expect(outcome.value).toBe(sum(size, fill));
            else expect(outcome.code).toBe('ABORTED');
          });
        const batchResults = pool.runBatch<number>(
          batch.map(({ size, fill }) => ({
            module: 'bytes',
            function: 'sum',
            params: [new Uint8Array(size).fill(fill)],
          })),
        );
        await Promise.all(running);
        (await batchResults).forEach((result, k) => {
          expect(result.output).toBe(sum(batch[k]!.size, batch[k]!.fill));
        });
      }),
      { numRuns: 25 },
    );
  });
});
