/**
 * The `wasmpool` command line: commander parses it, each command lives in ./commands. Every failure ends
 * as one line on stderr and a documented exit code (./exit-codes), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { OutputType } from '@wasmpool/pool';
import { batchCommand, nameEquals, type BatchFlags } from './commands/batch';
import { formatInspect, inspectFile } from './commands/inspect';
import { runCommand, type RunFlags } from './commands/run';
import { CliError, EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes';
import { addPoolOptions, integer } from './pool-options';

const ENVIRONMENT_HELP = `Environment (flags take precedence):
  WASM_INITIAL_WORKERS, WASM_MAX_WORKERS, WASM_IDLE_TIMEOUT_SECS, WASM_MAX_QUEUE,
  WASM_TASK_TIMEOUT_MS, WASM_MAX_MEMORY_MB, WASM_ENABLE_JIT (true/false)`;

const JSONL_HELP = `JSON Lines: one task per input line, one result per output line (in input order
unless --unordered). A bigint is written {"bigint":"123"} and bytes {"base64":"..."}, in params
and outputs. A task without an id gets its line number; a line that is not a task gets a failed
result (INVALID_PARAMS) with that id.

  task:   {"id":"a","module":"math","function":"add64","params":[{"bigint":"1"},2]}
  result: {"id":"a","success":true,"output":{"bigint":"3"},"executionTimeMs":0.002}`;

const OUTPUT_TYPES: readonly OutputType[] = ['number', 'bigint', 'bytes', 'string', 'json', 'void'];

/** Builds the program; `exit` receives the command's exit code. */
export function buildProgram(exit: (code: ExitCode) => void): Command {
  const program = new Command('wasmpool')
    .description('Run WebAssembly functions on a pool of Node.js worker threads.')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`);

  program
    .command('inspect')
    .description("show a module's imports, exports with their signatures, and memory and table limits")
    .argument('<file>', 'a .wasm file')
    .option('--json', 'print the facts as one JSON object')
    .addHelpText('after', '\nExample:\n  wasmpool inspect examples/modules/build/math.wasm')
    .action(async (file: string, flags: { json?: boolean }) => {
      const report = await inspectFile(file);
      process.stdout.write(`${flags.json ? JSON.stringify(report) : formatInspect(report)}\n`);
      exit(EXIT.ok);
    });

  const run = program
    .command('run')
    .description('call one exported function and print its output')
    .argument('<file>', 'a .wasm file')
    .argument('<function>', 'name of an exported function')
    .argument(
      '[params...]',
      'numbers (3, -1.5, 123n for a bigint), or JSON: \'"text"\', \'{"bigint":"1"}\', \'{"base64":"YWJj"}\'',
    )
    .addOption(new Option('--output-type <type>', 'how to read the return value').choices(OUTPUT_TYPES))
    .option('--json', 'print the whole result as a JSON line (also when the task fails)')
    .option(
      '--host-imports <file>',
      'JS module (path or file: URL) giving the host functions the module imports',
    );
  addPoolOptions(run)
    .addHelpText(
      'after',
      `
Output: a number, bigint or string as text; bytes and JSON in their JSON Lines form; nothing for void.
A failed task prints CODE: message on stderr and exits 1; an unknown function or params that do
not fit the signature exit 2.

Examples:
  wasmpool run examples/modules/build/math.wasm add 1 2
  wasmpool run examples/modules/build/math.wasm add64 9007199254740993n 1
  wasmpool run examples/modules/build/sha256.wasm sha256_hex '"abc"' --output-type string`,
    )
    .action(async (file: string, fn: string, params: string[], flags: RunFlags) => {
      exit(await runCommand(file, fn, params, flags));
    });

  const batch = program
    .command('batch')
    .description('run JSON Lines tasks from a file or stdin, writing one result line per task')
    .requiredOption(
      '-m, --module <name=file>',
      'a module the tasks may call (repeat for more)',
      nameEquals('--module'),
    )
    .option(
      '--host-imports <name=file>',
      'host functions of module NAME (repeatable)',
      nameEquals('--host-imports'),
    )
    .option('-i, --input <file>', 'tasks, one JSON object per line (default: stdin)')
    .option('-o, --output <file>', 'results, one JSON object per line (default: stdout)')
    .option('--unordered', 'write results as they finish instead of in input order')
    .addOption(
      new Option('--high-water-mark <n>', 'most tasks held at once by the stream').argParser(
        integer(1, 2 ** 24),
      ),
    )
    .option('--progress', 'show a progress bar on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .option('-q, --quiet', 'no summary line (and no metrics URL) on stderr');
  addPoolOptions(batch)
    .addHelpText(
      'after',
      `
${JSONL_HELP}

Examples:
  wasmpool batch --module math=examples/modules/build/math.wasm < tasks.jsonl > results.jsonl
  wasmpool batch -m math=math.wasm -m sha=sha256.wasm -i tasks.jsonl -o results.jsonl --workers 4 --metrics-port 9464`,
    )
    .action(async (flags: Omit<BatchFlags, 'ordered'> & { unordered?: boolean }) => {
      exit(await batchCommand({ ...flags, ordered: flags.unordered !== true }));
    });

  // Usage errors exit 2 (commander's own default is 1, which means "a task failed" here).
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  return program;
}

function version(): string {
  // dist/program.js -> ../package.json, in the repository and in an installed package alike
  const file = join(__dirname, '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Runs the command line; resolves the exit code. */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its one-line message (or the help, or the version) already
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`wasmpool: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `wasmpool: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.io;
  }
}
