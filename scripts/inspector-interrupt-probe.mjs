// A probe for a lead of issue 14 (not used by the pool): can the main thread stop a wasm call running in
// a worker without ending the worker? It asks the worker's V8 inspector, through an in-process
// `inspector.Session` and `NodeWorker.sendMessageToWorker`, for `Runtime.terminateExecution`, while the
// worker runs an endless loop with no checkpoint. It prints how long the worker took to answer its next
// message, then whether a request that reaches an idle worker harms its next messages.
//   node scripts/inspector-interrupt-probe.mjs
// Measured on the project's 2-core VM: answered 1.4–6.6 ms after the request (3 runs); an idle worker
// answered its next two messages. Every JS frame of the worker is unwound, not only the wasm call.
import { Session } from 'node:inspector';
import { Worker } from 'node:worker_threads';

const workerSource = `
const { parentPort } = require('node:worker_threads');
// (module (func (export "spin") (loop (br 0)))): an endless loop, not instrumented.
const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 115,
  112, 105, 110, 0, 0, 10, 9, 1, 7, 0, 3, 64, 12, 0, 11, 11]);
const { spin } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
parentPort.on('message', (message) => {
  if (message === 'spin') spin();
  parentPort.postMessage('answer to ' + message);
});
parentPort.postMessage('ready');
`;

const worker = new Worker(workerSource, { eval: true });
const nextMessage = (ms) =>
  Promise.race([
    new Promise((resolve) => worker.once('message', resolve)),
    new Promise((resolve) => setTimeout(() => resolve(`(no answer in ${ms} ms)`), ms)),
  ]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
await nextMessage(5000);

const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
let sessionId;
session.on('NodeWorker.attachedToWorker', ({ params }) => {
  sessionId = params.sessionId;
});
await post('NodeWorker.enable', { waitForDebuggerOnStart: false });
while (sessionId === undefined) await sleep(10);
const terminate = () =>
  post('NodeWorker.sendMessageToWorker', {
    sessionId,
    message: JSON.stringify({ id: 1, method: 'Runtime.terminateExecution' }),
  });

worker.postMessage('spin');
await sleep(200);
const start = performance.now();
await terminate();
const answer = nextMessage(2000);
worker.postMessage('ping after the stop');
console.log(`busy worker: ${await answer}, ${(performance.now() - start).toFixed(2)} ms after the request`);

await terminate();
await sleep(50);
for (const message of ['first', 'second']) {
  const reply = nextMessage(500);
  worker.postMessage(message);
  console.log(`idle worker, after a request: ${await reply}`);
}
session.disconnect();
await worker.terminate();
