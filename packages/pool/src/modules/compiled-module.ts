import { Worker } from 'node:worker_threads';
import { wireBytesScriptPath, type WireBytesReply } from '@wasmpool/worker';

/** Heap of the throwaway worker: the bytes travel through it as base64 text. */
const READER_HEAP_MB = 256;

/**
 * The bytes of a module given compiled, read back in a throwaway worker (see `@wasmpool/worker`'s
 * `wire-bytes.ts`); the module is not instantiated, here or there. The pool then handles it as it
 * handles bytes: types known, every memory and table capped in the binary, compiled again.
 * @throws Error saying why the bytes could not be read (no inspector in this Node, a timeout).
 */
export function readCompiledModuleBytes(module: WebAssembly.Module, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(wireBytesScriptPath, {
      workerData: module,
      resourceLimits: { maxOldGenerationSizeMb: READER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`its bytes were not read back within ${timeoutMs} ms`))),
      timeoutMs,
    );
    worker.on('message', (message: WireBytesReply) =>
      finish(() =>
        'bytes' in message
          ? resolve(message.bytes)
          : reject(new Error(`its bytes cannot be read back: ${message.error}`)),
      ),
    );
    worker.on('error', (error: Error) =>
      finish(() => reject(new Error(`its bytes cannot be read back: ${error.message}`))),
    );
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`its bytes cannot be read back: the reader exited with code ${code}`))),
    );
  });
}
