/**
 * End to end: spawns the built `wasmpool` command (packages/cli/dist/bin.js, built by `npm run build`)
 * with real modules and real workers, and checks its stdout, stderr and exit code.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const bin = join(root, 'packages/cli/dist/bin.js');
const math = join(root, 'examples/modules/build/math.wasm');
const sha256 = join(root, 'examples/modules/build/sha256.wasm');
const faults = join(root, 'packages/pool/test/fixtures/build/faults.wasm');
const inspectFixture = join(__dirname, 'fixtures/build/inspect.wasm');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end; `stdin` is written and closed. */
function wasmpool(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A usage error: exit code 2 and exactly one line on stderr, no stack trace. */
function expectOneLineError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code).toBe(code);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

const lines = (text: string): Record<string, unknown>[] =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmpool-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wasmpool --help', () => {
  test('the program and each command explain themselves, with the exit codes', async () => {
    const top = await wasmpool(['--help']);
    expect(top.code).toBe(0);
    for (const text of ['inspect', 'run', 'batch', 'WASM_MAX_WORKERS', 'Exit codes:', '130  interrupted'])
      expect(top.stdout).toContain(text);

    const batch = await wasmpool(['batch', '--help']);
    expect(batch.code).toBe(0);
    for (const text of ['--module <name=file>', '--input', '--output', '--metrics-port', '{"bigint":"123"}'])
      expect(batch.stdout).toContain(text);

    const run = await wasmpool(['help', 'run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--output-type <type>');
    expect(run.stdout).toContain('wasmpool run examples/modules/build/math.wasm add 1 2');

    const none = await wasmpool([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: wasmpool');

    const version = await wasmpool(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('wasmpool inspect', () => {
  test('imports, exports with signatures, memory and table limits', async () => {
    const { code, stdout } = await wasmpool(['inspect', inspectFixture]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^.*inspect\.wasm: \d+ bytes, sha256 [0-9a-f]{64}$/m);
    expect(stdout).toMatch(/env\.log\s+function \(i32, i64\) -> \(\)/);
    expect(stdout).toMatch(/env\.table\s+table of funcref, 1 element, maximum 8/);
    expect(stdout).toMatch(/env\.base\s+global i32/);
    expect(stdout).toMatch(/scale\s+function \(f64, f32\) -> f64/);
    expect(stdout).toMatch(/pair\s+function \(\) -> i32, i64/);
    expect(stdout).toMatch(/memory\s+memory 2 pages, maximum 16/);
    expect(stdout).toMatch(/own\s+table of externref, 3 elements, maximum 5/);
    expect(stdout).toMatch(/counter\s+global mut i64/);
    expect(stdout).toContain('start function: none');
  });

  test('--json gives the same facts to a program', async () => {
    const { code, stdout } = await wasmpool(['inspect', '--json', math]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      size: number;
      sha256: string;
      imports: unknown[];
      exports: { name: string; kind: string; params?: string[]; results?: string[] }[];
      memories: { limits: { initial: number; maximum?: number } }[];
      tables: unknown[];
    };
    const bytes = readFileSync(math);
    expect(report.size).toBe(bytes.byteLength);
    expect(report.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(report.imports).toEqual([]);
    expect(report.exports).toContainEqual({
      name: 'add64',
      kind: 'function',
      params: ['i64', 'i64'],
      results: ['i64'],
    });
    expect(report.memories).toEqual([{ limits: { initial: 1 }, shared: false }]);
    expect(report.tables).toEqual([]);
  });

  test('a file that is not WebAssembly, or is missing, exits 3 with one line', async () => {
    const text = join(dir, 'not.wasm');
    writeFileSync(text, 'hello world');
    expectOneLineError(
      await wasmpool(['inspect', text]),
      3,
      /^wasmpool: .*not\.wasm is not a valid WebAssembly module: /,
    );
    const truncated = join(dir, 'truncated.wasm');
    writeFileSync(truncated, readFileSync(math).subarray(0, 40));
    expectOneLineError(await wasmpool(['inspect', truncated]), 3, /is not a valid WebAssembly module/);
    expectOneLineError(
      await wasmpool(['inspect', join(dir, 'absent.wasm')]),
      3,
      /^wasmpool: cannot read .*absent\.wasm: ENOENT/,
    );
  });
});

describe('wasmpool run', () => {
  test('numbers, bigints, strings and bytes in; the output on stdout', async () => {
    expect(await wasmpool(['run', math, 'add', '1', '2'])).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    expect((await wasmpool(['run', math, 'add64', '9007199254740993', '1n'])).stdout).toBe(
      '9007199254740994\n',
    );
    expect((await wasmpool(['run', math, 'addf', '0.5', '-1.25'])).stdout).toBe('-0.75\n');
    const hex = await wasmpool(['run', sha256, 'sha256_hex', '"abc"', '--output-type', 'string']);
    expect(hex.stdout).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
    const bytes = await wasmpool(['run', sha256, 'sha256', '{"base64":"YWJj"}', '--output-type', 'bytes']);
    expect(JSON.parse(bytes.stdout)).toEqual({
      base64: createHash('sha256').update('abc').digest('base64'),
    });
    const json = await wasmpool(['run', math, 'fib', '90', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      success: true,
      output: { bigint: '2880067194370816120' },
    });
  });

  test('a failed task: CODE: message on stderr, exit 1', async () => {
    const trap = await wasmpool(['run', faults, 'trap']);
    expect(trap.code).toBe(1);
    expect(trap.stdout).toBe('');
    expect(trap.stderr).toMatch(/^TRAP: .*unreachable/);
    const timeout = await wasmpool(['run', faults, 'loop_forever', '--timeout', '100']);
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toMatch(/^TIMEOUT: /);
    const json = await wasmpool(['run', faults, 'div', '1', '0', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ success: false, error: { code: 'TRAP' } });
  });

  test('an unknown function or params that do not fit exit 2', async () => {
    expectOneLineError(
      await wasmpool(['run', math, 'nope']),
      2,
      /^wasmpool: module 'math' exports no function "nope"/,
    );
    expectOneLineError(await wasmpool(['run', math, 'add', '1']), 2, /too few params/);
    expectOneLineError(
      await wasmpool(['run', math, 'add', 'one', '2']),
      2,
      /param 1 \("one"\) is not a number/,
    );
    expectOneLineError(
      await wasmpool(['run', math, 'add', '{"bigint":"x"}', '2']),
      2,
      /"bigint" must be a string of decimal digits/,
    );
  });
});

describe('wasmpool batch', () => {
  const modules = ['--module', `math=${math}`, '-m', `sha=${sha256}`, '-m', `faults=${faults}`];
  const digest = (text: string): string => createHash('sha256').update(text).digest('base64');
  const input = [
    JSON.stringify({ id: 'add', module: 'math', function: 'add', params: [40, 2] }),
    JSON.stringify({
      id: 'big',
      module: 'math',
      function: 'add64',
      params: [{ bigint: '9223372036854775806' }, { bigint: '1' }],
    }),
    JSON.stringify({ module: 'math', function: 'fib', params: [90] }), // line 3, no id
    '',
    'this is not JSON',
    JSON.stringify({
      id: 'sha',
      module: 'sha',
      function: 'sha256',
      params: [{ base64: Buffer.from('abc').toString('base64') }],
      output: 'bytes',
    }),
    JSON.stringify({ id: 'text', module: 'sha', function: 'sha256_hex', params: ['abc'], output: 'string' }),
    JSON.stringify({ id: 'trap', module: 'faults', function: 'trap' }),
    JSON.stringify({ id: 'missing', module: 'math', function: 'nope' }),
    JSON.stringify({ id: 'badbig', module: 'math', function: 'add64', params: [{ bigint: '1.5' }, 1] }),
    JSON.stringify({ id: 'extra', module: 'math', function: 'add', params: [1, 2], priority: 9 }),
    JSON.stringify({ id: 'last', module: 'math', function: 'add', params: [-1, 1] }),
  ].join('\n');

  test('JSON Lines with bigints, bytes and failing tasks: one result per task, in order; exit 1', async () => {
    const run = await wasmpool(['batch', ...modules, '--workers', '2'], { stdin: `${input}\n` });
    expect(run.code).toBe(1);
    const results = lines(run.stdout);
    expect(results.map((r) => [r.id, r.success, (r.error as { code?: string } | undefined)?.code])).toEqual([
      ['add', true, undefined],
      ['big', true, undefined],
      ['3', true, undefined],
      ['5', false, 'INVALID_PARAMS'],
      ['sha', true, undefined],
      ['text', true, undefined],
      ['trap', false, 'TRAP'],
      ['missing', false, 'FUNCTION_NOT_FOUND'],
      ['badbig', false, 'INVALID_PARAMS'],
      ['extra', false, 'INVALID_PARAMS'],
      ['last', true, undefined],
    ]);
    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get('add')!.output).toBe(42);
    expect(byId.get('big')!.output).toEqual({ bigint: '9223372036854775807' });
    expect(byId.get('3')!.output).toEqual({ bigint: '2880067194370816120' });
    expect(byId.get('sha')!.output).toEqual({ base64: digest('abc') });
    expect(byId.get('text')!.output).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect((byId.get('5')!.error as { message: string }).message).toMatch(/^line 5: not JSON/);
    expect((byId.get('badbig')!.error as { message: string }).message).toMatch(
      /"bigint" must be a string of decimal digits/,
    );
    expect((byId.get('extra')!.error as { message: string }).message).toMatch(/unknown field "priority"/);
    expect(run.stderr).toMatch(
      /11 results in [\d.]+ s .*: 6 ok, 5 failed \(INVALID_PARAMS 3, TRAP 1, FUNCTION_NOT_FOUND 1\)/,
    );
  });

  test('--input and --output files, --unordered: the same results; all ok exits 0', async () => {
    const tasks = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({
        id: `t${i}`,
        module: 'math',
        function: 'add64',
        params: [{ bigint: String(2n ** 60n + BigInt(i)) }, i],
      }),
    );
    const inFile = join(dir, 'tasks.jsonl');
    const outFile = join(dir, 'results.jsonl');
    writeFileSync(inFile, `${tasks.join('\r\n')}\r\n`);
    const run = await wasmpool([
      'batch',
      '-m',
      `math=${math}`,
      '-i',
      inFile,
      '-o',
      outFile,
      '--unordered',
      '--high-water-mark',
      '64',
      '-q',
    ]);
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
    const results = lines(readFileSync(outFile, 'utf8'));
    expect(results).toHaveLength(3000);
    const outputs = new Map(results.map((r) => [r.id, (r.output as { bigint: string }).bigint]));
    for (let i = 0; i < 3000; i++) expect(outputs.get(`t${i}`)).toBe(String(2n ** 60n + BigInt(2 * i)));
  });

  test('--progress draws on stderr; an empty input is 0 results and exit 0', async () => {
    const run = await wasmpool(['batch', '-m', `math=${math}`, '--progress'], {
      stdin: `${JSON.stringify({ module: 'math', function: 'add', params: [1, 1] })}\n`,
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('1 tasks, 0 failed');
    const empty = await wasmpool(['batch', '-m', `math=${math}`]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/0 results/);
  });

  test('serves Prometheus metrics while it runs, and SIGINT ends it with 130', async () => {
    const child = spawn(process.execPath, [bin, 'batch', '-m', `math=${math}`, '--metrics-port', '0'], {
      cwd: root,
      stdio: 'pipe',
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const url = await new Promise<string>((found, fail) => {
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const match = /Prometheus metrics: (http:\/\/\S+)/.exec(stderr);
        if (match) found(match[1]!);
      });
      child.on('close', () => fail(new Error(`exited before serving metrics: ${stderr}`)));
    });
    for (let i = 0; i < 50; i++)
      child.stdin.write(`${JSON.stringify({ module: 'math', function: 'add', params: [i, 1] })}\n`);
    // The stream waits for more input: the batch is still running while we scrape.
    let text = '';
    for (
      let attempt = 0;
      attempt < 200 && !/wasmpool_tasks_total\{module="math",outcome="success"\} 50/.test(text);
      attempt++
    ) {
      text = await (await fetch(url)).text();
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(text).toMatch(/wasmpool_tasks_total\{module="math",outcome="success"\} 50/);
    expect(text).toContain('# TYPE wasmpool_workers gauge');
    const closed = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(lines(stdout)).toHaveLength(50);
  });
});

describe('bad flags and values', () => {
  test.each([
    [
      ['batch', '-m', `math=${math}`, '--workers', 'abc'],
      /option '-w, --workers <n>' argument 'abc' is invalid\. must be an integer from 1 to 1024/,
    ],
    [['batch', '-m', `math=${math}`, '--workers', '0'], /must be an integer from 1 to 1024/],
    [['batch', '-m', `math=${math}`, '--metrics-port', '70000'], /must be an integer from 0 to 65535/],
    [['batch', '-m', 'math'], /--module <name=file>' argument 'math' is invalid\. must be NAME=FILE/],
    [['batch', '-m', `math=${math}`, '-m', `math=${math}`], /--module math is given twice/],
    [['batch'], /required option '-m, --module <name=file>' not specified/],
    [['batch', '-m', `math=${math}`, '--bogus'], /unknown option '--bogus'/],
    [
      ['run', math, 'add', '--output-type', 'float'],
      /argument 'float' is invalid\. Allowed choices are number, bigint/,
    ],
    [['run', math], /missing required argument 'function'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['batch', '-m', `math=${math}`, '--min-workers', '4', '--max-workers', '2'], /minWorkers/],
  ])('%j', async (args, pattern) => {
    expectOneLineError(await wasmpool(args), 2, pattern);
  });

  test('a bad WASM_* variable is a usage error too; a good one applies', async () => {
    expectOneLineError(
      await wasmpool(['run', math, 'add', '1', '2'], { env: { WASM_MAX_WORKERS: 'lots' } }),
      2,
      /WASM_MAX_WORKERS/,
    );
    const timeout = await wasmpool(['run', faults, 'loop_forever'], { env: { WASM_TASK_TIMEOUT_MS: '60' } });
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toMatch(/limit of 60 ms/);
  });

  test('an unreadable input or output file exits 4; a bad module exits 3', async () => {
    expectOneLineError(
      await wasmpool(['batch', '-m', `math=${math}`, '-i', join(dir, 'none.jsonl')]),
      4,
      /^wasmpool: cannot read .*none\.jsonl/,
    );
    expectOneLineError(
      await wasmpool(['batch', '-m', `math=${math}`, '-o', join(dir, 'no/such/dir.jsonl')]),
      4,
      /^wasmpool: cannot write /,
    );
    expectOneLineError(
      await wasmpool(['batch', '-m', `x=${join(dir, 'nothing.wasm')}`]),
      3,
      /^wasmpool: cannot read /,
    );
  });
});
