/**
 * The worker script given to piscina and tinypool (loaded from dist by both). It instantiates the modules
 * named in `workerData.modules` once when the worker starts, as their users would, and exports one handler
 * per task kind (selected with the `name` run option).
 */
import { threadId, workerData } from 'node:worker_threads';
import { instantiateFile, sha256Call, type LargeExports, type MathExports, type Sha256Exports } from './wasm';

export interface PeerWorkerData {
  modules: { math?: string; sha256?: string; large?: string };
}

export interface AddTask {
  a: number;
  b: number;
}

// piscina hands `workerData` to the thread as given; tinypool wraps it and documents
// `process.__tinypool_state__.workerData` (what its `Tinypool.workerData` reads) as the way to get it.
const tinypoolState = (process as { __tinypool_state__?: { workerData?: unknown } }).__tinypool_state__;
const paths = ((tinypoolState?.workerData ?? workerData) as PeerWorkerData).modules;
const math = paths.math === undefined ? undefined : instantiateFile<MathExports>(paths.math);
const sha = paths.sha256 === undefined ? undefined : instantiateFile<Sha256Exports>(paths.sha256);
const large = paths.large === undefined ? undefined : instantiateFile<LargeExports>(paths.large);

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
