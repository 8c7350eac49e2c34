import type { DurationSummary, PoolStats, WasmResult } from '@wasmpool/pool';

function ms(value: number): string {
  return value < 1 ? `${(value * 1000).toFixed(1)} µs` : `${value.toFixed(2)} ms`;
}

function row(name: string, summary: DurationSummary): string {
  const { p50, p90, p99, max, mean } = summary;
  return `  ${name.padEnd(10)} p50 ${ms(p50).padStart(10)}  p90 ${ms(p90).padStart(10)}  p99 ${ms(p99).padStart(10)}  max ${ms(max).padStart(10)}  mean ${ms(mean).padStart(10)}`;
}

/** The end-of-run report of the main job. */
export function formatSummary(run: {
  results: WasmResult[];
  elapsedMs: number;
  wrong: number;
  stats: PoolStats;
}): string {
  const { results, elapsedMs, wrong, stats } = run;
  const failures = new Map<string, number>();
  for (const result of results) {
    if (!result.success) failures.set(result.error!.code, (failures.get(result.error!.code) ?? 0) + 1);
  }
  const rate = Math.round(results.length / (elapsedMs / 1000));
  const lines = [
    '',
    'Summary',
    `  tasks      ${results.length.toLocaleString('en-US')} in ${(elapsedMs / 1000).toFixed(2)} s = ${rate.toLocaleString('en-US')} tasks/s`,
    `  answers    ${results.length - wrong - [...failures.values()].reduce((a, b) => a + b, 0)} right, ${wrong} wrong`,
    `  failures   ${failures.size === 0 ? 'none' : [...failures].map(([code, n]) => `${code}: ${n}`).join(', ')}`,
    row('run time', stats.runTimeMs),
    row('wait time', stats.waitTimeMs),
    '',
    'pool.stats()',
    JSON.stringify(stats, null, 2)
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  ];
  return lines.join('\n');
}
