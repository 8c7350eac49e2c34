import { WasmPool, WasmPoolError, type WasmResult, type WasmTask } from '@wasmpool/pool';
import { example, fixture, trackPools, waitFor } from './helpers';

const track = trackPools();

async function pool(options: Parameters<typeof WasmPool.create>[0] = {}): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 2,
      maxWorkers: 2,
      modules: { math: { source: example('math') }, faults: { source: fixture('faults') } },
      ...options,
    }),
  );
}

function* adds(n: number, counter?: { pulled: number }): Generator<WasmTask> {
  for (let i = 0; i < n; i++) {
    if (counter !== undefined) counter.pulled++;
    yield { module: 'math', function: 'add', params: [i, 1] };
  }
}

async function collect<T>(results: AsyncIterable<WasmResult<T>>): Promise<WasmResult<T>[]> {
  const out: WasmResult<T>[] = [];
  for await (const result of results) out.push(result);
  return out;
}

describe('stream()', () => {
  test('ordered (the default): one result per task, in input order, ids by position', async () => {
    const p = await pool();
    const results = await collect(p.stream<number>(adds(20_000)));
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    expect(results[7]!.id).toBe('7');
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, completed: 20_000 });
  });

  test('unordered: every task once, as they complete', async () => {
    const p = await pool();
    const tasks: WasmTask[] = [];
    for (let i = 0; i < 200; i++) {
      // A slow task first: in an unordered stream the quick ones behind it come out before it.
      tasks.push(
        i === 0
          ? { id: 'slow', module: 'faults', function: 'busy', params: [20_000_000] }
          : { id: `t${i}`, module: 'math', function: 'add', params: [i, 0] },
      );
    }
    const results = await collect(p.stream(tasks, { ordered: false }));
    expect(results).toHaveLength(200);
    expect(new Set(results.map((r) => r.id)).size).toBe(200);
    expect(results.every((r) => r.success)).toBe(true);
    expect(results[0]!.id).not.toBe('slow');
    for (const r of results) if (r.id !== 'slow') expect(r.output).toBe(Number(r.id.slice(1)));
  });

  test('an async source, pulled only as fast as results are consumed', async () => {
    const p = await pool();
    const counter = { pulled: 0 };
    async function* slowly(): AsyncGenerator<WasmTask> {
      for (const task of adds(5_000, counter)) {
        if (counter.pulled % 100 === 0) await new Promise((r) => setTimeout(r, 1));
        yield task;
      }
    }
    let consumed = 0;
    let mostAhead = 0;
    for await (const result of p.stream<number>(slowly(), { highWaterMark: 64 })) {
      expect(result.output).toBe(consumed + 1);
      consumed++;
      mostAhead = Math.max(mostAhead, counter.pulled - consumed);
    }
    expect(consumed).toBe(5_000);
    expect(mostAhead).toBeLessThanOrEqual(64);
  });

  test('a sync source is held to highWaterMark tasks ahead of the consumer', async () => {
    const p = await pool();
    const counter = { pulled: 0 };
    let consumed = 0;
    for await (const result of p.stream(adds(3_000, counter), { highWaterMark: 10 })) {
      consumed++;
      expect(counter.pulled - consumed).toBeLessThanOrEqual(10);
      expect(result.success).toBe(true);
    }
    expect(consumed).toBe(3_000);
  });

  test('leaving early cancels what has not started, and leaves the pool clean', async () => {
    const p = await pool();
    const counter = { pulled: 0 };
    // Ten quick tasks, then slow ones: when the consumer leaves after ten results, at most one slow
    // task per worker has started, so the rest must be cancelled however fast this machine is.
    function* quickThenSlow(): Generator<WasmTask> {
      for (let i = 0; i < 1_000_000; i++) {
        counter.pulled++;
        yield i < 10
          ? { module: 'math', function: 'add', params: [i, 1] }
          : { module: 'faults', function: 'busy', params: [20_000_000] };
      }
    }
    const seen: WasmResult[] = [];
    for await (const result of p.stream(quickThenSlow(), { highWaterMark: 500 })) {
      seen.push(result);
      if (seen.length === 10) break;
    }
    expect(counter.pulled).toBeLessThanOrEqual(510);
    // Every task pulled settles once: it ran, or it was cancelled before it started.
    const settled = (): number => p.stats().completed + (p.stats().failures.ABORTED ?? 0);
    await waitFor(() => settled() >= counter.pulled, 5_000, 'every pulled task to settle');
    expect(settled()).toBe(counter.pulled);
    expect(p.stats().failures.ABORTED).toBeGreaterThan(0);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, failed: p.stats().failures.ABORTED });
    // The pool serves on.
    await expect(p.run({ module: 'math', function: 'add', params: [2, 3] })).resolves.toBe(5);
  });

  test('a failing or refused task is a failed result, never a throw', async () => {
    const p = await pool();
    const results = await collect(
      p.stream([
        { module: 'faults', function: 'trap' },
        { module: 'nope', function: 'x' },
        null as unknown as WasmTask,
        { module: 'math', function: 'add', params: [1, 1] },
      ]),
    );
    expect(results.map((r) => r.error?.code ?? r.output)).toEqual([
      'TRAP',
      'MODULE_NOT_FOUND',
      'INVALID_PARAMS',
      2,
    ]);
  });

  test('timeoutMs and signal work as in run()', async () => {
    const p = await pool();
    const timed = await collect(
      p.stream(
        [
          { module: 'faults', function: 'loop_forever' },
          { module: 'math', function: 'add', params: [1, 2] },
        ],
        {
          timeoutMs: 100,
        },
      ),
    );
    expect(timed.map((r) => r.error?.code ?? r.output)).toEqual(['TIMEOUT', 3]);

    const controller = new AbortController();
    const results: WasmResult[] = [];
    setTimeout(() => controller.abort(new Error('enough')), 100);
    async function* forever(): AsyncGenerator<WasmTask> {
      for (;;) {
        yield { module: 'faults', function: 'busy', params: [1_000_000] };
        await new Promise((r) => setImmediate(r));
      }
    }
    for await (const result of p.stream(forever(), { signal: controller.signal })) results.push(result);
    expect(results.length).toBeGreaterThan(0);
    const aborted = results.filter((r) => r.error?.code === 'ABORTED');
    expect(results.every((r) => r.success || r.error?.code === 'ABORTED')).toBe(true);
    expect(aborted.length).toBeGreaterThan(0);
    expect(aborted[0]!.error!.message).toContain('enough');
  });

  test('bad sources and options are WasmPoolErrors; a source that throws ends the stream with one', async () => {
    const p = await pool();
    expect(() => p.stream(42 as unknown as WasmTask[])).toThrow(WasmPoolError);
    expect(() => p.stream([], { highWaterMark: 0 })).toThrow(/highWaterMark/);
    expect(() => p.stream([], 'x' as never)).toThrow(WasmPoolError);
    // The tasks a source gave before it broke are accepted: their results come out, then the error.
    function* broken(): Generator<WasmTask> {
      yield* adds(10);
      throw new Error('source broke');
    }
    async function* brokenLater(): AsyncGenerator<WasmTask> {
      for (const task of adds(10)) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield task;
      }
      throw new Error('source broke');
    }
    for (const source of [broken(), brokenLater()]) {
      const outputs: unknown[] = [];
      let error: unknown;
      try {
        for await (const result of p.stream(source)) outputs.push(result.output);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(WasmPoolError);
      expect((error as WasmPoolError).message).toContain('source broke');
      expect(outputs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
    await waitFor(() => p.stats().queued === 0 && p.stats().running === 0, 5_000, 'an idle pool');
    expect(p.stats()).toMatchObject({ completed: 20, failed: 0 });
  });

  test('a fired signal ends a stream whose source never answers; so does closing the pool', async () => {
    const p = await pool();
    let returned = 0;
    const silent = (given: number): AsyncIterable<WasmTask> => ({
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: () =>
            i++ < given
              ? Promise.resolve({ done: false, value: adds(1).next().value as WasmTask })
              : new Promise<IteratorResult<WasmTask>>(() => undefined),
          return: () => {
            returned++;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    });
    const seen: WasmResult[] = [];
    for await (const result of p.stream(silent(3), { signal: AbortSignal.timeout(100) })) seen.push(result);
    expect(seen.map((r) => r.output)).toEqual([1, 1, 1]);
    expect(returned).toBe(1);
    const closing = (async () => {
      const outputs: unknown[] = [];
      try {
        for await (const result of p.stream(silent(2))) outputs.push(result.output);
      } catch (error) {
        return { outputs, error };
      }
      return { outputs, error: undefined };
    })();
    await waitFor(() => p.stats().completed === 5, 5_000, 'the tasks given');
    await p.close();
    const { outputs, error } = await closing;
    expect(outputs).toEqual([1, 1]);
    expect(error).toMatchObject({ code: 'POOL_CLOSED' });
  });

  test('a source whose iterator returns a non-object ends the stream with INVALID_PARAMS', async () => {
    const p = await pool();
    const broken = (async: boolean): Iterable<WasmTask> | AsyncIterable<WasmTask> => {
      let calls = 0;
      const next = (): unknown => (++calls <= 3 ? { done: false, value: adds(1).next().value } : 5);
      const iterator = { next: async ? async () => next() : next };
      return (async ? { [Symbol.asyncIterator]: () => iterator } : { [Symbol.iterator]: () => iterator }) as
        Iterable<WasmTask> | AsyncIterable<WasmTask>;
    };
    for (const async of [false, true]) {
      const seen: WasmResult[] = [];
      let thrown: unknown;
      try {
        for await (const result of p.stream(broken(async))) seen.push(result);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WasmPoolError);
      expect(thrown).toMatchObject({
        code: 'INVALID_PARAMS',
        message: expect.stringContaining('returned 5'),
      });
      expect(seen.length).toBeLessThanOrEqual(3);
    }
    await waitFor(() => p.stats().running === 0 && p.stats().queued === 0, 5_000, 'the pool to settle');
  });

  test('a stream on a closed pool is refused', async () => {
    const p = await pool();
    await p.close();
    expect(() => p.stream([])).toThrow(expect.objectContaining({ code: 'POOL_CLOSED' }));
  });
});
