/**
 * The exit codes of the `wasmpool` command, which shell scripts may rely on. `wasmpool --help` lists them.
 */
export const EXIT = {
  /** Everything ran and every task succeeded. */
  ok: 0,
  /** At least one task failed (its result says why), or an input line was not a task. */
  taskFailed: 1,
  /** A bad flag, value, environment variable or argument: nothing ran. */
  usage: 2,
  /** A module could not be loaded: unreadable file, not WebAssembly, imports nothing provides. */
  badModule: 3,
  /** Input or output failed: a file that cannot be opened or written, a metrics port in use. */
  io: 4,
  /** Interrupted by SIGINT or SIGTERM; results of the tasks that finished were written. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The help text's table of exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0    every task succeeded
  1    at least one task failed, or an input line was not a task (see its result)
  2    usage error: a bad flag, value, argument or WASM_* variable; nothing ran
  3    a module could not be loaded (unreadable, not WebAssembly, unmet imports)
  4    input/output error (a file that cannot be opened or written, a metrics port in use)
  130  interrupted (SIGINT/SIGTERM); the results of finished tasks were written`;

/** An error the command reports as one line on stderr before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
