import type { ReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import type { ModuleSpec, WasmResult, WasmTask } from '@wasmpool/pool';
import { CliError, EXIT, type ExitCode } from '../exit-codes';
import { decodeTask, encodeResult, TaskLineError } from '../jsonl';
import { LineWriter } from '../output';
import type { PoolFlags } from '../pool-options';
import { BatchProgress } from '../progress';
import { openSession } from '../session';
import { readModuleFile } from './inspect';

export interface BatchFlags extends PoolFlags {
  module: Record<string, string>;
  hostImports?: Record<string, string>;
  input?: string;
  output?: string;
  ordered: boolean;
  highWaterMark?: number;
  progress?: boolean;
  quiet?: boolean;
}

const MODULE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A commander parser for repeated `NAME=FILE` flags, collected into one record. */
export function nameEquals(
  flag: string,
): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (value, previous = {}) => {
    const at = value.indexOf('=');
    const name = value.slice(0, at);
    const file = value.slice(at + 1);
    if (at < 0 || !MODULE_NAME.test(name) || file.length === 0) {
      throw new InvalidArgumentError(`must be NAME=FILE, NAME made of letters, digits, _ . -`);
    }
    if (Object.hasOwn(previous, name)) throw new InvalidArgumentError(`${flag} ${name} is given twice`);
    return { ...previous, [name]: file };
  };
}

/** Opens the input (stdin for undefined or '-'), with its size when it is a regular file. */
async function openInput(
  input: string | undefined,
): Promise<{ stream: Readable; size?: number; bytesRead(): number }> {
  if (input === undefined || input === '-') return { stream: process.stdin, bytesRead: () => 0 };
  try {
    const handle = await open(input, 'r');
    const info = await stat(input);
    // The stream owns the handle (and closes it): a handle nobody holds would be closed by the GC.
    const stream: ReadStream = handle.createReadStream({ highWaterMark: 256 * 1024 });
    return { stream, ...(info.isFile() ? { size: info.size } : {}), bytesRead: () => stream.bytesRead };
  } catch (error) {
    throw new CliError(`cannot read ${input}: ${(error as Error).message}`, EXIT.io);
  }
}

async function openOutput(output: string | undefined): Promise<{ stream: Writable; isFile: boolean }> {
  if (output === undefined || output === '-') return { stream: process.stdout, isFile: false };
  try {
    const handle = await open(output, 'w');
    return { stream: handle.createWriteStream(), isFile: true };
  } catch (error) {
    throw new CliError(`cannot write ${output}: ${(error as Error).message}`, EXIT.io);
  }
}

/** The failed result of an input line that is not a task. */
function lineError(line: number, error: TaskLineError): WasmResult {
  const message = error.message;
  return {
    id: error.taskId ?? String(line),
    success: false,
    error: { code: 'INVALID_PARAMS', message: `line ${line}: ${message}` },
    executionTimeMs: 0,
  };
}

/**
 * `wasmpool batch`: one task per input line through `pool.stream()`, one result per line out. The stream
 * pulls lines only as fast as results are written, so memory stays flat whatever the input's length.
 *
 * A line that is not a task gets a failed result (INVALID_PARAMS, id = its line number) in its place in
 * the output: such results wait in `lineErrors` until the results of the tasks before them are written.
 */
export async function batchCommand(flags: BatchFlags): Promise<ExitCode> {
  const modules: Record<string, ModuleSpec> = {};
  for (const [name, file] of Object.entries(flags.module)) {
    await readModuleFile(file);
    modules[name] = { source: file };
  }
  for (const [name, file] of Object.entries(flags.hostImports ?? {})) {
    if (modules[name] === undefined) {
      throw new CliError(`--host-imports ${name}=${file}: there is no --module ${name}`, EXIT.usage);
    }
    modules[name].hostImports = file;
  }
  const input = await openInput(flags.input);
  const output = await openOutput(flags.output);
  const log = (line: string): void => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const session = await openSession(modules, flags, log);

  let outputError: Error | undefined;
  output.stream.on('error', (error: Error) => {
    // e.g. EPIPE when the reader (`| head`) is gone: stop reading tasks, report it once below
    outputError ??= error;
    session.interrupt();
  });
  const showProgress = flags.progress ?? process.stderr.isTTY === true;
  const progress = showProgress ? new BatchProgress(input.size, input.bytesRead) : undefined;
  const writer = new LineWriter(output.stream);
  const lineErrors: { tasksBefore: number; result: WasmResult }[] = [];
  let tasksRead = 0;
  let tasksDone = 0; // results of the pool written so far
  let written = 0; // all results written, line errors included
  let failed = 0;
  const failures = new Map<string, number>();
  const startedAt = performance.now();

  const write = async (result: WasmResult): Promise<void> => {
    written++;
    if (!result.success) {
      failed++;
      const code = result.error?.code ?? 'UNKNOWN';
      failures.set(code, (failures.get(code) ?? 0) + 1);
    }
    await writer.write(encodeResult(result));
  };
  /** Writes the line errors whose place in the output has come (all of them at the end). */
  const writeLineErrors = async (all: boolean): Promise<void> => {
    while (lineErrors.length > 0 && (all || !flags.ordered || lineErrors[0]!.tasksBefore <= tasksDone)) {
      await write(lineErrors.shift()!.result);
    }
  };

  async function* tasks(): AsyncGenerator<WasmTask> {
    const lines = createInterface({ input: input.stream, crlfDelay: Infinity });
    // An interruption must not wait for the next line of a quiet pipe: closing ends the loop below.
    const stop = (): void => lines.close();
    session.signal.addEventListener('abort', stop, { once: true });
    if (session.signal.aborted) stop();
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let task: WasmTask;
      try {
        task = decodeTask(line, String(lineNumber));
      } catch (error) {
        if (!(error instanceof TaskLineError)) throw error;
        lineErrors.push({ tasksBefore: tasksRead, result: lineError(lineNumber, error) });
        continue;
      }
      tasksRead++;
      yield task;
    }
  }

  let interrupted = false;
  try {
    const results = session.pool.stream(tasks(), {
      ordered: flags.ordered,
      signal: session.signal,
      ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
      ...(flags.highWaterMark === undefined ? {} : { highWaterMark: flags.highWaterMark }),
    });
    for await (const result of results) {
      if (session.signal.aborted) {
        interrupted = true;
        break;
      }
      await writeLineErrors(false);
      await write(result);
      tasksDone++;
      progress?.update(written, failed);
    }
    interrupted ||= session.signal.aborted;
    if (!interrupted) await writeLineErrors(true);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`reading the input failed: ${(error as Error).message}`, EXIT.io);
  } finally {
    progress?.stop(written, failed);
    await writer.end(output.isFile).catch(() => {});
    await session.close();
  }

  const seconds = (performance.now() - startedAt) / 1000;
  const codes = [...failures].map(([code, n]) => `${code} ${n}`).join(', ');
  log(
    `${interrupted ? 'interrupted after ' : ''}${written.toLocaleString('en-US')} results in ${seconds.toFixed(2)} s ` +
      `(${Math.round(written / Math.max(seconds, 1e-9)).toLocaleString('en-US')}/s): ${(written - failed).toLocaleString('en-US')} ok, ` +
      `${failed.toLocaleString('en-US')} failed${codes === '' ? '' : ` (${codes})`}`,
  );
  if (outputError !== undefined) {
    throw new CliError(`cannot write the results: ${outputError.message}`, EXIT.io);
  }
  if (interrupted) return EXIT.interrupted;
  return failed > 0 ? EXIT.taskFailed : EXIT.ok;
}
