import { execFile } from 'node:child_process';
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
});
