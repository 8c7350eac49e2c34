/**
 * The `wasmpool` command as a library: run its command line in-process, or read and write its JSON
 * Lines form of tasks and results.
 *
 * @packageDocumentation
 */
export { main } from './program';
export { EXIT, type ExitCode } from './exit-codes';
export { decodeTask, decodeParam, encodeResult, encodeValue, TaskLineError } from './jsonl';
