import { basename } from 'node:path';
import type { OutputType, TaskParam } from '@wasmpool/pool';
import { CliError, EXIT, type ExitCode } from '../exit-codes';
import { decodeParam, encodeResult, encodeValue, TaskLineError } from '../jsonl';
import type { PoolFlags } from '../pool-options';
import { openSession } from '../session';
import { readModuleFile } from './inspect';

export interface RunFlags extends PoolFlags {
  outputType?: OutputType;
  json?: boolean;
  hostImports?: string;
}

/**
 * One command-line param: a number (`3`, `-1.5`, `NaN`), a bigint (`123n`, or an integer too big for a
 * double), or a JSON Lines value: `'"text"'`, `'{"bigint":"1"}'`, `'{"base64":"YWJj"}'`.
 */
export function parseParam(text: string, position: number): TaskParam {
  const where = `param ${position} (${JSON.stringify(text)})`;
  if (text.startsWith('{') || text.startsWith('"')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CliError(`${where} is not JSON: ${(error as Error).message}`, EXIT.usage);
    }
    try {
      return decodeParam(value, where);
    } catch (error) {
      if (error instanceof TaskLineError) throw new CliError(error.message, EXIT.usage);
      throw error;
    }
  }
  if (/^-?\d+n$/.test(text)) return BigInt(text.slice(0, -1));
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) return BigInt(text);
  const n = Number(text);
  if (text.trim() !== '' && (Number.isFinite(n) || /^[+-]?(Infinity|NaN)$/.test(text))) return n;
  throw new CliError(
    `${where} is not a number; write a string as '"${text}"' and bytes as '{"base64":"..."}'`,
    EXIT.usage,
  );
}

/** Codes that mean the command line itself was wrong: nothing ran. */
const USAGE_CODES = new Set(['FUNCTION_NOT_FOUND', 'INVALID_PARAMS']);

/** `wasmpool run FILE FUNCTION [PARAMS...]`: prints the output; a failed task is one line on stderr. */
export async function runCommand(
  file: string,
  fn: string,
  rawParams: string[],
  flags: RunFlags,
): Promise<ExitCode> {
  const params = rawParams.map((text, i) => parseParam(text, i + 1));
  await readModuleFile(file);
  const name = basename(file).replace(/\.wasm$/i, '') || 'module';
  const session = await openSession(
    {
      [name]: {
        source: file,
        ...(flags.hostImports === undefined ? {} : { hostImports: flags.hostImports }),
      },
    },
    // One task needs one worker: start one unless told otherwise (by a flag or WASM_INITIAL_WORKERS).
    flags.workers === undefined &&
      flags.minWorkers === undefined &&
      process.env.WASM_INITIAL_WORKERS === undefined
      ? { ...flags, minWorkers: 1 }
      : flags,
    (line) => process.stderr.write(`${line}\n`),
  );
  try {
    const [result] = await session.pool.runBatch(
      [
        {
          module: name,
          function: fn,
          params,
          ...(flags.outputType === undefined ? {} : { output: flags.outputType }),
        },
      ],
      { signal: session.signal },
    );
    if (result === undefined) throw new Error('runBatch() gave no result');
    if (flags.json) process.stdout.write(`${encodeResult(result)}\n`);
    if (!result.success) {
      const error = result.error!;
      if (session.signal.aborted) return EXIT.interrupted;
      if (USAGE_CODES.has(error.code)) throw new CliError(error.message, EXIT.usage);
      if (!flags.json) process.stderr.write(`${error.code}: ${error.message}\n`);
      return EXIT.taskFailed;
    }
    if (!flags.json) {
      const output = result.output;
      if (typeof output === 'string') process.stdout.write(`${output}\n`);
      else if (typeof output === 'number' || typeof output === 'bigint') process.stdout.write(`${output}\n`);
      else if (output !== undefined) process.stdout.write(`${encodeValue(output)}\n`);
    }
    return EXIT.ok;
  } finally {
    await session.close();
  }
}
