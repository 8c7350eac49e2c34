/**
 * A hand-written SVG grouped bar chart of throughput per workload (group) and contender (bar): the median,
 * with a whisker from the slowest to the fastest repetition. The y axis is logarithmic when the figures
 * span more than two orders of magnitude (tiny tasks/s and MB/s in one chart), linear otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchReport, Figure } from './harness';
import { CONTENDERS, type ContenderName } from './options';

export const COLORS: Record<ContenderName, string> = {
  wasmpool: '#2563eb',
  piscina: '#f59e0b',
  tinypool: '#10b981',
  single: '#6b7280',
};

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Compact value label: 1.23M, 45.6k, 789. */
export function si(v: number): string {
  const abs = Math.abs(v);
  const f = (x: number, s: string): string =>
    `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}${s}`;
  if (abs >= 1e9) return f(v / 1e9, 'G');
  if (abs >= 1e6) return f(v / 1e6, 'M');
  if (abs >= 1e3) return f(v / 1e3, 'k');
  return f(v, '');
}

/** Axis label of a tick: 10, 100, 1k, 10k, 1M ... without trailing zeros. */
function tickLabel(v: number): string {
  const abs = Math.abs(v);
  const t = (x: number, s: string): string => `${Number(x.toPrecision(3))}${s}`;
  if (abs >= 1e9) return t(v / 1e9, 'G');
  if (abs >= 1e6) return t(v / 1e6, 'M');
  if (abs >= 1e3) return t(v / 1e3, 'k');
  return t(v, '');
}

interface Group {
  name: string;
  unit: string;
  bars: { contender: ContenderName; figure: Figure }[];
}

export function throughputSvg(report: BenchReport): string {
  const contenders = CONTENDERS.filter((c) => report.options.contenders.includes(c));
  const groups: Group[] = [];
  for (const r of report.results) {
    const f = r.metrics.throughput;
    if (f === undefined) continue;
    let g = groups.find((x) => x.name === r.case);
    if (g === undefined) {
      g = { name: r.case, unit: f.unit, bars: [] };
      groups.push(g);
    }
    g.bars.push({ contender: r.contender, figure: f });
  }
  for (const g of groups)
    g.bars.sort((a, b) => contenders.indexOf(a.contender) - contenders.indexOf(b.contender));

  const barW = 24;
  const groupGap = 34;
  const left = 78;
  const right = 20;
  const top = 74;
  const plotH = 300;
  const bottom = 62;
  const slots = Math.max(1, contenders.length);
  const groupW = slots * barW + groupGap;
  const width = Math.max(760, left + right + Math.max(1, groups.length) * groupW);
  const height = top + plotH + bottom;

  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.figure.min, b.figure.max, b.figure.median]));
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  const lo = positive.length > 0 ? Math.min(...positive) : 1;
  const hi = positive.length > 0 ? Math.max(...positive) : 10;
  const log = hi / lo > 100;

  // Leave room above the tallest whisker for its rotated value label.
  const labelRoom = 36;
  let y: (v: number) => number;
  let ticks: number[];
  if (log) {
    const e0 = Math.floor(Math.log10(lo));
    const eHi = Math.log10(hi);
    const eTop = eHi + (labelRoom * (eHi - e0)) / (plotH - labelRoom);
    ticks = [];
    for (let e = e0; e <= Math.floor(eTop); e++) ticks.push(10 ** e);
    y = (v) => top + plotH - ((Math.log10(Math.max(v, 10 ** e0)) - e0) / (eTop - e0)) * plotH;
  } else {
    const maxV = (hi * plotH) / (plotH - labelRoom);
    const step = niceStep(maxV / 5);
    ticks = [];
    for (let t = 0; t <= maxV; t += step) ticks.push(t);
    y = (v) => top + plotH - (v / maxV) * plotH;
  }

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  const m = report.machine;
  out.push(
    `<text x="${left}" y="24" font-size="16" font-weight="600" fill="#111827">Throughput per workload — ${report.options.workers} workers${report.options.kind === 'full' ? '' : ` (${report.options.kind} run)`}</text>`,
  );
  out.push(
    `<text x="${left}" y="44" font-size="11" fill="#4b5563">${esc(`${m.cpuModel}, ${m.cores} cores, Node ${m.node}; median of ${report.options.reps} reps, whiskers min–max; ${log ? 'log' : 'linear'} scale; higher is better`)}</text>`,
  );

  // Legend.
  let lx = left;
  for (const c of contenders) {
    out.push(`<rect x="${lx}" y="54" width="12" height="12" fill="${COLORS[c]}"/>`);
    out.push(`<text x="${lx + 16}" y="64" font-size="12" fill="#111827">${c}</text>`);
    lx += 34 + c.length * 8;
  }

  // Axis and grid.
  for (const t of ticks) {
    const ty = y(t).toFixed(1);
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}" stroke="#e5e7eb" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${left - 6}" y="${ty}" font-size="11" fill="#4b5563" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`,
    );
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#9ca3af"/>`);
  out.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#9ca3af"/>`,
  );
  out.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" font-size="11" fill="#4b5563" text-anchor="middle">tasks/s or MB/s${log ? ' (log)' : ''}</text>`,
  );

  groups.forEach((g, gi) => {
    const gx = left + groupGap / 2 + gi * groupW;
    for (const b of g.bars) {
      const x = gx + contenders.indexOf(b.contender) * barW;
      const yTop = y(b.figure.median);
      const base = top + plotH;
      const h = Math.max(0, base - yTop);
      const cx = x + barW / 2 - 1;
      out.push(
        `<rect x="${x}" y="${yTop.toFixed(1)}" width="${barW - 2}" height="${h.toFixed(1)}" fill="${COLORS[b.contender]}"><title>${esc(`${g.name} ${b.contender}: ${si(b.figure.median)} ${g.unit} (min ${si(b.figure.min)}, max ${si(b.figure.max)})`)}</title></rect>`,
      );
      const wTop = y(b.figure.max);
      const wBot = y(b.figure.min);
      out.push(
        `<line x1="${cx}" x2="${cx}" y1="${wTop.toFixed(1)}" y2="${wBot.toFixed(1)}" stroke="#111827" stroke-width="1"/>`,
      );
      out.push(
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${wTop.toFixed(1)}" y2="${wTop.toFixed(1)}" stroke="#111827"/>`,
      );
      out.push(
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${wBot.toFixed(1)}" y2="${wBot.toFixed(1)}" stroke="#111827"/>`,
      );
      const ly = Math.min(yTop, wTop) - 4;
      out.push(
        `<text transform="translate(${cx + 3.5} ${ly.toFixed(1)}) rotate(-90)" font-size="10" fill="#111827">${si(b.figure.median)}</text>`,
      );
    }
    const mid = gx + (slots * barW) / 2;
    out.push(
      `<text x="${mid}" y="${top + plotH + 18}" font-size="12" fill="#111827" text-anchor="middle">${esc(g.name)}</text>`,
    );
    out.push(
      `<text x="${mid}" y="${top + plotH + 33}" font-size="11" fill="#6b7280" text-anchor="middle">${esc(g.unit)}</text>`,
    );
  });
  out.push(
    `<text x="${left}" y="${height - 10}" font-size="10" fill="#6b7280">${esc(`generated ${report.date} by benchmarks/src/cli.ts`)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(raw));
  const f = raw / e;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

export function writeSvg(report: BenchReport, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, throughputSvg(report));
}
