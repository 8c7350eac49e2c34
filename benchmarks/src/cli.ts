#!/usr/bin/env node
/**
 * npm run bench [-- --quick] [--workers N] [--workloads a,b] [--contenders a,b] [--reps N] [--json path]
 * Prints the results table, writes the JSON report, the throughput SVG and a Markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CorrectnessError, runBenchmarks } from './harness';
import { writeJson } from './json';
import {
  CONTENDERS,
  TINY_SIZES,
  WORKLOADS,
  type BenchOptions,
  type ContenderName,
  type WorkloadName,
} from './options';
import { README, RESULTS_DIR } from './paths';
import { markdownSummary, updateReadme } from './readme';
import { writeSvg } from './svg';
import { textTable, textTargets } from './table';

/** Wraps a help text at 96 columns under the descriptions' column (24). */
function wrapList(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && 24 + line.length + 1 + word.length > 96) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(24)}`);
}

const USAGE = `usage: npm run bench -- [options]

  --quick               smaller sizes and fewer repetitions (well under two minutes)
  --tiny                the smallest sizes: checks that everything runs, measures nothing useful
  --workers N           worker threads per pool (default 2)
  --nice N              niceIncrement of wasmpool's and piscina's workers, 0-19 (default 0: not
                        set; tinypool has no such option)
  --workloads a,b       ${wrapList(`any of ${WORKLOADS.join(', ')} (default all)`)}
  --contenders a,b      any of ${CONTENDERS.join(', ')} (default all)
  --reps N              measured repetitions (default 5, --quick 3)
  --no-warmup           skip the warm-up pass
  --json path           JSON report (default benchmarks/results/latest.json, git-ignored)
  --svg path            throughput chart (default benchmarks/results/throughput.svg, git-ignored)
  --markdown path       Markdown tables (default benchmarks/results/latest.md, git-ignored)
  --update-readme       also rewrite the results section of benchmarks/README.md and its copies
                        of the figures (benchmarks/results/readme.*, tracked)
  --tamper w[:c]        expect a wrong answer in workload w (for contender c): the run must fail
                        with exit code 1 (tests the correctness check)
  -h, --help            this text`;

class UsageError extends Error {}

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  what: string,
): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new UsageError(`unknown ${what} "${item}"; choose from ${allowed.join(', ')}`);
  }
  if (items.length === 0) throw new UsageError(`--${what}s needs at least one name`);
  return items as T[];
}

/** An integer option: positive, or within `range` [min, max] when given. */
function int(value: string | undefined, what: string, range?: [number, number]): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const [min, max] = range ?? [1, Number.MAX_SAFE_INTEGER];
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const allowed = range === undefined ? 'a positive integer' : `an integer from ${min} to ${max}`;
    throw new UsageError(`--${what} must be ${allowed}, got "${value}"`);
  }
  return n;
}

export interface CliArgs {
  options: Partial<BenchOptions>;
  json: string;
  svg: string;
  markdown: string;
  updateReadme: boolean;
  help: boolean;
}

export function parseCli(argv: string[]): CliArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      tamper: { type: 'string' },
      workers: { type: 'string' },
      nice: { type: 'string' },
      workloads: { type: 'string' },
      contenders: { type: 'string' },
      reps: { type: 'string' },
      'no-warmup': { type: 'boolean', default: false },
      json: { type: 'string' },
      svg: { type: 'string' },
      markdown: { type: 'string' },
      'update-readme': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const options: Partial<BenchOptions> = { quick: values.quick, warmup: !values['no-warmup'] };
  if (values.tiny) options.sizes = TINY_SIZES;
  if (values.tamper !== undefined) {
    const [w, c] = values.tamper.split(':');
    const [workload] = list<WorkloadName>(w, WORKLOADS, 'workload') ?? [];
    const [contender] = c === undefined ? [] : (list<ContenderName>(c, CONTENDERS, 'contender') ?? []);
    options.tamper = { workload, contender };
  }
  const workers = int(values.workers, 'workers');
  if (workers !== undefined) options.workers = workers;
  const nice = int(values.nice, 'nice', [0, 19]);
  if (nice !== undefined) options.nice = nice;
  const reps = int(values.reps, 'reps');
  if (reps !== undefined) options.reps = reps;
  const workloads = list<WorkloadName>(values.workloads, WORKLOADS, 'workload');
  if (workloads !== undefined) options.workloads = workloads;
  const contenders = list<ContenderName>(values.contenders, CONTENDERS, 'contender');
  if (contenders !== undefined) options.contenders = contenders;
  return {
    options,
    json: path.resolve(values.json ?? path.join(RESULTS_DIR, 'latest.json')),
    svg: path.resolve(values.svg ?? path.join(RESULTS_DIR, 'throughput.svg')),
    markdown: path.resolve(values.markdown ?? path.join(RESULTS_DIR, 'latest.md')),
    updateReadme: values['update-readme'],
    help: values.help,
  };
}

export async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [load1] = loadavg();
  const cores = availableParallelism();
  if (load1 > cores / 2) {
    process.stderr.write(
      `warning: the load average is ${load1.toFixed(2)} on ${cores} cores: other processes are running, ` +
        'so the figures will be low and noisy\n',
    );
  }
  try {
    const report = await runBenchmarks({ ...args.options, log: (line) => process.stderr.write(`${line}\n`) });
    const m = report.machine;
    process.stdout.write(
      `\nwasmpool benchmarks — ${report.options.kind} run, ${report.options.workers} workers, ${report.options.reps} reps` +
        `\n${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, ${report.date}` +
        (report.calibration
          ? `\ncpu task: spin(${report.calibration.spinIterations}) = ${report.calibration.spinMs.toFixed(3)} ms on the main thread`
          : '') +
        `\nmedian ±half the min–max range of the repetitions\n\n${textTable(report)}\n\n${textTargets(report)}\n\n`,
    );
    writeJson(report, args.json);
    writeSvg(report, args.svg);
    mkdirSync(path.dirname(args.markdown), { recursive: true });
    writeFileSync(
      args.markdown,
      `${markdownSummary(report, {
        json: path.relative(path.dirname(args.markdown), args.json),
        svg: path.relative(path.dirname(args.markdown), args.svg),
      })}\n`,
    );
    if (args.updateReadme) {
      // The README shows its own copies, which only --update-readme replaces.
      writeJson(report, path.join(RESULTS_DIR, 'readme.json'));
      writeSvg(report, path.join(RESULTS_DIR, 'readme-throughput.svg'));
      updateReadme(README, report);
      process.stdout.write(`updated the results section of ${path.relative(process.cwd(), README)}\n`);
    }
    process.stdout.write(
      `wrote ${path.relative(process.cwd(), args.json)}, ${path.relative(process.cwd(), args.svg)}, ${path.relative(process.cwd(), args.markdown)} in ${(report.durationMs / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof CorrectnessError) {
      process.stderr.write(`\nWRONG ANSWER — the run failed: ${error.message}\n`);
    } else {
      process.stderr.write(`\nbenchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A pool that failed to let go of its threads must not keep the process alive.
      setTimeout(() => process.exit(code), 10_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}
