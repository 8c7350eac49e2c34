/**
 * The benchmark harness: runs every selected workload for every selected contender with warm-up, measured
 * repetitions interleaved across contenders (the order rotates each repetition so drift on a shared machine
 * does not favour one), checks every answer, and summarises the figures.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadContender, type Contender } from './contenders';
import {
  addA,
  addB,
  type CommandOutput,
  type ModuleKey,
  type PoolShape,
  type Running,
  type SandboxMode,
} from './contenders/types';
import { machineInfo, type MachineInfo } from './machine';
import {
  CONTENDERS,
  DEFAULT_REPS,
  FULL_SIZES,
  QUICK_SIZES,
  TINY_SIZES,
  WORKLOADS,
  type BenchOptions,
  type ContenderName,
  type Sizes,
  type WorkloadName,
} from './options';
import { defaultModulePaths } from './paths';
import { percentiles, summarize, type Summary } from './stats';
import { evaluateTargets, type TargetCheck } from './targets';
import { instantiateFile, type MathExports } from './wasm';
import { costMeter } from './cpu-cost';
import { metricsCost } from './metrics-cost';
import { SANDBOX_MODES, sandboxCost, type SandboxShape } from './sandbox-cost';

/** A wrong answer from a contender: the run fails. */
export class CorrectnessError extends Error {
  override readonly name = 'CorrectnessError';
}

/** One figure: the summary of its repetitions. */
export interface Figure extends Summary {
  unit: string;
  better: 'higher' | 'lower';
}

/** Every figure of one contender on one case of a workload (e.g. bytes-64KiB). */
export interface CaseResult {
  workload: WorkloadName;
  case: string;
  contender: ContenderName;
  metrics: Record<string, Figure>;
}

/** wasmpool ÷ piscina (medians) of one metric. */
export interface Ratio {
  case: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  wasmpool: number;
  piscina: number;
  ratio: number;
}

export interface Calibration {
  /** `spin` iterations of one cpu task. */
  spinIterations: number;
  /** Median time of one such task on the main thread, ms. */
  spinMs: number;
  /** Fastest of those calls, ms. */
  spinMinMs: number;
}

export interface BenchReport {
  schema: 'wasmpool-benchmarks/1';
  date: string;
  durationMs: number;
  machine: MachineInfo;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: other work on the machine shows here. */
  load: { start: number[]; end: number[] };
  options: {
    /** full, quick or tiny (the CLI's size presets), or custom sizes. */
    kind: 'full' | 'quick' | 'tiny' | 'custom';
    quick: boolean;
    workers: number;
    /** niceIncrement given to wasmpool's and piscina's workers (0: none). */
    nice: number;
    reps: number;
    warmup: boolean;
    workloads: WorkloadName[];
    contenders: ContenderName[];
    sizes: Sizes;
  };
  /** How each contender was configured. */
  contenders: Partial<Record<ContenderName, Record<string, unknown>>>;
  calibration?: Calibration;
  results: CaseResult[];
  ratios: Ratio[];
  targets: TargetCheck[];
}

export function resolveOptions(partial: Partial<BenchOptions> = {}): BenchOptions {
  const quick = partial.quick ?? false;
  const options: BenchOptions = {
    quick,
    workers: partial.workers ?? 2,
    nice: partial.nice ?? 0,
    workloads: partial.workloads ?? [...WORKLOADS],
    contenders: partial.contenders ?? [...CONTENDERS],
    reps: partial.reps ?? (quick ? DEFAULT_REPS.quick : DEFAULT_REPS.full),
    sizes: partial.sizes ?? (quick ? QUICK_SIZES : FULL_SIZES),
    warmup: partial.warmup ?? true,
    modules: partial.modules ?? defaultModulePaths(),
    log: partial.log ?? (() => {}),
    tamper: partial.tamper,
  };
  if (!Number.isInteger(options.workers) || options.workers < 1)
    throw new Error('workers must be an integer >= 1');
  if (!Number.isInteger(options.reps) || options.reps < 1) throw new Error('reps must be an integer >= 1');
  if (!Number.isInteger(options.nice) || options.nice < 0 || options.nice > 19)
    throw new Error('nice must be an integer from 0 to 19');
  for (const w of options.workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
  for (const c of options.contenders) if (!CONTENDERS.includes(c)) throw new Error(`unknown contender ${c}`);
  return options;
}

function runKind(opts: BenchOptions): BenchReport['options']['kind'] {
  if (opts.sizes === TINY_SIZES) return 'tiny';
  if (opts.sizes === QUICK_SIZES) return 'quick';
  if (opts.sizes === FULL_SIZES) return 'full';
  return 'custom';
}

/** Runs the benchmarks and returns every figure. Throws CorrectnessError on a wrong answer. */
export async function runBenchmarks(partial: Partial<BenchOptions> = {}): Promise<BenchReport> {
  const opts = resolveOptions(partial);
  const started = performance.now();
  const contenders = opts.contenders.map((name) => loadContender(name));
  const bench = new Bench(opts, contenders);
  const report: BenchReport = {
    schema: 'wasmpool-benchmarks/1',
    date: new Date().toISOString(),
    durationMs: 0,
    machine: machineInfo(),
    load: { start: loadavg(), end: [] },
    options: {
      kind: runKind(opts),
      quick: opts.quick,
      workers: opts.workers,
      nice: opts.nice,
      reps: opts.reps,
      warmup: opts.warmup,
      workloads: [...opts.workloads],
      contenders: [...opts.contenders],
      sizes: opts.sizes,
    },
    contenders: Object.fromEntries(
      contenders.map((c) => [c.name, c.describe({ workers: opts.workers, nice: opts.nice })]),
    ),
    results: bench.results,
    ratios: [],
    targets: [],
  };
  for (const workload of WORKLOADS) {
    if (!opts.workloads.includes(workload)) continue;
    opts.log(`== ${workload}`);
    switch (workload) {
      case 'tiny-run':
        await bench.tinyRun();
        break;
      case 'tiny-batch':
        await bench.tinyBatch();
        break;
      case 'cpu':
        report.calibration = bench.calibrate();
        await bench.cpu(report.calibration);
        break;
      case 'bytes':
        await bench.bytes();
        break;
      case 'latency':
        await bench.latency();
        break;
      case 'cold-start':
        await bench.coldStart();
        break;
      case 'metrics':
        await bench.metrics();
        break;
      case 'columns':
        await bench.columns();
        break;
      case 'wasi':
        await bench.wasi();
        break;
      case 'sandbox':
        await bench.sandbox(() => (report.calibration ??= bench.calibrate()));
        break;
    }
  }
  report.ratios = computeRatios(report.results);
  report.targets = evaluateTargets(report);
  report.load.end = loadavg();
  report.durationMs = performance.now() - started;
  return report;
}

/** One case of a throughput workload. */
interface ThroughputCase {
  name: string;
  unit: string;
  /** Tasks of one measured repetition. */
  tasks: number;
  /** Units of work (tasks or MB) per task. */
  perTask: number;
  /** Also report the speed-up over the single thread (paired per repetition). */
  speedup?: boolean;
  /** Only these contenders run the case (default: every contender of the run). */
  only?: ContenderName[];
  run(r: Running, n: number, contender: ContenderName): Promise<void>;
  check(contender: ContenderName, n: number): void;
}

const SENTINEL = -0x1234567;

class Bench {
  readonly results: CaseResult[] = [];

  constructor(
    private readonly opts: BenchOptions,
    private readonly contenders: Contender[],
  ) {}

  private tampered(workload: WorkloadName, contender: ContenderName): boolean {
    const t = this.opts.tamper;
    return (
      t !== undefined && t.workload === workload && (t.contender === undefined || t.contender === contender)
    );
  }

  /** `contenders` in the order of repetition `rep` (rotated each time). */
  private order(rep: number, contenders: Contender[] = this.contenders): Contender[] {
    const n = contenders.length;
    return contenders.map((_, i) => contenders[(i + rep) % n]);
  }

  private shape(): PoolShape {
    return { workers: this.opts.workers, nice: this.opts.nice };
  }

  private warmTasks(tasks: number): number {
    return Math.max(1, Math.ceil(tasks * this.opts.sizes.warmupFraction));
  }

  private async startAll(load: ModuleKey[], maxQueued: number): Promise<Map<ContenderName, Running>> {
    const running = new Map<ContenderName, Running>();
    try {
      for (const c of this.contenders) {
        running.set(c.name, await c.start({ ...this.shape(), modules: this.opts.modules, load, maxQueued }));
      }
    } catch (error) {
      await closeAll(running.values());
      throw error;
    }
    return running;
  }

  private record(
    workload: WorkloadName,
    caseName: string,
    contender: ContenderName,
    metrics: Record<string, Figure>,
  ) {
    this.results.push({ workload, case: caseName, contender, metrics });
  }

  private async throughput(
    workload: WorkloadName,
    load: ModuleKey[],
    cases: ThroughputCase[],
    maxQueued = 0,
  ) {
    const running = await this.startAll(load, maxQueued);
    try {
      for (const cs of cases) {
        const contenders = this.contenders.filter((c) => cs.only?.includes(c.name) ?? true);
        if (this.opts.warmup) {
          const n = this.warmTasks(cs.tasks);
          for (const c of contenders) {
            await cs.run(running.get(c.name) as Running, n, c.name);
            cs.check(c.name, n);
          }
        }
        const samples = new Map<ContenderName, number[]>(contenders.map((c) => [c.name, []]));
        const mainNs = new Map<ContenderName, number[]>(contenders.map((c) => [c.name, []]));
        const workerNs = new Map<ContenderName, number[]>(contenders.map((c) => [c.name, []]));
        for (let rep = 0; rep < this.opts.reps; rep++) {
          for (const c of this.order(rep, contenders)) {
            const meter = costMeter();
            const t0 = performance.now();
            await cs.run(running.get(c.name) as Running, cs.tasks, c.name);
            const seconds = (performance.now() - t0) / 1000;
            const cost = meter.stop(cs.tasks);
            cs.check(c.name, cs.tasks);
            const value = (cs.tasks * cs.perTask) / seconds;
            (samples.get(c.name) as number[]).push(value);
            (mainNs.get(c.name) as number[]).push(cost.mainNs);
            (workerNs.get(c.name) as number[]).push(cost.workerNs);
            this.opts.log(
              `[${cs.name}] rep ${rep + 1}/${this.opts.reps} ${c.name}: ${fmt(value)} ${cs.unit}`,
            );
          }
        }
        const single = samples.get('single');
        for (const c of contenders) {
          const s = samples.get(c.name) as number[];
          const metrics: Record<string, Figure> = {
            throughput: figure(s, cs.unit, 'higher'),
            mainNsPerTask: figure(mainNs.get(c.name) as number[], 'ns/task', 'lower'),
            workerNsPerTask: figure(workerNs.get(c.name) as number[], 'ns/task', 'lower'),
          };
          if (cs.speedup === true && single !== undefined && c.name !== 'single') {
            // Paired per repetition: the contender against the single thread measured in the same round.
            const speedup = s.map((v, i) => v / single[i]);
            metrics.speedup = figure(speedup, '× single', 'higher');
            metrics.speedupPerCore = figure(
              speedup.map((v) => v / this.cores()),
              '× single ÷ cores',
              'higher',
            );
          }
          this.record(workload, cs.name, c.name, metrics);
        }
      }
    } finally {
      await closeAll(running.values());
    }
  }

  private cores(): number {
    return machineInfo().availableParallelism;
  }

  /** Checks `out[0..n)` against `add(addA(i), addB(i))`. */
  private addChecker(workload: WorkloadName, caseName: string, outs: Map<ContenderName, Int32Array>) {
    return (contender: ContenderName, n: number): void => {
      const out = outs.get(contender) as Int32Array;
      const off = this.tampered(workload, contender) ? 1 : 0;
      for (let i = 0; i < n; i++) {
        const expected = (addA(i) + addB(i) + (i === 0 ? off : 0)) | 0;
        if (out[i] !== expected) {
          throw new CorrectnessError(
            `${caseName}: ${contender} task ${i} returned ${out[i] === SENTINEL ? 'nothing' : out[i]}, expected ${expected}`,
          );
        }
      }
      out.fill(SENTINEL, 0, n);
    };
  }

  private int32Outs(n: number): Map<ContenderName, Int32Array> {
    return new Map(this.contenders.map((c) => [c.name, new Int32Array(n).fill(SENTINEL)]));
  }

  /** A case of n `add(addA(i), addB(i))` tasks per repetition, the answers written to `outs` and checked. */
  private addCase(
    workload: WorkloadName,
    name: string,
    n: number,
    outs: Map<ContenderName, Int32Array>,
    run: (r: Running, n: number, out: Int32Array) => Promise<void>,
    only?: ContenderName[],
  ): ThroughputCase {
    return {
      name,
      unit: 'tasks/s',
      tasks: n,
      perTask: 1,
      only,
      run: (r, k, who) => run(r, k, outs.get(who) as Int32Array),
      check: this.addChecker(workload, name, outs),
    };
  }

  async tinyRun(): Promise<void> {
    const { tinyRunTasks: n, tinyRunInFlight } = this.opts.sizes;
    const outs = this.int32Outs(n);
    await this.throughput(
      'tiny-run',
      ['math'],
      [this.addCase('tiny-run', 'tiny-run', n, outs, (r, k, out) => r.tinyRun(k, tinyRunInFlight, out))],
    );
  }

  async tinyBatch(): Promise<void> {
    const { tinyBatchTasks: n, batchSize, batchInFlight } = this.opts.sizes;
    const outs = this.int32Outs(n);
    await this.throughput(
      'tiny-batch',
      ['math'],
      [
        this.addCase('tiny-batch', 'tiny-batch', n, outs, (r, k, out) =>
          r.tinyBatch(k, batchSize, batchInFlight, out),
        ),
        // One call for all n tasks: only wasmpool has an API for it (piscina's would run on one thread).
        this.addCase('tiny-batch', 'tiny-batch-whole', n, outs, (r, k, out) => r.tinyBatch(k, k, 1, out), [
          'wasmpool',
          'single',
        ]),
      ],
      n,
    );
  }

  /**
   * Finds the `spin` iterations of one ~cpuTaskMs task on the main thread. The cost per iteration is the
   * fastest of several timed calls, which other processes on a shared machine can only slow down.
   */
  calibrate(): Calibration {
    const m = instantiateFile<MathExports>(this.opts.modules.math);
    let iterations = 10_000;
    for (let i = 0; i < 200; i++) m.spin(iterations);
    for (let round = 0; round < 3; round++) {
      let best = Infinity;
      for (let k = 0; k < 15; k++) {
        const t0 = performance.now();
        m.spin(iterations);
        best = Math.min(best, performance.now() - t0);
      }
      iterations = Math.max(1, Math.round((this.opts.sizes.cpuTaskMs / best) * iterations));
    }
    const times: number[] = [];
    for (let i = 0; i < 41; i++) {
      const t0 = performance.now();
      m.spin(iterations);
      times.push(performance.now() - t0);
    }
    const { median: spinMs, min: spinMinMs } = summarize(times);
    this.opts.log(
      `calibrated spin: ${iterations} iterations = ${spinMs.toFixed(3)} ms (fastest ${spinMinMs.toFixed(3)} ms) on the main thread`,
    );
    return { spinIterations: iterations, spinMs, spinMinMs };
  }

  async cpu(cal: Calibration): Promise<void> {
    const { cpuTasks: n, cpuInFlight } = this.opts.sizes;
    const outs = this.int32Outs(n);
    await this.throughput(
      'cpu',
      ['math'],
      [
        {
          name: 'cpu',
          unit: 'tasks/s',
          tasks: n,
          perTask: 1,
          speedup: true,
          run: (r, k, who) => r.cpu(k, cal.spinIterations, cpuInFlight, outs.get(who) as Int32Array),
          check: this.spinChecker('cpu', 'cpu', cal, outs),
        },
      ],
    );
  }

  /** Checks `out[0..n)` against the main thread's `spin(cal.spinIterations)`. */
  private spinChecker(
    workload: WorkloadName,
    caseName: string,
    cal: Calibration,
    outs: Map<ContenderName, Int32Array>,
  ) {
    const expectedSpin = instantiateFile<MathExports>(this.opts.modules.math).spin(cal.spinIterations);
    return (contender: ContenderName, n: number): void => {
      const out = outs.get(contender) as Int32Array;
      const expected = (expectedSpin + (this.tampered(workload, contender) ? 1 : 0)) | 0;
      for (let i = 0; i < n; i++) {
        if (out[i] !== expected) {
          throw new CorrectnessError(
            `${caseName}: ${contender} task ${i} returned ${out[i]}, expected ${expected}`,
          );
        }
      }
      out.fill(SENTINEL, 0, n);
    };
  }

  async bytes(): Promise<void> {
    const { bytes, bytesInFlight, bytesBatch } = this.opts.sizes;
    const cases: ThroughputCase[] = bytes.map(({ size, tasks }) =>
      this.bytesCase(`bytes-${sizeLabel(size)}`, size, tasks, (r, inputs, k, out) =>
        r.sha256(inputs, k, bytesInFlight, out),
      ),
    );
    // The same 4 KiB hashes as arrays: one runBatch() per array for wasmpool.
    const { size, tasks, batchSize, inFlight } = bytesBatch;
    cases.push(
      this.bytesCase(`bytes-${sizeLabel(size)}-batch`, size, tasks, (r, inputs, k, out) =>
        r.sha256Batch(inputs, k, batchSize, inFlight, out),
      ),
    );
    await this.throughput('bytes', ['sha256'], cases);
  }

  /** A case of `tasks` SHA-256 digests of `size`-byte inputs, checked against node:crypto. */
  private bytesCase(
    name: string,
    size: number,
    tasks: number,
    run: (r: Running, inputs: Uint8Array[], n: number, out: Uint8Array[]) => Promise<void>,
  ): ThroughputCase {
    const inputs = hashInputs(size, tasks);
    const outs = new Map<ContenderName, Uint8Array[]>(this.contenders.map((c) => [c.name, new Array(tasks)]));
    return {
      name,
      unit: 'MB/s',
      tasks,
      perTask: size / 1e6,
      speedup: true,
      run: (r, k, who) => run(r, inputs, k, outs.get(who) as Uint8Array[]),
      check: this.digestChecker('bytes', name, inputs, outs),
    };
  }

  /** Checks `out[0..n)` against the node:crypto digests of `inputs[i % inputs.length]`. */
  private digestChecker(
    workload: WorkloadName,
    caseName: string,
    inputs: Uint8Array[],
    outs: Map<ContenderName, Uint8Array[]>,
  ) {
    const expected = inputs.map((b) => createHash('sha256').update(b).digest());
    return (contender: ContenderName, n: number): void => {
      const out = outs.get(contender) as Uint8Array[];
      const tamper = this.tampered(workload, contender);
      for (let i = 0; i < n; i++) {
        const want = expected[i % inputs.length];
        const got = out[i];
        if (!(got instanceof Uint8Array) || Buffer.compare(got, want) !== 0 || (tamper && i === 0)) {
          throw new CorrectnessError(
            `${caseName}: ${contender} task ${i} returned ${got instanceof Uint8Array ? Buffer.from(got).toString('hex') : String(got)}, expected ${want.toString('hex')}`,
          );
        }
      }
      out.fill(undefined as unknown as Uint8Array, 0, n);
    };
  }

  /**
   * One `runColumns()` of `add` per repetition over columnsRows rows (wasmpool); the single thread loops
   * over the same typed arrays; piscina and tinypool get one run() per thread over its share of the rows
   * (the columns are in SharedArrayBuffers). Every contender returns a new Int32Array of sums.
   */
  async columns(): Promise<void> {
    const n = this.opts.sizes.columnsRows;
    const a = new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
    const b = new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
    for (let i = 0; i < n; i++) {
      a[i] = addA(i);
      b[i] = addB(i);
    }
    // Each contender's sums of its last pass, checked by the add checker.
    const outs = new Map<ContenderName, Int32Array>();
    const check = this.addChecker('columns', 'columns', outs);
    await this.throughput(
      'columns',
      ['math'],
      [
        {
          name: 'columns',
          unit: 'rows/s',
          tasks: n,
          perTask: 1,
          speedup: true,
          run: async (r, k, who) => {
            outs.set(who, await r.columns(k === n ? a : a.subarray(0, k), k === n ? b : b.subarray(0, k)));
          },
          check: (contender, k) => {
            const out = outs.get(contender);
            if (!(out instanceof Int32Array) || out.length !== k) {
              throw new CorrectnessError(
                `columns: ${contender} returned ${out instanceof Int32Array ? `${out.length} rows` : String(out)}, expected an Int32Array of ${k} rows`,
              );
            }
            check(contender, k);
            outs.delete(contender);
          },
        },
      ],
    );
  }

  /**
   * WASI commands, one per task on a fresh instance: `wasi-tool wc` over `stdinBytes` of text (8 distinct
   * inputs, cycled), its stdout checked against a JS word count.
   */
  async wasi(): Promise<void> {
    const { tasks: n, stdinBytes, inFlight } = this.opts.sizes.wasi;
    // In SharedArrayBuffers, like the bytes inputs: no contender's postMessage copies them.
    const inputs = Array.from({ length: Math.min(8, n) }, (_, k) => {
      const text = wcText(stdinBytes, k + 1);
      const shared = new Uint8Array(new SharedArrayBuffer(text.length));
      shared.set(text);
      return shared;
    });
    const expected = inputs.map((input) => Buffer.from(wcReference(input)));
    const outs = new Map<ContenderName, CommandOutput[]>(this.contenders.map((c) => [c.name, new Array(n)]));
    await this.throughput(
      'wasi',
      ['wasiTool'],
      [
        {
          name: 'wasi',
          unit: 'tasks/s',
          tasks: n,
          perTask: 1,
          speedup: true,
          run: (r, k, who) => r.wasiWc(inputs, k, inFlight, outs.get(who) as CommandOutput[]),
          check: (contender, k) => {
            const out = outs.get(contender) as CommandOutput[];
            const tamper = this.tampered('wasi', contender);
            for (let i = 0; i < k; i++) {
              const want = expected[i % inputs.length];
              const got = out[i] as CommandOutput | undefined;
              const ok =
                got !== undefined &&
                got.exitCode === 0 &&
                got.stderr.length === 0 &&
                Buffer.compare(got.stdout, want) === 0;
              if (!ok || (tamper && i === 0)) {
                const what =
                  got === undefined
                    ? 'nothing'
                    : `exit code ${got.exitCode}, stdout ${JSON.stringify(Buffer.from(got.stdout).toString())}, stderr ${JSON.stringify(Buffer.from(got.stderr).toString())}`;
                throw new CorrectnessError(
                  `wasi: ${contender} task ${i} returned ${what}, expected exit code 0 and stdout ${JSON.stringify(want.toString())}`,
                );
              }
            }
            out.fill(undefined as unknown as CommandOutput, 0, k);
          },
        },
      ],
    );
  }

  /**
   * wasmpool only: `spin` tasks and 4 KiB SHA-256 batches on pools whose modules are registered with the
   * sandbox's instrumentation (the default), without it, and metered with fuel (see sandbox-cost.ts).
   */
  async sandbox(calibration: () => Calibration): Promise<void> {
    const wasmpool = this.contenders.find((c) => c.name === 'wasmpool');
    if (wasmpool === undefined) {
      this.opts.log('[sandbox] skipped: it measures wasmpool only');
      return;
    }
    const cal = calibration();
    const { sandbox, cpuInFlight, bytesBatch } = this.opts.sizes;
    const running: Partial<Record<SandboxMode, Running>> = {};
    try {
      for (const mode of SANDBOX_MODES) {
        running[mode] = await wasmpool.start({
          ...this.shape(),
          modules: this.opts.modules,
          load: ['math', 'sha256'],
          maxQueued: 0,
          sandbox: mode,
        });
      }
      const spinOut = new Int32Array(sandbox.cpuTasks).fill(SENTINEL);
      const checkSpin = this.spinChecker(
        'sandbox',
        'sandbox-cpu',
        cal,
        new Map([['wasmpool' as const, spinOut]]),
      );
      const inputs = hashInputs(bytesBatch.size, sandbox.bytesTasks);
      const digests = new Array<Uint8Array>(sandbox.bytesTasks);
      const bytesName = `sandbox-bytes-${sizeLabel(bytesBatch.size)}-batch`;
      const checkDigests = this.digestChecker(
        'sandbox',
        bytesName,
        inputs,
        new Map([['wasmpool' as const, digests]]),
      );
      const shapes: SandboxShape[] = [
        {
          name: 'sandbox-cpu',
          tasks: sandbox.cpuTasks,
          run: (r, n) => r.cpu(n, cal.spinIterations, cpuInFlight, spinOut),
          check: (n) => checkSpin('wasmpool', n),
        },
        {
          name: bytesName,
          tasks: sandbox.bytesTasks,
          run: (r, n) => r.sha256Batch(inputs, n, bytesBatch.batchSize, bytesBatch.inFlight, digests),
          check: (n) => checkDigests('wasmpool', n),
        },
      ];
      await sandboxCost({
        running: running as Record<SandboxMode, Running>,
        shapes,
        reps: this.opts.reps,
        warmupFraction: this.opts.warmup ? this.opts.sizes.warmupFraction : 0,
        log: this.opts.log,
        record: (caseName, metrics) => this.record('sandbox', caseName, 'wasmpool', metrics),
      });
    } finally {
      await closeAll(Object.values(running));
    }
  }

  /** wasmpool with @wasmpool/metrics bound and unbound, alternating (see metrics-cost.ts). */
  async metrics(): Promise<void> {
    const wasmpool = this.contenders.find((c) => c.name === 'wasmpool');
    if (wasmpool === undefined) {
      this.opts.log('[metrics] skipped: it measures wasmpool only');
      return;
    }
    const n = this.opts.sizes.metricsTasks;
    const running = await wasmpool.start({
      ...this.shape(),
      modules: this.opts.modules,
      load: ['math'],
      maxQueued: n,
    });
    try {
      const out = new Int32Array(n).fill(SENTINEL);
      const check = this.addChecker('metrics', 'metrics', new Map([['wasmpool' as const, out]]));
      await metricsCost({
        running,
        tasks: n,
        inFlight: this.opts.sizes.tinyRunInFlight,
        reps: this.opts.reps,
        warmup: this.opts.warmup ? this.warmTasks(n) : 0,
        out,
        check: (k) => check('wasmpool', k),
        log: this.opts.log,
        record: (caseName, metrics) => this.record('metrics', caseName, 'wasmpool', metrics),
      });
    } finally {
      await running.close();
    }
  }

  async latency(): Promise<void> {
    const n = this.opts.sizes.latencyTasks;
    const running = await this.startAll(['math'], 0);
    const outs = this.int32Outs(n);
    const check = this.addChecker('latency', 'latency', outs);
    const times = new Float64Array(n);
    const qs = { p50: 0.5, p99: 0.99, p999: 0.999 };
    try {
      if (this.opts.warmup) {
        const k = this.warmTasks(n);
        for (const c of this.contenders) {
          await (running.get(c.name) as Running).latency(k, times, outs.get(c.name) as Int32Array);
          check(c.name, k);
        }
      }
      const samples = new Map(
        this.contenders.map((c) => [
          c.name,
          { p50: [] as number[], p99: [] as number[], p999: [] as number[] },
        ]),
      );
      for (let rep = 0; rep < this.opts.reps; rep++) {
        for (const c of this.order(rep)) {
          await (running.get(c.name) as Running).latency(n, times, outs.get(c.name) as Int32Array);
          check(c.name, n);
          const [p50, p99, p999] = percentiles(times, [qs.p50, qs.p99, qs.p999]);
          const s = samples.get(c.name) as { p50: number[]; p99: number[]; p999: number[] };
          s.p50.push(p50);
          s.p99.push(p99);
          s.p999.push(p999);
          this.opts.log(
            `[latency] rep ${rep + 1}/${this.opts.reps} ${c.name}: p50 ${fmt(p50)} µs, p99 ${fmt(p99)} µs, p999 ${fmt(p999)} µs`,
          );
        }
      }
      for (const c of this.contenders) {
        const s = samples.get(c.name) as { p50: number[]; p99: number[]; p999: number[] };
        this.record('latency', 'latency', c.name, {
          p50: figure(s.p50, 'µs', 'lower'),
          p99: figure(s.p99, 'µs', 'lower'),
          p999: figure(s.p999, 'µs', 'lower'),
        });
      }
    } finally {
      await closeAll(running.values());
    }
  }

  async coldStart(): Promise<void> {
    const ctx = { ...this.shape(), modules: this.opts.modules };
    const checkAnswer = (contender: ContenderName, what: string, got: number, want: number): void => {
      const expected = want + (this.tampered('cold-start', contender) ? 1 : 0);
      if (got !== expected)
        throw new CorrectnessError(`cold-start: ${contender} ${what} returned ${got}, expected ${expected}`);
    };
    const first = new Map<ContenderName, number[]>(this.contenders.map((c) => [c.name, []]));
    const ready = new Map<ContenderName, number[]>();
    const replace = new Map<ContenderName, number[]>();
    if (this.opts.warmup) {
      for (const c of this.contenders)
        checkAnswer(c.name, 'first result', (await c.coldStart(ctx)).answer, 3);
    }
    for (let rep = 0; rep < this.opts.reps; rep++) {
      for (const c of this.order(rep)) {
        const r = await c.coldStart(ctx);
        checkAnswer(c.name, 'first result', r.answer, 3);
        (first.get(c.name) as number[]).push(r.firstResultMs);
        if (r.readyMs !== undefined) ready.set(c.name, [...(ready.get(c.name) ?? []), r.readyMs]);
        this.opts.log(
          `[cold-start] rep ${rep + 1}/${this.opts.reps} ${c.name}: first result ${fmt(r.firstResultMs)} ms` +
            (r.readyMs === undefined ? '' : `, ready ${fmt(r.readyMs)} ms`),
        );
      }
    }
    for (let rep = 0; rep < this.opts.reps; rep++) {
      for (const c of this.order(rep)) {
        if (c.replaceKilledWorker === undefined) continue;
        const r = await c.replaceKilledWorker(ctx);
        checkAnswer(c.name, 'task after the replacement', r.answer, 42);
        replace.set(c.name, [...(replace.get(c.name) ?? []), r.replaceMs]);
        this.opts.log(
          `[cold-start] rep ${rep + 1}/${this.opts.reps} ${c.name}: replaced a killed worker in ${fmt(r.replaceMs)} ms`,
        );
      }
    }
    for (const c of this.contenders) {
      const metrics: Record<string, Figure> = {
        firstResultMs: figure(first.get(c.name) as number[], 'ms', 'lower'),
      };
      const rd = ready.get(c.name);
      if (rd !== undefined) metrics.readyMs = figure(rd, 'ms', 'lower');
      const rp = replace.get(c.name);
      if (rp !== undefined) metrics.replaceMs = figure(rp, 'ms', 'lower');
      this.record('cold-start', 'cold-start', c.name, metrics);
    }
  }
}

async function closeAll(running: Iterable<Running>): Promise<void> {
  const errors: unknown[] = [];
  for (const r of running) {
    try {
      await r.close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/**
 * A few distinct random inputs of `size` bytes (at most 8, cycled by the tasks). They live in
 * SharedArrayBuffers, so every contender's workers read them without a copy by postMessage (the
 * zero-copy path wasmpool's README recommends; piscina's move() would detach reused inputs).
 */
function hashInputs(size: number, tasks: number): Uint8Array[] {
  return Array.from({ length: Math.min(8, tasks) }, () =>
    randomFillSync(new Uint8Array(new SharedArrayBuffer(size))),
  );
}

/** `bytes` of ASCII text (words of 1–9 letters, lines of about 60 characters), the same for a seed. */
export function wcText(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = (seed * 0x9e3779b1) | 1;
  let column = 0;
  for (let i = 0; i < bytes;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const word = 1 + ((x >>> 0) % 9);
    for (let k = 0; k < word && i < bytes; k++) out[i++] = 97 + ((x >>> (k * 3)) & 15);
    column += word + 1;
    if (i < bytes) out[i++] = column > 60 ? 10 : 32;
    if (column > 60) column = 0;
  }
  return out;
}

/** What `wc` prints for `bytes`: "<lines> <words> <bytes>\n" (wasi-tool.c's whitespace). */
export function wcReference(bytes: Uint8Array): string {
  let lines = 0;
  let words = 0;
  let inWord = false;
  for (const c of bytes) {
    if (c === 10) lines++;
    if (c === 32 || (c >= 9 && c <= 13)) inWord = false;
    else if (!inWord) {
      inWord = true;
      words++;
    }
  }
  return `${lines} ${words} ${bytes.length}\n`;
}

function figure(samples: number[], unit: string, better: 'higher' | 'lower'): Figure {
  return { ...summarize(samples), unit, better };
}

function computeRatios(results: CaseResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const w of results) {
    if (w.contender !== 'wasmpool') continue;
    const p = results.find((r) => r.case === w.case && r.contender === 'piscina');
    if (p === undefined) continue;
    for (const [metric, f] of Object.entries(w.metrics)) {
      const pf = p.metrics[metric];
      if (pf === undefined) continue;
      ratios.push({
        case: w.case,
        metric,
        unit: f.unit,
        better: f.better,
        wasmpool: f.median,
        piscina: pf.median,
        ratio: f.median / pf.median,
      });
    }
  }
  return ratios;
}

export function sizeLabel(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
}

/** Three significant digits with thousands separators. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}
