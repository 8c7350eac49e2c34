/**
 * The worker script given to piscina and tinypool (loaded from dist by both). It instantiates the modules
 * named in `workerData.modules` once when the worker starts, as their users would, and exports one handler
 * per task kind (selected with the `name` run option).
 */
import { threadId, workerData } from 'node:worker_threads';
import { WASI_PROGRAM } from './contenders/types';
import { WasiCommand, type CommandOutput } from './wasi-command';
import { instantiateFile, sha256Call, type LargeExports, type MathExports, type Sha256Exports } from './wasm';

export interface PeerWorkerData {
  modules: { math?: string; sha256?: string; large?: string; wasiTool?: string };
}

export interface AddTask {
  a: number;
  b: number;
}

/** Rows [from, to) of two columns; the sums go to the same rows of `out` (all in SharedArrayBuffers). */
export interface ColumnsTask {
  a: Int32Array;
  b: Int32Array;
  out: Int32Array;
  from: number;
  to: number;
}

/** A WASI command: its stdin and the arguments after argv[0]. */
export interface CommandTask {
  stdin: Uint8Array;
  args: string[];
}

// piscina hands `workerData` to the thread as given; tinypool wraps it and documents
// `process.__tinypool_state__.workerData` (what its `Tinypool.workerData` reads) as the way to get it.
const tinypoolState = (process as { __tinypool_state__?: { workerData?: unknown } }).__tinypool_state__;
const paths = ((tinypoolState?.workerData ?? workerData) as PeerWorkerData).modules;
const math = paths.math === undefined ? undefined : instantiateFile<MathExports>(paths.math);
const sha = paths.sha256 === undefined ? undefined : instantiateFile<Sha256Exports>(paths.sha256);
const large = paths.large === undefined ? undefined : instantiateFile<LargeExports>(paths.large);
const tool = paths.wasiTool === undefined ? undefined : new WasiCommand(paths.wasiTool, WASI_PROGRAM);

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`module ${name} is not loaded in this worker`);
  return value;
}

export function add(task: AddTask): number {
  return need(math, 'math').add(task.a, task.b);
}

/** One call runs an array of tasks; the results come back in one array. */
export function addBatch(tasks: AddTask[]): number[] {
  const m = need(math, 'math');
  const out = new Array<number>(tasks.length);
  for (let i = 0; i < tasks.length; i++) out[i] = m.add(tasks[i].a, tasks[i].b);
  return out;
}

/** One chunk of a columns job: the loop a piscina user would write over shared typed arrays. */
export function addColumns({ a, b, out, from, to }: ColumnsTask): number {
  const add = need(math, 'math').add;
  for (let i = from; i < to; i++) out[i] = add(a[i], b[i]);
  return to - from;
}

/** A WASI command on a fresh instance. */
export function wasiCommand({ stdin, args }: CommandTask): CommandOutput {
  return need(tool, 'wasi-tool').run(stdin, args);
}

export function spin(iterations: number): number {
  return need(math, 'math').spin(iterations);
}

export function sha256(data: Uint8Array): Uint8Array {
  return sha256Call(need(sha, 'sha256'), data);
}

/** One call hashes an array of inputs; the digests come back in one array. */
export function sha256Batch(inputs: Uint8Array[]): Uint8Array[] {
  const m = need(sha, 'sha256');
  return inputs.map((data) => sha256Call(m, data));
}

export function largeAdd(task: AddTask): number {
  return need(large, 'large').add(task.a, task.b);
}

/** Which thread ran the task (to see a replacement worker answer). */
export function whoami(): number {
  return threadId;
}

/** Ends the worker thread abruptly, as a crashing task would. */
export function exit(): never {
  process.exit(3);
}
