import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from '../exit-codes';
import { readWasmFacts, type Descriptor, type Limits, type WasmFacts } from '../wasm-facts';

export interface InspectReport extends WasmFacts {
  file: string;
  size: number;
  sha256: string;
}

/** Reads and validates a module file; unreadable or invalid files are {@link EXIT.badModule}. */
export async function readModuleFile(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.badModule);
  }
  try {
    await WebAssembly.compile(bytes);
  } catch (error) {
    throw new CliError(
      `${file} is not a valid WebAssembly module: ${(error as Error).message}`,
      EXIT.badModule,
    );
  }
  return bytes;
}

export async function inspectFile(file: string): Promise<InspectReport> {
  const bytes = await readModuleFile(file);
  let facts: WasmFacts;
  try {
    facts = readWasmFacts(bytes);
  } catch (error) {
    throw new CliError(`cannot read the sections of ${file}: ${(error as Error).message}`, EXIT.badModule);
  }
  return {
    file,
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ...facts,
  };
}

function limitsText(limits: Limits, unit: string): string {
  const max = limits.maximum === undefined ? 'no maximum' : `maximum ${limits.maximum}`;
  return `${limits.initial} ${unit}${limits.initial === 1 ? '' : 's'}, ${max}`;
}

function describe(d: Descriptor): string {
  switch (d.kind) {
    case 'function':
      return `function (${d.params.join(', ')}) -> ${d.results.length === 0 ? '()' : d.results.join(', ')}`;
    case 'memory':
      return `memory ${limitsText(d.limits, 'page')}${d.shared ? ', shared' : ''}`;
    case 'table':
      return `table of ${d.element}, ${limitsText(d.limits, 'element')}`;
    case 'global':
      return `global ${d.mutable ? 'mut ' : ''}${d.type}`;
    default:
      return 'tag';
  }
}

/** The human-readable form of a report. */
export function formatInspect(report: InspectReport): string {
  const lines = [`${report.file}: ${report.size} bytes, sha256 ${report.sha256}`, '', 'imports:'];
  const width = Math.max(0, ...report.imports.map((i) => i.module.length + i.name.length + 1));
  for (const i of report.imports) lines.push(`  ${`${i.module}.${i.name}`.padEnd(width)}  ${describe(i)}`);
  if (report.imports.length === 0) lines.push('  (none)');
  lines.push('', 'exports:');
  const exportWidth = Math.max(0, ...report.exports.map((e) => e.name.length));
  for (const e of report.exports) lines.push(`  ${e.name.padEnd(exportWidth)}  ${describe(e)}`);
  if (report.exports.length === 0) lines.push('  (none)');
  lines.push('', 'memories defined:');
  for (const m of report.memories) lines.push(`  ${describe({ kind: 'memory', ...m })}`);
  if (report.memories.length === 0) lines.push('  (none)');
  lines.push('', 'tables defined:');
  for (const t of report.tables) lines.push(`  ${describe({ kind: 'table', ...t })}`);
  if (report.tables.length === 0) lines.push('  (none)');
  lines.push('', `start function: ${report.start === undefined ? 'none' : `function ${report.start}`}`);
  return lines.join('\n');
}
