import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dist = join(__dirname, '..', 'dist');

describe('examples', () => {
  test('the README example runs', async () => {
    const { stdout } = await run(process.execPath, [join(dist, 'quick-start.js')]);
    expect(stdout).toContain('add: 3 add64: 1099511627777n');
    expect(stdout).toContain('sha256(abc): ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(stdout).toContain('batch: 100000 results, all ok: true progress: 100000');
    expect(stdout).toMatch(/spin: TIMEOUT - the task ran for [\d.]+ ms, past its limit of 50 ms/);
    // The spin task times out inside its worker, which is kept (no restart).
    expect(stdout).toMatch(/completed: 100003 restarts: 0/);
  });

  test('the main job checks every answer and prints its summary', async () => {
    const { stdout } = await run(process.execPath, [
      join(dist, 'main-job.js'),
      '--tasks',
      '5000',
      '--no-metrics',
    ]);
    expect(stdout).toMatch(/Running 5,000 tasks on \d+ workers/);
    expect(stdout).toContain('5000/5000 tasks');
    expect(stdout).toContain('answers    5000 right, 0 wrong');
    expect(stdout).toContain('failures   none');
    expect(stdout).toMatch(/tasks\s+5,000 in [\d.]+ s = [\d,]+ tasks\/s/);
    expect(stdout).toContain('"completed": 5000');
  });

  test('the main job answers --help and reports bad values in one line with exit code 2', async () => {
    const help = await run(process.execPath, [join(dist, 'main-job.js'), '--help']);
    for (const flag of ['--tasks', '--duration', '--hold', '--metrics-port', '--workers'])
      expect(help.stdout).toContain(flag);
    for (const [args, message] of [
      [['--tasks', 'abc'], /^main-job: --tasks must be an integer from 1 to \d+, got "abc"/],
      [['--workers', '0'], /^main-job: --workers must be an integer from 1 to 1024, got "0"/],
      [['--duration=-1'], /^main-job: --duration must be a number from/],
      [['--duration', '-1'], /^main-job: Option '--duration' argument is ambiguous/],
      [['--bogus'], /^main-job: Unknown option '--bogus'/],
      [['--hold', '--no-metrics'], /cannot go with --no-metrics/],
    ] as const) {
      const failure = await run(process.execPath, [join(dist, 'main-job.js'), ...args]).then(
        () => undefined,
        (error: { code: number; stderr: string; stdout: string }) => error,
      );
      expect(failure?.code).toBe(2);
      expect(failure?.stdout).toBe('');
      expect(failure?.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(failure?.stderr).toMatch(message);
    }
  });

  test('--duration runs for that long with metrics served from the start; --hold keeps serving until SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [join(dist, 'main-job.js'), '--duration', '1.5', '--hold', '--metrics-port', '0', '--workers', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    const closed = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const waitFor = (pattern: RegExp): Promise<RegExpExecArray> =>
      new Promise((found, fail) => {
        const look = (): void => {
          const match = pattern.exec(stdout);
          if (match) found(match);
        };
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          look();
        });
        look();
        void closed.then(() => fail(new Error(`exited without ${String(pattern)}: ${stdout}`)));
      });
    const url = (await waitFor(/Prometheus metrics: (http:\/\/\S+)/))[1]!;
    // While it runs: the metrics are there and counting.
    const during = await (await fetch(url)).text();
    expect(during).toContain('# TYPE wasmpool_tasks_total counter');
    await waitFor(/Holding: metrics still at/);
    expect(stdout).toMatch(/Running tasks for 1\.5 s/);
    expect(stdout).toMatch(/answers {4}(\d+) right, 0 wrong/);
    const done = Number(/tasks\s+([\d,]+) in/.exec(stdout)![1]!.replace(/,/g, ''));
    expect(done).toBeGreaterThan(0);
    // After the run: still served, with every task counted.
    const after = await (await fetch(url)).text();
    const counted = [...after.matchAll(/^wasmpool_tasks_total\{[^}]*outcome="success"\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(counted).toBe(done);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
  });
});
