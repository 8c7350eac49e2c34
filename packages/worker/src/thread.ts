/**
 * Entry point of a pool worker thread. The pool starts it with a `WorkerInit` as `workerData`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Executor } from './executor';
import type { FromWorker, LoadMessage, ModuleLoad, ToWorker, WorkerInit } from './protocol';

const port = parentPort;
if (port === null) throw new Error('@wasmpool/worker/thread must run inside a worker thread');

const init = workerData as WorkerInit;
const executor = new Executor(init.status);

function send(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port!.postMessage(message, transfer);
}

async function load(modules: ModuleLoad[]): Promise<void> {
  const loaded: number[] = [];
  for (const module of modules) {
    try {
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

port.on('message', (message: ToWorker) => {
  if (chain !== undefined) {
    track(chain.then(() => handle(message)));
    return;
  }
  const step = handle(message);
  if (step !== undefined) track(step);
});

track(load(init.modules));
