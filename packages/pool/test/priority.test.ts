import { readFileSync, readdirSync } from 'node:fs';
import { WasmPool, WasmPoolError } from '@wasmpool/pool';
import { example, fixture, hostImportsPath, rejectionOf, trackPools, waitFor } from './helpers';

const track = trackPools();
const modules = {
  math: { source: example('math') },
  host: { source: fixture('host'), hostImports: hostImportsPath },
};

/** The nice value of each thread of this process, by thread id (from /proc/self/task/TID/stat). */
function threadNice(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name in parentheses start at field 3; nice is field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nice.set(Number(tid), Number(fields[19 - 3]));
  }
  return nice;
}

/** How many threads of this process run at nice value `value`. */
const threadsAt = (value: number): number => [...threadNice().values()].filter((v) => v === value).length;

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('niceIncrement (Linux)', () => {
  const base = threadNice().get(process.pid) ?? 0;
  // A value no thread of the test process has before the pool starts.
  const increment = Math.min(3, 19 - base);

  test('raises the nice value of every worker thread, replacements included, and of no other thread', async () => {
    expect(threadsAt(base + increment)).toBe(0);
    const pool = track(
      await WasmPool.create({ minWorkers: 2, maxWorkers: 2, niceIncrement: increment, modules }),
    );
    expect(threadsAt(base + increment)).toBe(2);
    expect(threadNice().get(process.pid)).toBe(base);
    await expect(pool.run({ module: 'math', function: 'add', params: [2, 3] })).resolves.toBe(5);

    // A worker that dies is replaced by one with the same priority.
    const error = await rejectionOf(pool.run({ module: 'host', function: 'exit' }));
    expect(WasmPoolError.is(error, 'WORKER_CRASHED')).toBe(true);
    await waitFor(() => pool.stats().workers.total === 2 && pool.stats().workers.starting === 0);
    await waitFor(() => threadsAt(base + increment) === 2, 5_000, 'the replacement at the raised nice value');

    await pool.close();
    await waitFor(() => threadsAt(base + increment) === 0, 5_000, 'the workers to end');
  });

  test('by default the workers keep the process priority', async () => {
    const before = threadsAt(base);
    const pool = track(await WasmPool.create({ minWorkers: 2, maxWorkers: 2, modules }));
    await expect(pool.run({ module: 'math', function: 'add', params: [1, 1] })).resolves.toBe(2);
    expect(threadsAt(base)).toBeGreaterThanOrEqual(before + 2);
    expect([...threadNice().values()].every((v) => v === base)).toBe(true);
  });

  test('the value is capped at 19', async () => {
    const before = threadsAt(19);
    const pool = track(await WasmPool.create({ minWorkers: 1, maxWorkers: 1, niceIncrement: 19, modules }));
    await expect(pool.run({ module: 'math', function: 'add', params: [1, 1] })).resolves.toBe(2);
    expect(threadsAt(19)).toBe(base === 19 ? before : before + 1);
  });
});
