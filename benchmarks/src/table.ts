/** The results as a table: plain text for stdout, Markdown for the README. */
import { fmt, type BenchReport, type Figure } from './harness';
import { CONTENDERS, type ContenderName } from './options';

const METRIC_LABELS: Record<string, (f: Figure) => string> = {
  throughput: (f) => f.unit,
  speedup: () => '× one thread',
  speedupPerCore: () => '× one thread ÷ cores',
  p50: () => 'p50 µs',
  p99: () => 'p99 µs',
  p999: () => 'p99.9 µs',
  firstResultMs: () => 'create → 1st result ms',
  readyMs: () => 'create() resolved ms',
  replaceMs: () => 'replace killed worker ms',
  mainNsPerTask: () => 'main thread ns/task',
  workerNsPerTask: () => 'other threads ns/task',
  overheadNsPerTask: () => 'bound − unbound, main ns/task',
  costPct: () => '% slower than off (paired)',
};
const METRIC_ORDER = Object.keys(METRIC_LABELS);

export interface TableRow {
  case: string;
  metric: string;
  label: string;
  cells: Partial<Record<ContenderName, Figure>>;
  /** wasmpool ÷ piscina of the medians. */
  ratio?: number;
}

export function tableRows(report: BenchReport): TableRow[] {
  const rows: TableRow[] = [];
  const cases = [...new Set(report.results.map((r) => r.case))];
  for (const c of cases) {
    const results = report.results.filter((r) => r.case === c);
    const metrics = METRIC_ORDER.filter((m) => results.some((r) => r.metrics[m] !== undefined));
    for (const m of metrics) {
      const cells: Partial<Record<ContenderName, Figure>> = {};
      let label = m;
      for (const r of results) {
        const f = r.metrics[m];
        if (f === undefined) continue;
        cells[r.contender] = f;
        label = (METRIC_LABELS[m] ?? (() => m))(f);
      }
      const ratio = report.ratios.find((x) => x.case === c && x.metric === m)?.ratio;
      rows.push({ case: c, metric: m, label, cells, ratio });
    }
  }
  return rows;
}

/** Median and the spread of the repetitions as ± half the min–max range, in % of the median. */
export function cell(f: Figure | undefined): string {
  if (f === undefined) return '—';
  const spread = f.median === 0 ? 0 : ((f.max - f.min) / 2 / Math.abs(f.median)) * 100;
  return `${fmt(f.median)} ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`;
}

function ratioCell(r: number | undefined): string {
  return r === undefined ? '—' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

function contendersOf(report: BenchReport): ContenderName[] {
  return CONTENDERS.filter((c) => report.options.contenders.includes(c));
}

/** The header and the cells of the results table, shared by its text and Markdown forms. */
function tableCells(report: BenchReport): { head: string[]; body: string[][] } {
  const contenders = contendersOf(report);
  const head = ['case', 'metric', ...contenders, 'wasmpool ÷ piscina'];
  const body = tableRows(report).map((r) => [
    r.case,
    r.label,
    ...contenders.map((c) => cell(r.cells[c])),
    ratioCell(r.ratio),
  ]);
  return { head, body };
}

export function textTable(report: BenchReport): string {
  const { head, body } = tableCells(report);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cols: string[]): string =>
    cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(report: BenchReport): string {
  const { head, body: rows } = tableCells(report);
  const align = head.map((_, i) => (i < 2 ? '---' : '---:'));
  return [head, align, ...rows].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}

/** The heading of the targets on stdout (the README's says the same). */
export const TARGETS_HEADING = 'targets (issues 6 and 14)';

export function markdownTargets(report: BenchReport): string {
  const head = ['workload', 'issue', 'target', 'measured (medians, same run)', 'met'];
  const rows = report.targets.map((t) => [
    t.case,
    String(t.issue),
    t.target,
    t.measured,
    t.met === null ? 'not measured' : t.met ? 'yes' : 'no',
  ]);
  return [head, head.map(() => '---'), ...rows].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}

export function textTargets(report: BenchReport): string {
  return [
    `${TARGETS_HEADING}:`,
    ...report.targets.map(
      (t) =>
        `${t.met === null ? '[ n/a ]' : t.met ? '[ met ]' : '[ NOT ]'} ${t.case} (issue ${t.issue}): ${t.target} — ${t.measured}`,
    ),
  ].join('\n');
}
