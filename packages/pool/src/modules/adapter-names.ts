import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/** An adapter that has not loaded by then (a top-level await that never settles) is refused. */
const LOAD_TIMEOUT_MS = 10_000;

/**
 * Loads an adapter module in a short-lived worker thread and returns the names of the functions its
 * default export holds. A worker, not the main thread, because the adapter is the user's code written
 * for workers (and because `import()` of an ES module is not available everywhere on the main
 * thread, Jest's module sandbox for one).
 */
export async function adapterFunctionNames(path: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<string[]> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
import(workerData).then(
  (loaded) => {
    const value = loaded.default;
    const names = typeof value === 'object' && value !== null
      ? Object.keys(value).filter((name) => typeof value[name] === 'function')
      : [];
    parentPort.postMessage({ names });
  },
  (error) => parentPort.postMessage({ error: String((error && error.message) || error) }),
);`,
    { eval: true, workerData: pathToFileURL(path).href, stdout: false, stderr: false },
  );
  try {
    let timer: NodeJS.Timeout | undefined;
    const reply = await new Promise<{ names?: string[]; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`its loading never finished (the loader thread ended with code ${code})`)),
      );
      timer = setTimeout(
        () => reject(new Error(`it did not finish loading within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }).finally(() => clearTimeout(timer));
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.names ?? [];
  } finally {
    await worker.terminate();
  }
}
