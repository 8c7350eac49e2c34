import type { DurationSummary, PoolStats } from '@wasmpool/pool';

function ms(value: number): string {
  return value < 1 ? `${(value * 1000).toFixed(1)} µs` : `${value.toFixed(2)} ms`;
}

function row(name: string, summary: DurationSummary): string {
  const { p50, p90, p99, max, mean } = summary;
  return `  ${name.padEnd(10)} p50 ${ms(p50).padStart(10)}  p90 ${ms(p90).padStart(10)}  p99 ${ms(p99).padStart(10)}  max ${ms(max).padStart(10)}  mean ${ms(mean).padStart(10)}`;
}

/** What the main job counted while the results streamed by. */
export interface RunCounts {
  tasks: number;
  elapsedMs: number;
  /** Successful tasks whose output was not the expected one. */
  wrong: number;
  /** Failed tasks by error code. */
  failures: ReadonlyMap<string, number>;
  stats: PoolStats;
}

/** The end-of-run report of the main job. */
export function formatSummary(run: RunCounts): string {
  const { tasks, elapsedMs, wrong, failures, stats } = run;
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  const rate = Math.round(tasks / (elapsedMs / 1000));
  const lines = [
    '',
    'Summary',
    `  tasks      ${tasks.toLocaleString('en-US')} in ${(elapsedMs / 1000).toFixed(2)} s = ${rate.toLocaleString('en-US')} tasks/s`,
    `  answers    ${tasks - wrong - failed} right, ${wrong} wrong`,
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
