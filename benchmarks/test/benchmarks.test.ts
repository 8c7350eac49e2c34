/**
 * Runs every workload at a tiny size for every contender through runBenchmarks() (what the CLI calls) and
 * through the CLI itself, checks the report's shape and that a wrong answer fails the run. Timings are not
 * asserted. Needs `npm run build` first: the pools' threads load compiled JavaScript (piscina and tinypool
 * benchmarks/dist/peer-worker.js), and the CLI runs from benchmarks/dist.
 *
 * tinypool is ESM-only and Jest (on Node < 24.9) cannot load ESM without --experimental-vm-modules, so
 * in-process runs leave it out and the CLI runs (separate Node processes) cover all four contenders.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CONTENDERS,
  CorrectnessError,
  WORKLOADS,
  evaluateTargets,
  markdownTable,
  parseCli,
  reportJson,
  runBenchmarks,
  textTable,
  throughputSvg,
  TINY_SIZES,
  type BenchReport,
  type CaseResult,
  type ContenderName,
  type WorkloadName,
} from '../src';
import { main } from '../src/cli';
import { wcReference, wcText } from '../src/harness';
import { windowed } from '../src/contenders/types';
import { RESULTS_DIR } from '../src/paths';
import { README_END, README_START, updateReadme } from '../src/readme';

const TINY = TINY_SIZES;
/** Every contender but tinypool (see above). */
const IN_PROCESS: ContenderName[] = ['wasmpool', 'piscina', 'single'];
const CLI = path.resolve(__dirname, '../dist/cli.js');

const EXPECTED_CASES: Record<WorkloadName, string[]> = {
  'tiny-run': ['tiny-run'],
  'tiny-batch': ['tiny-batch', 'tiny-batch-whole'],
  cpu: ['cpu'],
  bytes: ['bytes-4KiB', 'bytes-64KiB', 'bytes-1MiB', 'bytes-4KiB-batch'],
  latency: ['latency'],
  'cold-start': ['cold-start'],
  metrics: ['metrics-run-unbound', 'metrics-run-bound', 'metrics-batch-unbound', 'metrics-batch-bound'],
  columns: ['columns'],
  wasi: ['wasi'],
  sandbox: ['cpu', 'bytes-4KiB-batch'].flatMap((shape) =>
    ['off', 'on', 'fuel'].map((mode) => `sandbox-${shape}-${mode}`),
  ),
};

/** Cases only wasmpool runs. */
const WASMPOOL_ONLY = [...EXPECTED_CASES.metrics, ...EXPECTED_CASES.sandbox];

/** The CPU cost breakdown every throughput case reports. */
const COSTS = ['mainNsPerTask', 'workerNsPerTask'];
const withCosts = (...metrics: string[]): string[] => [...metrics, ...COSTS].sort();

const isFigure = (f: unknown): boolean => {
  const x = f as Record<string, unknown>;
  return (
    typeof x === 'object' &&
    x !== null &&
    ['median', 'min', 'max', 'q1', 'q3'].every((k) => typeof x[k] === 'number' && Number.isFinite(x[k])) &&
    Array.isArray(x.samples) &&
    typeof x.unit === 'string' &&
    (x.better === 'higher' || x.better === 'lower')
  );
};

/** Checks a report of a tiny run of every workload for `contenders` (in process or from the CLI's JSON). */
function checkReport(json: BenchReport, contenders: ContenderName[], reps: number): void {
  expect(json.schema).toBe('wasmpool-benchmarks/1');
  expect(Number.isNaN(Date.parse(json.date))).toBe(false);
  expect(typeof json.machine.cpuModel).toBe('string');
  expect(json.machine.cores).toBeGreaterThan(0);
  expect(json.machine.memoryBytes).toBeGreaterThan(0);
  expect(json.machine.node).toBe(process.version);
  expect(json.load.start).toHaveLength(3);
  expect(json.load.end).toHaveLength(3);
  expect(json.options).toMatchObject({ kind: 'tiny', workers: 2, nice: 0, reps, quick: false, warmup: true });
  expect(json.contenders.wasmpool).not.toHaveProperty('niceIncrement');
  expect(json.options.workloads).toEqual([...WORKLOADS]);
  expect(json.options.contenders).toEqual(contenders);
  expect(json.options.sizes).toEqual(TINY);
  expect(Object.keys(json.contenders).sort()).toEqual([...contenders].sort());
  expect(json.calibration?.spinIterations).toBeGreaterThan(0);

  // Every case has figures for every contender that runs it, one sample per repetition.
  const runs = (c: string, contender: ContenderName): boolean =>
    WASMPOOL_ONLY.includes(c)
      ? contender === 'wasmpool'
      : c !== 'tiny-batch-whole' || contender === 'wasmpool' || contender === 'single';
  for (const workload of WORKLOADS) {
    for (const c of EXPECTED_CASES[workload]) {
      for (const contender of contenders) {
        const r = json.results.find((x) => x.case === c && x.contender === contender);
        if (!runs(c, contender)) {
          expect(r).toBeUndefined();
          continue;
        }
        expect(r).toBeDefined();
        expect(r?.workload).toBe(workload);
        const metrics = Object.values(r?.metrics ?? {});
        expect(metrics.length).toBeGreaterThan(0);
        for (const f of metrics) {
          expect(isFigure(f)).toBe(true);
          expect(f.samples).toHaveLength(reps);
        }
      }
    }
  }
  expect(json.results).toHaveLength(
    Object.values(EXPECTED_CASES)
      .flat()
      .reduce((sum, c) => sum + contenders.filter((contender) => runs(c, contender)).length, 0),
  );
  expect(json.ratios.some((r) => r.case === 'tiny-batch-whole')).toBe(false);

  // Each workload reports its own metrics.
  const metricsOf = (c: string, contender: string): string[] =>
    Object.keys(json.results.find((x) => x.case === c && x.contender === contender)?.metrics ?? {}).sort();
  expect(metricsOf('tiny-run', 'wasmpool')).toEqual(withCosts('throughput'));
  expect(metricsOf('tiny-batch', 'piscina')).toEqual(withCosts('throughput'));
  expect(metricsOf('cpu', 'piscina')).toEqual(withCosts('speedup', 'speedupPerCore', 'throughput'));
  expect(metricsOf('cpu', 'single')).toEqual(withCosts('throughput'));
  expect(metricsOf('bytes-64KiB', 'wasmpool')).toEqual(withCosts('speedup', 'speedupPerCore', 'throughput'));
  expect(metricsOf('bytes-4KiB-batch', 'piscina')).toEqual(
    withCosts('speedup', 'speedupPerCore', 'throughput'),
  );
  expect(metricsOf('metrics-run-unbound', 'wasmpool')).toEqual(withCosts('throughput'));
  expect(metricsOf('metrics-batch-bound', 'wasmpool')).toEqual(withCosts('overheadNsPerTask', 'throughput'));
  for (const c of ['columns', 'wasi']) {
    for (const contender of contenders) {
      expect(metricsOf(c, contender)).toEqual(
        contender === 'single'
          ? withCosts('throughput')
          : withCosts('speedup', 'speedupPerCore', 'throughput'),
      );
    }
  }
  const columns = json.results.find((x) => x.case === 'columns' && x.contender === 'wasmpool');
  expect(columns?.metrics.throughput.unit).toBe('rows/s');
  for (const c of EXPECTED_CASES.sandbox) {
    // The cost of the sandbox is paired against `off`, which has none of its own.
    expect(metricsOf(c, 'wasmpool')).toEqual(
      c.endsWith('-off') ? withCosts('throughput') : withCosts('costPct', 'throughput'),
    );
  }
  for (const r of json.results) {
    for (const cost of COSTS) {
      const f = r.metrics[cost];
      if (f !== undefined) {
        expect(f.unit).toBe('ns/task');
        expect(f.median).toBeGreaterThanOrEqual(0); // CPU time, never negative
      }
    }
  }
  // the single thread does its work on the main thread
  const singleCost = json.results.find((x) => x.case === 'bytes-64KiB' && x.contender === 'single');
  expect(singleCost?.metrics.mainNsPerTask.median).toBeGreaterThan(0);
  expect(metricsOf('latency', 'wasmpool')).toEqual(['p50', 'p99', 'p999']);
  expect(metricsOf('cold-start', 'wasmpool')).toEqual(['firstResultMs', 'readyMs', 'replaceMs']);
  expect(metricsOf('cold-start', 'piscina')).toEqual(['firstResultMs', 'replaceMs']);
  expect(metricsOf('cold-start', 'single')).toEqual(['firstResultMs']);
  if (contenders.includes('tinypool')) {
    expect(metricsOf('bytes-4KiB', 'tinypool')).toEqual(withCosts('speedup', 'speedupPerCore', 'throughput'));
    expect(metricsOf('cold-start', 'tinypool')).toEqual(['firstResultMs']);
  }
  const bytes = json.results.find((x) => x.case === 'bytes-1MiB' && x.contender === 'wasmpool');
  expect(bytes?.metrics.throughput.unit).toBe('MB/s');

  // Ratios wasmpool ÷ piscina and the issue-6 targets.
  const tr = json.ratios.find((r) => r.case === 'tiny-run' && r.metric === 'throughput');
  expect(tr?.ratio).toBeCloseTo((tr?.wasmpool ?? NaN) / (tr?.piscina ?? NaN));
  expect(json.ratios.some((r) => r.case === 'latency' && r.metric === 'p99')).toBe(true);
  expect(json.ratios.some((r) => r.case === 'cpu' && r.metric === 'speedupPerCore')).toBe(true);
  expect(json.targets).toHaveLength(13);
  expect(json.targets.filter((t) => t.issue === 14).map((t) => t.case)).toEqual([
    'tiny-batch-whole',
    'bytes-4KiB',
    'bytes-4KiB-batch',
    'bytes-64KiB',
    'bytes-1MiB',
    'columns',
    'metrics-run-bound',
    'metrics-batch-bound',
  ]);
  // One check per case: bytes-64KiB has issue 14's 1.8×, not issue 6's 1.7× as well.
  expect(json.targets.filter((t) => t.case === 'bytes-64KiB')).toHaveLength(1);
  expect(json.targets.find((t) => t.case === 'bytes-64KiB')?.target).toMatch(/^≥ 1\.8× /);
  for (const t of json.targets) expect(typeof t.met).toBe('boolean');
  expect(evaluateTargets(json)).toEqual(json.targets);
}

describe('runBenchmarks at a tiny size, every workload, in process', () => {
  let report: BenchReport;

  beforeAll(async () => {
    report = await runBenchmarks({ sizes: TINY, reps: 2, workers: 2, contenders: IN_PROCESS });
  }, 120_000);

  test('the report has every figure, the machine and the options, and survives JSON', () => {
    checkReport(JSON.parse(reportJson(report)) as BenchReport, IN_PROCESS, 2);
  });

  test('the table and the SVG chart show every throughput case and contender', () => {
    const table = textTable(report);
    for (const c of IN_PROCESS) expect(table).toContain(c);
    expect(table).toContain('bytes-64KiB');
    expect(table).toContain('wasmpool ÷ piscina');
    expect(markdownTable(report).split('\n')[1]).toMatch(/^\| --- \| --- \|/);
    const svg = throughputSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(table).toMatch(/tiny-batch-whole .* — /);
    for (const c of [
      'tiny-run',
      'tiny-batch',
      'tiny-batch-whole',
      'cpu',
      'bytes-4KiB',
      'bytes-64KiB',
      'bytes-1MiB',
      'bytes-4KiB-batch',
      'metrics-run-bound',
      'columns',
      'wasi',
      'sandbox-cpu-on',
    ])
      expect(svg).toContain(c);
    for (const c of IN_PROCESS) expect(svg).toContain(`>${c}</text>`);
    // One bar per contender and throughput case (tiny-run, tiny-batch, cpu, four bytes cases, columns,
    // wasi); tiny-batch-whole has wasmpool's and single's only, the four metrics and six sandbox cases
    // wasmpool's only.
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="22"/g)).toHaveLength(
      9 * IN_PROCESS.length + 2 + 4 + 6,
    );
  });

  test('--update-readme rewrites only the section between the markers', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wasmpool-bench-'));
    try {
      const file = path.join(dir, 'README.md');
      writeFileSync(file, `# title\n\n${README_START}\nold figures\n${README_END}\n\ntail\n`);
      updateReadme(file, report);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith(`# title\n\n${README_START}\n`)).toBe(true);
      expect(text.endsWith(`${README_END}\n\ntail\n`)).toBe(true);
      expect(text).not.toContain('old figures');
      expect(text).toContain('| tiny-run | tasks/s |');
      expect(text).toContain('### Ratios that matter');
      expect(text).toContain('| wasmpool | ');
      expect(text).toContain('](results/readme-throughput.svg)');
      expect(text).toContain('### Targets (issues 6 and 14)');
      expect(text).toContain('| columns | rows/s |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--nice', () => {
  test('gives wasmpool and piscina workers the niceIncrement, and the run still checks every answer', async () => {
    const report = await runBenchmarks({
      sizes: TINY,
      workloads: ['tiny-batch', 'cold-start'],
      contenders: ['wasmpool', 'piscina'],
      reps: 1,
      nice: 2,
    });
    expect(report.options.nice).toBe(2);
    expect(report.contenders.wasmpool).toMatchObject({ niceIncrement: 2 });
    expect(report.contenders.piscina).toMatchObject({ niceIncrement: 2 });
    expect(report.results.find((r) => r.case === 'tiny-batch' && r.contender === 'wasmpool')).toBeDefined();
    await expect(runBenchmarks({ sizes: TINY, workloads: ['latency'], nice: 20 })).rejects.toThrow(
      /nice must be an integer from 0 to 19/,
    );
  });
});

describe('a wrong answer fails the run', () => {
  test.each(WORKLOADS.map((w) => [w]))('%s', async (workload) => {
    await expect(
      runBenchmarks({
        sizes: TINY,
        reps: 1,
        workloads: [workload],
        contenders: IN_PROCESS,
        tamper: { workload, contender: 'wasmpool' },
      }),
    ).rejects.toThrow(CorrectnessError);
  });

  test('the message names the contender, the task and both values', async () => {
    await expect(
      runBenchmarks({
        sizes: TINY,
        reps: 1,
        warmup: false,
        workloads: ['tiny-batch'],
        contenders: ['piscina', 'single'],
        tamper: { workload: 'tiny-batch', contender: 'piscina' },
      }),
    ).rejects.toThrow(/tiny-batch: piscina task 0 returned 0, expected 1/);
  });
});

describe('targets', () => {
  const result = (c: string, contender: ContenderName, medians: Record<string, number>): CaseResult => ({
    workload: 'bytes',
    case: c,
    contender,
    metrics: Object.fromEntries(
      Object.entries(medians).map(([metric, median]) => [
        metric,
        {
          median,
          min: median,
          max: median,
          q1: median,
          q3: median,
          samples: [median],
          unit: '',
          better: 'higher',
        },
      ]),
    ),
  });

  test("issue 14's targets: one check per case with the stricter figure, null when not measured", () => {
    const targets = evaluateTargets({
      results: [
        result('bytes-64KiB', 'wasmpool', { speedup: 1.75, throughput: 480 }),
        result('bytes-64KiB', 'single', { throughput: 274 }),
        result('bytes-64KiB', 'piscina', { speedup: 1.4, throughput: 384 }),
        result('columns', 'wasmpool', { speedup: 1.6, throughput: 160e6 }),
        result('columns', 'single', { throughput: 100e6 }),
        result('tiny-batch-whole', 'wasmpool', { throughput: 5.1e6 }),
      ],
    });
    const target = (c: string) => targets.find((t) => t.case === c);
    // 1.75× met issue 6's 1.7× but not issue 14's 1.8×.
    expect(target('bytes-64KiB')).toMatchObject({ issue: 14, met: false });
    expect(target('bytes-64KiB')?.measured).toBe(
      'wasmpool 480 MB/s = 1.75× one thread (274 MB/s); piscina 384 MB/s = 1.40×',
    );
    expect(target('columns')).toMatchObject({ issue: 14, met: true });
    expect(target('columns')?.measured).toContain('one thread (100,000,000 rows/s); piscina n/a rows/s');
    expect(target('tiny-batch-whole')).toMatchObject({ issue: 14, met: true });
    expect(target('bytes-1MiB')?.met).toBeNull();
    expect(target('cpu')).toMatchObject({ issue: 6, met: null });
  });
});

describe('columns and wasi', () => {
  test('a wrong sum from piscina names the contender, the row and both values', async () => {
    await expect(
      runBenchmarks({
        sizes: TINY,
        reps: 1,
        warmup: false,
        workloads: ['columns'],
        contenders: ['piscina', 'single'],
        tamper: { workload: 'columns', contender: 'piscina' },
      }),
    ).rejects.toThrow(/columns: piscina task 0 returned 0, expected 1/);
  });

  test('a wrong stdout from the single thread names the task and both outputs', async () => {
    await expect(
      runBenchmarks({
        sizes: TINY,
        reps: 1,
        warmup: false,
        workloads: ['wasi'],
        contenders: ['wasmpool', 'single'],
        tamper: { workload: 'wasi', contender: 'single' },
      }),
    ).rejects.toThrow(/wasi: single task 0 returned exit code 0, stdout "\d+ \d+ 300\\n", stderr ""/);
  });

  test("the expected stdout is wasi-tool wc's: lines, words, bytes", () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(wcReference(enc(''))).toBe('0 0 0\n');
    expect(wcReference(enc('one two\n  three\tfour\n\nfive'))).toBe('3 5 26\n');
    const text = wcText(4096, 3);
    expect(text).toHaveLength(4096);
    expect(text.every((c) => c === 10 || c === 32 || (c >= 97 && c <= 112))).toBe(true);
    expect(wcText(4096, 3)).toEqual(text);
    expect(wcText(4096, 4)).not.toEqual(text);
    const [lines, words] = wcReference(text).split(' ').map(Number);
    expect(lines).toBeGreaterThan(40);
    expect(words).toBeGreaterThan(500);
  });
});

describe('windowed()', () => {
  test('keeps at most inFlight calls outstanding and stores every value', async () => {
    let outstanding = 0;
    let most = 0;
    const stored: number[] = [];
    await windowed(
      20,
      3,
      async (i) => {
        most = Math.max(most, ++outstanding);
        await new Promise((r) => setImmediate(r));
        outstanding--;
        return i * 2;
      },
      (i, v) => {
        stored[i] = v;
      },
    );
    expect(most).toBe(3);
    expect(stored).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  test('rejects with the error a store throws, and starts nothing after it', async () => {
    let started = 0;
    const run = windowed(
      50,
      2,
      async (i) => {
        started++;
        return i;
      },
      (i) => {
        if (i === 4) throw new Error('wrong answer at 4');
      },
    );
    await expect(run).rejects.toThrow('wrong answer at 4');
    const startedAtFailure = started;
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(startedAtFailure);
    expect(started).toBeLessThan(50);
  });
});

describe('cli', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

  test('a tiny run of every workload and contender (tinypool too) writes the JSON, the SVG and the Markdown', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wasmpool-bench-'));
    try {
      const files = ['--json', 'r.json', '--svg', 'r.svg', '--markdown', 'r.md'].map((a, i) =>
        i % 2 === 1 ? path.join(dir, a) : a,
      );
      const r = run(['--tiny', '--reps', '1', ...files]);
      expect(r.stderr).not.toMatch(/failed|WRONG/);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('wasmpool ÷ piscina');
      expect(r.stdout).toContain('targets (issues 6 and 14):');
      expect(r.stdout).toMatch(/\] columns \(issue 14\): ≥ 1\.5× one thread's rows\/s/);
      checkReport(
        JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as BenchReport,
        [...CONTENDERS],
        1,
      );
      const svg = readFileSync(path.join(dir, 'r.svg'), 'utf8');
      for (const c of CONTENDERS) expect(svg).toContain(`>${c}</text>`);
      expect(readFileSync(path.join(dir, 'r.md'), 'utf8')).toContain('| cold-start |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test.each([['cpu:tinypool'], ['bytes:wasmpool'], ['latency'], ['columns'], ['wasi'], ['sandbox']])(
    'a wrong answer (--tamper %s) exits with code 1 and writes no report',
    (tamper) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'wasmpool-bench-'));
      try {
        const [workload] = tamper.split(':');
        const r = run([
          '--tiny',
          '--reps',
          '1',
          '--workloads',
          workload,
          '--tamper',
          tamper,
          '--json',
          path.join(dir, 'r.json'),
        ]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('WRONG ANSWER');
        expect(() => readFileSync(path.join(dir, 'r.json'))).toThrow();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  test('parses the options', () => {
    const args = parseCli([
      '--quick',
      '--workers',
      '3',
      '--workloads',
      'cpu,latency',
      '--contenders',
      'wasmpool,single',
      '--reps',
      '4',
      '--json',
      'x.json',
      '--tamper',
      'cpu:single',
      '--nice',
      '5',
    ]);
    expect(args.options).toMatchObject({
      quick: true,
      workers: 3,
      nice: 5,
      workloads: ['cpu', 'latency'],
      contenders: ['wasmpool', 'single'],
      reps: 4,
      warmup: true,
      tamper: { workload: 'cpu', contender: 'single' },
    });
    expect(args.json).toBe(path.resolve('x.json'));
    expect(parseCli(['--tiny']).options.sizes).toBe(TINY);
    expect(() => parseCli(['--workloads', 'nope'])).toThrow(/unknown workload "nope"/);
    expect(() => parseCli(['--reps', '0'])).toThrow(/positive integer/);
    expect(parseCli(['--nice', '0']).options.nice).toBe(0);
    expect(() => parseCli(['--nice', '20'])).toThrow(/--nice must be an integer from 0 to 19, got "20"/);
    expect(() => parseCli(['--nice=-1'])).toThrow(/--nice must be an integer from 0 to 19/);
    expect(() => parseCli(['--tamper', 'cpu:nobody'])).toThrow(/unknown contender "nobody"/);
  });

  test('a plain run writes only files git ignores; the README copies stay tracked', () => {
    const args = parseCli([]);
    expect(args.updateReadme).toBe(false);
    const defaults = [args.json, args.svg, args.markdown];
    const readmeCopies = ['readme.json', 'readme-throughput.svg'].map((f) => path.join(RESULTS_DIR, f));
    const ignored = spawnSync('git', ['check-ignore', '--no-index', ...defaults, ...readmeCopies], {
      cwd: RESULTS_DIR,
      encoding: 'utf8',
    });
    expect(ignored.error).toBeUndefined();
    expect(ignored.stdout.trim().split('\n').sort()).toEqual([...defaults].sort());
  });

  test('main() in process: exit code 0 with files written, 2 on a bad option', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wasmpool-bench-'));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main([
        '--workloads',
        'cold-start',
        '--contenders',
        'single',
        '--reps',
        '1',
        '--json',
        path.join(dir, 'r.json'),
        '--svg',
        path.join(dir, 'r.svg'),
        '--markdown',
        path.join(dir, 'r.md'),
      ]);
      expect(code).toBe(0);
      const report = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as BenchReport;
      expect(report.results).toHaveLength(1);
      expect(readFileSync(path.join(dir, 'r.svg'), 'utf8')).toContain('<svg');
      expect(await main(['--bogus'])).toBe(2);
    } finally {
      write.mockRestore();
      err.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
