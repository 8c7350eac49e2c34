// WASI commands through the pool: the C program examples/modules/native/wasi-tool.c (built with
// clang and wasi-libc), every answer checked against a JS reference, plus the isolation checks.
import { join } from 'node:path';
import { WasmPool, type CommandResult, type WasiOptions, type WasmTask } from '@wasmpool/pool';
import { fixture, rejectionOf, trackPools } from './helpers';
import { randomBytes, randomText, wc } from './helpers/references';

const track = trackPools();
const tool = join(__dirname, '..', '..', '..', 'examples', 'modules', 'native', 'wasm', 'wasi-tool.wasm');
const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);

async function toolPool(wasi: true | WasiOptions = true, memoryLimitMb?: number): Promise<WasmPool> {
  return track(
    await WasmPool.create({
      minWorkers: 1,
      maxWorkers: 2,
      modules: { tool: { source: tool, wasi, ...(memoryLimitMb === undefined ? {} : { memoryLimitMb }) } },
    }),
  );
}

const command = (args: string[], extra: Partial<WasmTask> = {}): WasmTask => ({
  module: 'tool',
  function: '_start',
  args,
  ...extra,
});

describe('WASI commands', () => {
  test('wc over stdin matches a JS reference, for a batch of different inputs', async () => {
    const pool = await toolPool();
    const inputs = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? randomText(i * 7, i + 1) : randomBytes(i * 131, i + 1),
    );
    const results = await pool.runBatch<CommandResult>(inputs.map((stdin) => command(['wc'], { stdin })));
    results.forEach((result, i) => {
      const input = inputs[i]!;
      expect(result.success).toBe(true);
      expect(result.output!.exitCode).toBe(0);
      expect(text(result.output!.stdout)).toBe(
        wc(typeof input === 'string' ? new TextEncoder().encode(input) : input),
      );
      expect(result.output!.stderr).toEqual(new Uint8Array(0));
    });
  });

  test('argv[0] is the module name, then the granted args, then the task args (UTF-8 intact)', async () => {
    const pool = await toolPool({ args: ['args'] });
    const out = await pool.run<CommandResult>(command(['héllo wörld', '', '😀']));
    expect(text(out.stdout)).toBe('5\ntool\nargs\nhéllo wörld\n\n😀\n');
  });

  test('a non-zero exit is a successful task with that exit code; stderr is captured apart', async () => {
    const pool = await toolPool();
    const results = await pool.runBatch<CommandResult>([
      command(['exit', '3']),
      command(['exit', '0']),
      command(['nope']),
    ]);
    expect(results.map((r) => [r.success, r.output?.exitCode])).toEqual([
      [true, 3],
      [true, 0],
      [true, 64],
    ]);
    expect(text(results[0]!.output!.stderr)).toBe('exiting 3\n');
    expect(text(results[0]!.output!.stdout)).toBe('');
    expect(text(results[2]!.output!.stderr)).toBe('unknown command: nope\n');
  });

  test('isolation: a command cannot open /etc/passwd or any host file, nor create one', async () => {
    const pool = await toolPool();
    for (const path of ['/etc/passwd', 'package.json', '../../etc/passwd', '/proc/self/environ']) {
      const out = await pool.run<CommandResult>(command(['open', path]));
      expect(out.exitCode).toBe(2);
      expect(text(out.stdout)).toMatch(/^error: /);
    }
    const write = await pool.run<CommandResult>(command(['write', '/tmp/wasmpool-wasi-test']));
    expect(write.exitCode).toBe(2);
  });

  test('isolation: no host environment variable is visible; only the granted and the task env', async () => {
    expect(process.env.PATH).toBeDefined();
    const pool = await toolPool({ env: { GRANTED: 'yes' } });
    const bare = await pool.run<CommandResult>(command(['environ']));
    expect(text(bare.stdout)).toBe('GRANTED=yes\n');
    const path = await pool.run<CommandResult>(command(['env', 'PATH']));
    expect([path.exitCode, text(path.stdout)]).toEqual([1, '(unset)\n']);
    const withTask = await pool.run<CommandResult>(
      command(['environ'], { env: { TASK: 'é=1', GRANTED: 'over' } }),
    );
    expect(text(withTask.stdout).split('\n').sort()).toEqual(['', 'GRANTED=over', 'TASK=é=1']);
  });

  test('isolation: commands of one batch never see each other’s stdin or stdout', async () => {
    const pool = await toolPool();
    const inputs = Array.from({ length: 200 }, (_, i) => randomBytes(1 + ((i * 977) % 5000), 1000 + i));
    const results = await pool.runBatch<CommandResult>(
      inputs.map((stdin, i) => command(['cat'], { stdin, env: { N: String(i) } })),
    );
    results.forEach((result, i) => {
      expect(result.success).toBe(true);
      expect(Buffer.from(result.output!.stdout).equals(Buffer.from(inputs[i]!))).toBe(true);
    });
  });

  test('stdin, args and env are read when the task is accepted: changing them afterwards changes nothing', async () => {
    const pool = await toolPool();
    const stdin = new TextEncoder().encode('one two\n');
    const task = command(['wc'], { stdin });
    const pending = pool.run<CommandResult>(task);
    stdin.fill(0x41);
    task.args!.splice(0, 1, 'exit', '9');
    expect(text((await pending).stdout)).toBe('1 2 8\n');
    const env = { A: '1' };
    const withEnv = pool.run<CommandResult>(command(['environ'], { env }));
    env.A = '2';
    expect(text((await withEnv).stdout)).toBe('A=1\n');
  });

  test('stdin is read through the engine: a subclass cannot lie about its length, a proxy is refused', async () => {
    const pool = await toolPool();
    class Liar extends Uint8Array {
      override get length(): number {
        return 1 << 30;
      }
      override slice(): Uint8Array<ArrayBuffer> {
        return new Uint8Array(1 << 20);
      }
    }
    const stdin = new Liar(new TextEncoder().encode('one two three\n'));
    expect(text((await pool.run<CommandResult>(command(['cat'], { stdin }))).stdout)).toBe('one two three\n');
    const proxy = new Proxy(new Uint8Array(4), {});
    expect(await rejectionOf(pool.run(command(['cat'], { stdin: proxy })))).toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('stdin'),
    });
  });

  test('commands run through stream() too, each result its own', async () => {
    const pool = await toolPool();
    const inputs = Array.from({ length: 60 }, (_, i) => randomText(i + 1, i + 50));
    async function* source(): AsyncGenerator<WasmTask> {
      for (const stdin of inputs) yield command(['wc'], { stdin });
    }
    let i = 0;
    for await (const result of pool.stream(source())) {
      const output = result.output as CommandResult;
      expect(text(output.stdout)).toBe(wc(new TextEncoder().encode(inputs[i]!)));
      i++;
    }
    expect(i).toBe(inputs.length);
  });

  test('captured output is capped per stream; the result says it was cut', async () => {
    const pool = await toolPool({ maxOutputBytes: 1000 });
    const out = await pool.run<CommandResult>(command(['flood', '5000']));
    expect(out.exitCode).toBe(0);
    expect(out.stdout.length).toBe(1000);
    expect(out.truncated).toBe(true);
    const small = await pool.run<CommandResult>(command(['flood', '10']));
    expect([small.stdout.length, small.truncated]).toEqual([10, undefined]);
  });

  test('clock and randomness: real by default, fixed and seeded on request (same output every run)', async () => {
    const real = await toolPool();
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    const [a, b] = await Promise.all([
      real.run<CommandResult>(command(['time'])),
      real.run<CommandResult>(command(['time'])),
    ]);
    const [timeA, randomA] = text(a.stdout).trim().split(' ');
    expect(BigInt(timeA!)).toBeGreaterThan(before);
    expect(randomA).not.toBe(text(b.stdout).trim().split(' ')[1]);

    const fixed = await toolPool({ clock: { fixedTimeMs: 1_700_000_000_000 }, random: { seed: 7 } });
    const runs = await fixed.runBatch<CommandResult>([
      command(['time']),
      command(['time']),
      command(['time']),
    ]);
    const outputs = runs.map((r) => text(r.output!.stdout));
    expect(outputs[0]).toMatch(/^1700000000000000000 [0-9a-f]{16}\n$/);
    expect(new Set(outputs).size).toBe(1);
  });

  test('granted virtual files are readable under / and read-only', async () => {
    const pool = await toolPool({
      files: { 'data/words.txt': 'alpha beta\n', 'top.bin': new Uint8Array([104, 105]) },
    });
    const words = await pool.run<CommandResult>(command(['open', '/data/words.txt']));
    expect([words.exitCode, text(words.stdout)]).toEqual([0, 'alpha beta\n']);
    expect(text((await pool.run<CommandResult>(command(['open', '/top.bin']))).stdout)).toBe('hi');
    const overwrite = await pool.run<CommandResult>(command(['write', '/data/words.txt']));
    const create = await pool.run<CommandResult>(command(['write', '/new.txt']));
    expect([overwrite.exitCode, create.exitCode]).toEqual([2, 2]);
    expect(text((await pool.run<CommandResult>(command(['open', '/new.txt']))).stdout)).toMatch(/^error: /);
    expect(text((await pool.run<CommandResult>(command(['open', '/etc/passwd']))).stdout)).toMatch(
      /^error: /,
    );
  });

  test('runs under the memory cap: malloc fails at the cap instead of growing past it', async () => {
    const pool = await toolPool(true, 8);
    const out = await pool.run<CommandResult>(command(['grow', '100']));
    expect(out.exitCode).toBe(0);
    const got = Number(text(out.stdout));
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(8);
    // The next command starts on a fresh instance, with all its memory free again.
    expect(Number(text((await pool.run<CommandResult>(command(['grow', '3']))).stdout))).toBe(3);
  });

  test('a command that never ends is stopped by its timeout; the pool keeps serving', async () => {
    const pool = await toolPool();
    const error = await rejectionOf(pool.run(command(['spin']), { timeoutMs: 300 }));
    expect(error.code).toBe('TIMEOUT');
    expect(text((await pool.run<CommandResult>(command(['wc'], { stdin: 'a b' }))).stdout)).toBe('0 2 3\n');
  });

  test('no warning or debug line is printed by the WASI layer', async () => {
    const written: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }),
    );
    try {
      const pool = await toolPool();
      await pool.runBatch([command(['wc'], { stdin: 'x' }), command(['exit', '1'])]);
      await pool.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(written.join('')).toBe('');
  });

  test('isolation: no sockets, no descriptors beyond stdin/stdout/stderr, no preopen unless files are granted', async () => {
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        maxWorkers: 1,
        modules: {
          denied: { source: fixture('wasi-denied'), wasi: true },
          granted: { source: fixture('wasi-denied'), wasi: { files: { 'a.txt': 'a' } } },
        },
      }),
    );
    const errno = (fn: string, params: number[] = [], module = 'denied'): Promise<unknown> =>
      pool.run({ module, function: fn, params });
    const ENOTCAPABLE = 76;
    const EBADF = 8;
    const EROFS = 69;
    expect(await errno('sock_recv')).toBe(ENOTCAPABLE);
    expect(await errno('sock_accept')).toBe(ENOTCAPABLE);
    expect(await errno('read_fd', [0])).toBe(0); // stdin: empty, readable
    expect(await errno('write_fd', [1])).toBe(0); // stdout: writable (discarded outside command tasks)
    for (const fd of [3, 4, 10, 1000]) {
      expect(await errno('read_fd', [fd])).toBe(EBADF);
      expect(await errno('write_fd', [fd])).toBe(EROFS);
      expect(await errno('prestat', [fd])).toBe(EBADF);
    }
    expect(await errno('write_fd', [0])).toBe(EROFS);
    expect(await errno('env_count')).toBe(0);
    expect(await errno('prestat', [3], 'granted')).toBe(0); // the virtual directory, when files are granted
  });

  test('bad command tasks are refused with INVALID_PARAMS before they run', async () => {
    const pool = await toolPool();
    const bad: WasmTask[] = [
      command(['wc'], { stdin: 42 as unknown as string }),
      command([1 as unknown as string]),
      command(['a\0b']),
      command(['environ'], { env: { 'A=B': 'x' } }),
      command(['environ'], { env: { A: 3 as unknown as string } }),
      command(['wc'], { params: [1] }),
      command(['wc'], { output: 'bytes' }),
    ];
    for (const task of bad) {
      expect((await rejectionOf(pool.run(task))).code).toBe('INVALID_PARAMS');
    }
    const results = await pool.runBatch([bad[0]!, command(['wc'], { stdin: 'ok' })]);
    expect(results.map((r) => r.success)).toEqual([false, true]);
  });

  test('module specs: WASI imports need wasi; bad grants are INVALID_CONFIG', async () => {
    const refused = await rejectionOf(
      WasmPool.create({ minWorkers: 0, modules: { tool: { source: tool } } }),
    );
    expect(refused.code).toBe('INVALID_MODULE');
    expect(refused.message).toMatch(/wasi: true/);
    const grants: unknown[] = [
      'yes',
      { args: [1] },
      { env: { 'X=': '1' } },
      { files: { '../up': 'x' } },
      { files: { a: 5 } },
      { clock: { fixedTimeMs: -1 } },
      { random: { seed: 1.5 } },
      { maxOutputBytes: -1 },
    ];
    for (const wasi of grants) {
      const error = await rejectionOf(
        WasmPool.create({ minWorkers: 0, modules: { tool: { source: tool, wasi: wasi as WasiOptions } } }),
      );
      expect(error.code).toBe('INVALID_CONFIG');
    }
    // A module with no WASI imports may still be given wasi (it is simply never asked for anything).
    const pool = track(
      await WasmPool.create({ minWorkers: 1, modules: { m: { source: fixture('counter'), wasi: true } } }),
    );
    expect(pool.modules()[0]!.name).toBe('m');
  });
});
