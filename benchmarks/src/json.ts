/** Writes the report as JSON (every figure, the machine and the options). */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchReport } from './harness';

export function reportJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function writeJson(report: BenchReport, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, reportJson(report));
}
