/**
 * Entry point of a pool worker thread. The pool starts it with a `WorkerInit` as `workerData`.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Executor } from './executor';
import { raiseThreadNice } from './priority';
import {
  Status,
  type FromWorker,
  type LoadMessage,
  type ModuleLoad,
  type ToWorker,
  type WorkerInit,
} from './protocol';

/**
 * After a message, a worker keeps taking messages straight off its port: it watches the WAKE
 * counter the pool bumps after each message, spinning for SPIN_MS when the last run message allows
 * it (the next message of a caller awaiting quick tasks often comes within tens of µs, and no thread
 * has to be woken by the kernel), then blocked in Atomics.wait for up to IDLE_WAIT_MS (the pool
 * notifies it). It goes back to its event loop, where timers and the callbacks of asynchronous host
 * imports run, when nothing came, and at least every DRAIN_BUDGET_MS. Spinning halves the round trip
 * of a lone task on this project's machine; but a spinning worker holds a core, and when every core
 * is taken the thread it waits for (the pool's) cannot run: the pool allows a spin only when a core
 * is free and the tasks are quick (`RunMessage.spin`, decided in the pool's scheduler). Spinning also
 * stops while messages come slower than SPIN_MS.
 */
const SPIN_MS = 0.1;
const IDLE_WAIT_MS = 2;
const DRAIN_BUDGET_MS = 20;

const port = parentPort;
if (port === null) throw new Error('@wasmpool/worker/thread must run inside a worker thread');

// A promise that an adapter or a host import rejected and left unhandled is that code's affair, not
// a fault of the worker: by default it would end the worker, failing the task it runs at the time.
process.on('unhandledRejection', () => undefined);

const init = workerData as WorkerInit;
raiseThreadNice(init.niceIncrement);
const executor = new Executor(init.status, init.channel);
const status = new Int32Array(init.status);
/** Whether the last run message allows a spin for the next one. */
let spinAllowed = false;

function send(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port!.postMessage(message, transfer);
}

async function load(modules: ModuleLoad[]): Promise<void> {
  const loaded: number[] = [];
  for (const module of modules) {
    try {
      send({ type: 'instantiating', moduleId: module.id, name: module.name });
      await executor.load(module);
      loaded.push(module.id);
    } catch (error) {
      send({ type: 'load-error', moduleId: module.id, name: module.name, message: (error as Error).message });
      return;
    }
  }
  send({ type: 'ready', loaded, memory: executor.memoryChanges() });
}

function handle(message: ToWorker): Promise<void> | undefined {
  switch (message.type) {
    case 'run':
      spinAllowed = message.spin;
      executor.run(message, send);
      return undefined;
    case 'load':
      return load((message as LoadMessage).modules);
    case 'unload':
      for (const id of message.ids) executor.unload(id);
      return undefined;
  }
}

// Loading can be asynchronous (host imports are imported); later messages wait for it, in order.
let chain: Promise<void> | undefined;

function track(step: Promise<void>): void {
  chain = step;
  void step.then(() => {
    if (chain === step) chain = undefined;
  });
}

function receive(message: ToWorker): void {
  if (chain !== undefined) {
    track(chain.then(() => handle(message)));
    return;
  }
  const step = handle(message);
  if (step !== undefined) track(step);
}

/** Spinning pays only while messages come within SPIN_MS; a longer wait turns it off until they do. */
let spinning = true;

function drain(): void {
  const until = performance.now() + DRAIN_BUDGET_MS;
  while (chain === undefined && performance.now() < until) {
    const wake = Atomics.load(status, Status.WAKE);
    const next = receiveMessageOnPort(port!);
    if (next !== undefined) {
      receive(next.message as ToWorker);
      continue;
    }
    if (spinning && spinAllowed) {
      const spinUntil = performance.now() + SPIN_MS;
      while (Atomics.load(status, Status.WAKE) === wake && performance.now() < spinUntil);
      if (Atomics.load(status, Status.WAKE) !== wake) continue;
      spinning = false;
    }
    const waitStart = performance.now();
    Atomics.store(status, Status.WAITING, 1);
    const woke = Atomics.wait(status, Status.WAKE, wake, IDLE_WAIT_MS);
    Atomics.store(status, Status.WAITING, 0);
    if (woke === 'timed-out') return;
    if (performance.now() - waitStart < SPIN_MS) spinning = true;
  }
}

port.on('message', (message: ToWorker) => {
  receive(message);
  drain();
});

track(load(init.modules));
