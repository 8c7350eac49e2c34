/**
 * The results section of benchmarks/README.md, generated from a report and written between the markers
 * `<!-- results:start -->` and `<!-- results:end -->` by `npm run bench -- --update-readme`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fmt, sizeLabel, type BenchReport } from './harness';
import { CONTENDERS } from './options';
import { markdownTable, markdownTargets } from './table';

export const README_START = '<!-- results:start -->';
export const README_END = '<!-- results:end -->';

const PRIMARY: { case: string; metric: string; label: string }[] = [
  { case: 'tiny-run', metric: 'throughput', label: 'tiny-run tasks/s' },
  { case: 'tiny-batch', metric: 'throughput', label: 'tiny-batch tasks/s' },
  { case: 'cpu', metric: 'throughput', label: 'cpu tasks/s' },
  { case: 'bytes-4KiB', metric: 'throughput', label: 'bytes 4 KiB MB/s' },
  { case: 'bytes-64KiB', metric: 'throughput', label: 'bytes 64 KiB MB/s' },
  { case: 'bytes-1MiB', metric: 'throughput', label: 'bytes 1 MiB MB/s' },
  { case: 'columns', metric: 'throughput', label: 'columns rows/s' },
  { case: 'wasi', metric: 'throughput', label: 'wasi commands/s' },
  { case: 'latency', metric: 'p50', label: 'latency p50 µs' },
  { case: 'latency', metric: 'p99', label: 'latency p99 µs' },
  { case: 'cold-start', metric: 'firstResultMs', label: 'cold start → 1st result ms' },
  { case: 'cold-start', metric: 'replaceMs', label: 'replace a killed worker ms' },
];

export function markdownRatios(report: BenchReport): string {
  const rows = PRIMARY.flatMap((p) => {
    const r = report.ratios.find((x) => x.case === p.case && x.metric === p.metric);
    if (r === undefined) return [];
    const better = r.better === 'higher' ? r.ratio >= 1 : r.ratio <= 1;
    return [
      `| ${p.label} | ${fmt(r.wasmpool)} | ${fmt(r.piscina)} | **${r.ratio.toFixed(2)}×** | ${r.better} is better: ${better ? 'wasmpool' : 'piscina'} |`,
    ];
  });
  if (rows.length === 0) return '_No ratio: the run did not include both wasmpool and piscina._';
  return [
    '| figure | wasmpool | piscina | wasmpool ÷ piscina | ahead |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

export function markdownSpeedups(report: BenchReport): string {
  const cores = report.machine.availableParallelism;
  const rows: string[] = [];
  for (const c of CONTENDERS) {
    const cpu = report.results.find((r) => r.case === 'cpu' && r.contender === c)?.metrics;
    if (cpu?.speedup === undefined) continue;
    const b64 = report.results.find((r) => r.case === 'bytes-64KiB' && r.contender === c)?.metrics.speedup;
    rows.push(
      `| ${c} | ${cpu.speedup.median.toFixed(2)}× | ${(cpu.speedup.median / cores).toFixed(2)} | ${b64 === undefined ? '—' : `${b64.median.toFixed(2)}×`} |`,
    );
  }
  if (rows.length === 0)
    return '_No speed-up: the run did not include the cpu workload with the single thread._';
  return [
    `| contender | cpu speed-up over one thread | ÷ ${cores} cores | bytes 64 KiB speed-up |`,
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** Where the summary links to the report's JSON and chart, relative to the Markdown file. */
export interface SummaryLinks {
  json: string;
  svg: string;
}

/** The files `--update-readme` writes for the README (benchmarks/results/readme.*), so later runs of other kinds do not change what it shows. */
export const README_LINKS: SummaryLinks = {
  json: 'results/readme.json',
  svg: 'results/readme-throughput.svg',
};

export function markdownSummary(report: BenchReport, links: SummaryLinks = README_LINKS): string {
  const m = report.machine;
  const o = report.options;
  const sizes = o.sizes;
  const lines = [
    `Measured ${report.date.slice(0, 10)} on ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ` +
      `Node ${m.node} (${m.platform}/${m.arch}): ${o.kind} run, ${o.workers} workers per pool, ${o.reps} repetitions, ` +
      `${(report.durationMs / 1000).toFixed(0)} s in all. Sizes: tiny-run ${sizes.tinyRunTasks.toLocaleString('en-US')} tasks, ` +
      `tiny-batch ${sizes.tinyBatchTasks.toLocaleString('en-US')}, cpu ${sizes.cpuTasks.toLocaleString('en-US')}` +
      (report.calibration
        ? ` × spin(${report.calibration.spinIterations}) = ${report.calibration.spinMs.toFixed(3)} ms each on the main thread`
        : '') +
      `, bytes ${sizes.bytes.map((b) => `${b.tasks} × ${sizeLabel(b.size)}`).join(', ')}, ` +
      `columns ${sizes.columnsRows.toLocaleString('en-US')} rows, wasi ${sizes.wasi.tasks.toLocaleString('en-US')} commands, ` +
      `latency ${sizes.latencyTasks.toLocaleString('en-US')} round trips. ` +
      `Load average (1 min) ${report.load.start[0].toFixed(2)} at the start, ${report.load.end[0].toFixed(2)} at the end.`,
    '',
    'Each cell: median of the repetitions ±half their min–max range (in % of the median). Every figure, with',
    `all samples and quartiles, is in [\`${links.json}\`](${links.json}).`,
    '',
    markdownTable(report),
    '',
    `![Throughput per workload and contender](${links.svg})`,
    '',
    '### Ratios that matter',
    '',
    markdownRatios(report),
    '',
    markdownSpeedups(report),
    '',
    '### Targets (issues 6 and 14)',
    '',
    markdownTargets(report),
  ];
  return lines.join('\n');
}

/** Replaces the text between the markers of `file` with the summary of `report`. */
export function updateReadme(file: string, report: BenchReport): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`${file} has no ${README_START} … ${README_END} section`);
  const next = `${text.slice(0, start + README_START.length)}\n\n${markdownSummary(report)}\n\n${text.slice(end)}`;
  writeFileSync(file, next);
}
